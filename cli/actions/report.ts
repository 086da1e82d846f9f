/**
 * Actions behind `multisect report parse` and `multisect report conformance`. They take
 * plain values and return results; the command prints them.
 */
import { readFile, stat } from 'node:fs/promises';
import { InvalidOptionError, NotFoundError } from '../../shared/errors.js';
import { conformance, missesByKind, parse, readVectors, summaryLine, type Conformance, type CrashReport } from '../../shared/report/index.js';

/** The conformance targets (issue 5, raised by issue 16): below them `report conformance` exits 1. */
export const TARGETS = { title: 0.97, type: 0.99, corrupted: 0.95 } as const;

async function readInput(file: string, stdin: AsyncIterable<Buffer | string>): Promise<Buffer> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(file);
  } catch (err) {
    throw new NotFoundError(`cannot read ${JSON.stringify(file)}: ${(err as Error).message}`, { cause: err });
  }
}

/** Parse a console log (a file, or "-" for standard input). undefined: no crash. */
export async function parseConsoleFile(file: string, stdin: AsyncIterable<Buffer | string> = process.stdin): Promise<CrashReport | undefined> {
  return parse(await readInput(file, stdin));
}

export function reportText(rep: CrashReport | undefined): string {
  if (!rep) return 'no crash';
  const lines = [
    `title:     ${rep.title}`,
    ...rep.altTitles.map((t) => `alt:       ${t}`),
    `type:      ${rep.type || '(unclassified)'}`,
    `corrupted: ${rep.corrupted ? `yes (${rep.corruptedReason})` : 'no'}`,
    `suppressed: ${rep.suppressed ? 'yes' : 'no'}`,
    `frame:     ${rep.guiltyFrame || '-'}${rep.guiltyFile ? ` (${rep.guiltyFile})` : ''}`,
    `position:  ${rep.startPos}..${rep.endPos}`,
    '',
    rep.report.trimEnd(),
  ];
  return lines.join('\n');
}

/** Run the parser over every vector file of a directory. */
export async function runConformance(dir: string): Promise<Conformance> {
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new InvalidOptionError('DIR', `${JSON.stringify(dir)} is not a directory`, { hint: 'pass ../shared/testdata/syzkaller-linux-report' });
  const vectors = await readVectors(dir);
  if (vectors.length === 0) throw new InvalidOptionError('DIR', `no vector files in ${JSON.stringify(dir)}`);
  return conformance(vectors);
}

/** Whether the figures reach the targets. */
export function meetsTargets(c: Conformance): boolean {
  return (
    c.title >= TARGETS.title * c.total &&
    c.type >= TARGETS.type * c.total &&
    c.corrupted >= TARGETS.corrupted * c.total &&
    c.falseCrashes === 0
  );
}

export function conformanceText(c: Conformance): string {
  const out: string[] = [];
  for (const f of c.files) {
    const bad = (['title', 'type', 'corrupted'] as const).filter((k) => !f.ok[k]);
    out.push(`${bad.length === 0 ? 'ok  ' : 'FAIL'} ${f.file}${bad.length ? ` [${bad.join(',')}]` : ''}`);
    const show = (e: typeof f.expected): string => `${JSON.stringify(e.title)} type=${e.type || '-'} corrupted=${e.corrupted ? 'Y' : 'N'}`;
    out.push(`     expected ${show(f.expected)}`);
    if (bad.length) out.push(`     got      ${show(f.got)}`);
  }
  const groups = missesByKind(c);
  if (groups.length > 0) {
    out.push('', 'misses by oops kind:');
    for (const g of groups) {
      out.push(`  ${g.kind} (${g.files.length})`);
      for (const f of g.files) {
        const bad = (['title', 'type', 'corrupted'] as const).filter((k) => !f.ok[k]);
        out.push(`    ${f.file} [${bad.join(',')}]: got ${JSON.stringify(f.got.title)}${f.ok.type ? '' : ` type=${f.got.type || '-'}`}${f.ok.corrupted ? '' : ` corrupted=${f.got.corrupted ? 'Y' : 'N'}`}`);
      }
    }
    out.push('');
  }
  if (c.falseCrashes) out.push(`${c.falseCrashes} file(s) without a crash were reported as crashing`);
  out.push(summaryLine(c));
  return out.join('\n');
}

export function conformanceJson(c: Conformance): unknown {
  return {
    files: c.files,
    missesByKind: missesByKind(c).map((g) => ({ kind: g.kind, files: g.files.map((f) => f.file) })),
    summary: { total: c.total, title: c.title, type: c.type, corrupted: c.corrupted, falseCrashes: c.falseCrashes, line: summaryLine(c) },
  };
}
