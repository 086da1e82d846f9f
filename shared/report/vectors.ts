/**
 * syzkaller's report test vectors (format: shared/testdata/README.md) and the conformance
 * check of the parser against them. Vectors are read at run time, never copied.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from './parse.js';

export interface Vector {
  name: string;
  /** '' when the log must yield no crash. */
  title: string;
  altTitles: string[];
  type: string;
  corrupted: boolean;
  suppressed: boolean;
  frame: string;
  log: Buffer;
}

/** Split a vector file: headers, a blank line, the log (and an optional REPORT: section). */
export function parseVector(name: string, data: Buffer): Vector {
  const v: Vector = { name, title: '', altTitles: [], type: '', corrupted: false, suppressed: false, frame: '', log: data };
  let pos = 0;
  for (;;) {
    const nl = data.indexOf(0x0a, pos);
    const line = data.subarray(pos, nl === -1 ? data.length : nl).toString('utf8').replace(/\r$/, '');
    pos = nl === -1 ? data.length : nl + 1;
    if (line === '' || nl === -1) break;
    const m = /^([A-Z]+): ?(.*)$/.exec(line);
    if (!m) continue; // '# comment'
    const [, key, value = ''] = m;
    if (key === 'TITLE') v.title = value;
    else if (key === 'ALT') v.altTitles.push(value);
    else if (key === 'TYPE') v.type = value;
    else if (key === 'CORRUPTED') v.corrupted = value === 'Y';
    else if (key === 'SUPPRESSED') v.suppressed = value === 'Y';
    else if (key === 'FRAME') v.frame = value;
  }
  let log = data.subarray(pos);
  // The expected report, if present, follows "\nREPORT:\n"; it is not console output.
  const rep = log.indexOf('\nREPORT:\n');
  if (rep !== -1) log = log.subarray(0, rep + 1);
  v.log = log;
  return v;
}

export async function readVectors(dir: string): Promise<Vector[]> {
  const names = (await readdir(dir)).filter((n) => !n.startsWith('.') && !n.endsWith('.md'));
  names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return Promise.all(names.map(async (n) => parseVector(n, await readFile(join(dir, n)))));
}

export interface Expectation {
  title: string;
  type: string;
  corrupted: boolean;
}

export interface FileResult {
  file: string;
  expected: Expectation;
  got: Expectation;
  altTitles: { expected: string[]; got: string[] };
  ok: { title: boolean; type: boolean; corrupted: boolean };
}

export interface Conformance {
  files: FileResult[];
  total: number;
  title: number;
  type: number;
  corrupted: number;
  /** Files without a crash in which the parser found one. */
  falseCrashes: number;
}

/** Run the parser over every vector. No crash is expected as title '', type '', not corrupted. */
export function conformance(vectors: readonly Vector[]): Conformance {
  const files = vectors.map((v): FileResult => {
    const rep = parse(v.log);
    const got: Expectation = rep ? { title: rep.title, type: rep.type, corrupted: rep.corrupted } : { title: '', type: '', corrupted: false };
    const expected: Expectation = { title: v.title, type: v.type, corrupted: v.corrupted };
    return {
      file: v.name,
      expected,
      got,
      altTitles: { expected: [...v.altTitles].sort(), got: rep?.altTitles ?? [] },
      ok: {
        title: got.title === expected.title,
        type: got.type === expected.type,
        corrupted: got.corrupted === expected.corrupted,
      },
    };
  });
  const count = (k: keyof FileResult['ok']): number => files.filter((f) => f.ok[k]).length;
  return {
    files,
    total: files.length,
    title: count('title'),
    type: count('type'),
    corrupted: count('corrupted'),
    falseCrashes: files.filter((f) => f.expected.title === '' && f.got.title !== '').length,
  };
}

/** The summary line: `title N/M type N/M corrupted N/M`. */
export function summaryLine(c: Conformance): string {
  return `title ${c.title}/${c.total} type ${c.type}/${c.total} corrupted ${c.corrupted}/${c.total}`;
}

/**
 * The oops kind of a title: what it says before naming a function ("KASAN: use-after-free
 * Read", "INFO: task hung"), or its first words for titles that name none.
 */
export function oopsKind(title: string): string {
  if (title === '') return 'no crash';
  const at = title.indexOf(' in ');
  if (at > 0) return title.slice(0, at);
  const colon = /^([^:]{1,40}: [^:]{1,40}?)(?::| \(|$)/.exec(title);
  return colon ? colon[1]! : title.split(' ').slice(0, 3).join(' ');
}

export interface KindMisses {
  /** The kind of the expected title (of the title found, for a crash-free log). */
  kind: string;
  files: FileResult[];
}

/** The files that miss on title, type or corrupted, grouped by oops kind (largest group first). */
export function missesByKind(c: Conformance): KindMisses[] {
  const groups = new Map<string, FileResult[]>();
  for (const f of c.files) {
    if (f.ok.title && f.ok.type && f.ok.corrupted) continue;
    const kind = f.expected.title === '' ? `no crash (got ${oopsKind(f.got.title)})` : oopsKind(f.expected.title);
    const list = groups.get(kind) ?? [];
    list.push(f);
    groups.set(kind, list);
  }
  return [...groups.entries()]
    .map(([kind, files]) => ({ kind, files }))
    .sort((a, b) => b.files.length - a.files.length || a.kind.localeCompare(b.kind));
}
