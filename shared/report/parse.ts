/**
 * The parser: find the first oops in a console log, cut its report out of the interleaved
 * output, and describe it with the oops table.
 *
 * Cost: finding the oops is one multi-needle scan over the text (linear, bytes searched in
 * place); everything after works on a bounded window of bounded lines, so rules never see
 * more than MAX_REPORT_LINES x MAX_LINE_LENGTH characters whatever the input.
 */
import { crashType } from './crash-type.js';
import { corruptedReason } from './corrupted.js';
import { splitLine } from './lines.js';
import { bytesSource, literalsRegexp, stringSource, type Source } from './source.js';
import { OOPSES } from './oopses.js';
import { guiltyFrame, type Frame } from './stack.js';
import { findSuppression } from './suppressions.js';
import { sanitizeTitle } from './title.js';
import { CALL_TRACE } from './patterns.js';
import { STACK, type CrashReport, type Oops, type OopsFormat, type StackFormat } from './types.js';

/** A report is cut after this many lines of its own context... */
export const MAX_REPORT_LINES = 3000;
/** ...or after scanning this many characters past its start (other CPUs' lines included). */
export const MAX_REPORT_SCAN = 4 << 20;
/** After this many lines, a "Kernel panic" is the echo of the report, not part of it. */
const PANIC_ECHO_AFTER = 25;

const NO_FORMAT = 'matched no format';
const CALL_TRACE_ONLY: StackFormat = { parts: [CALL_TRACE, STACK] };
const SRC_IN_LINE = /([a-zA-Z0-9\-_/.]+\.[chS]|[a-zA-Z0-9\-_/.]+\.rs):[0-9]+/;

/**
 * Lines that continue a report rather than start one: BUG() is an invalid opcode, and
 * panic_on_warn panics after the WARNING.
 */
const NOT_A_START: readonly RegExp[] = [
  /invalid opcode: 0000/,
  // Since 6.2 the origin comes first: "kernel: panic_on_warn set", "KASAN: panic_on_warn set".
  /Kernel panic - not syncing: (?:[A-Za-z]{1,16}: )?panic_on_warn set/,
  /Kernel panic - not syncing: panic_on_oops set/,
];

type LineVerdict = Oops | 'continuation' | undefined;

/** The oops family whose header is on this line, if it is not a known false positive. */
function oopsOfLine(line: string, ignores: readonly RegExp[], nextLine: () => string = () => ''): LineVerdict {
  if (ignores.some((r) => r.test(line))) return undefined;
  const continuation = NOT_A_START.some((r) => r.test(line));
  for (const oops of OOPSES) {
    if (!line.includes(oops.header)) continue;
    if (oops.atLineStart && !splitLine(line).text.startsWith(oops.header)) continue;
    if (oops.suppressions.some((s) => s.test(line))) continue;
    if (oops.requireFormat && !oops.formats.some((f) => startsFormat(f, line, nextLine))) continue;
    return continuation ? 'continuation' : oops;
  }
  return undefined;
}

/**
 * The line starts a report of this format. A format whose report must go on on the very
 * next lines (reportGap <= 1) needs that too: a header cut in two is only known by its
 * second half.
 */
function startsFormat(f: OopsFormat, line: string, nextLine: () => string): boolean {
  if (!f.title.test(line)) return false;
  const first = f.report?.[0];
  if (first === undefined || f.reportGap === undefined || f.reportGap > 1) return true;
  return first.test(nextLine());
}

interface Found {
  oops: Oops;
  start: number;
}

/** All oops headers in one search: the console is scanned once, whatever the table size. */
const HEADERS = literalsRegexp(OOPSES.map((o) => o.header));

/**
 * The first line carrying an oops header that is not a known false positive. One linear
 * multi-needle scan; a rejected line only moves the scan past it.
 */
function findFirstOops(text: Source, ignores: readonly RegExp[]): Found | undefined {
  // A line that only continues a report (the panic after a WARNING) starts one when the
  // report it continues was lost: nothing else is found.
  let continuation: Found | undefined;
  for (let from = 0; from < text.length; ) {
    const at = text.find(HEADERS, from);
    if (at === -1) break;
    const start = text.lineStart(at);
    const end = text.lineEnd(at);
    const line = clipAround(text, start, end, at);
    const oops = oopsOfLine(line, ignores, () => (end < text.length ? text.text(end + 1, Math.min(text.lineEnd(end + 1), end + 1 + 1024)) : ''));
    if (oops === 'continuation') {
      continuation ??= continuationOf(line, start);
    } else if (oops) {
      return { oops, start };
    }
    from = end + 1;
  }
  return continuation;
}

/** The family of a continuation line, looked up without the continuation rule. */
function continuationOf(line: string, start: number): Found | undefined {
  const oops = OOPSES.find((o) => line.includes(o.header) && o.formats.some((f) => f.title.test(line)));
  return oops ? { oops, start } : undefined;
}

/** A very long line is cut, but around the header that was found on it. */
function clipAround(text: Source, start: number, end: number, at: number): string {
  if (end - start <= 1024) return text.text(start, end);
  const from = Math.max(start, at - 256);
  return text.text(from, Math.min(end, from + 1024));
}

interface Cut {
  lines: string[];
  /** Offset of each line's end in the text. */
  ends: number[];
}

/** Cut the report out: the oops line and what follows in the same context. */
function cutReport(text: Source, start: number, context: string, kernel: boolean): Cut {
  const cut: Cut = { lines: [], ends: [] };
  let textLines = 0;
  for (let pos = start; pos < text.length && pos - start < MAX_REPORT_SCAN; ) {
    const end = text.lineEnd(pos);
    const raw = text.text(pos, Math.min(end, pos + 4096));
    const lineAt = pos;
    pos = end + 1;
    const line = splitLine(raw);
    const first = lineAt === start;
    if (!first) {
      // "? foo+0x.." frames are the unwinder's guesses: syzkaller drops them too.
      if (line.questionable) continue;
      if (line.context !== context) continue;
      // A kernel report goes on in kernel lines: the rest is user space (the fuzzer's log).
      if (kernel && !line.kernel) continue;
    }
    textLines++;
    if (line.text.includes('Disabling lock debugging due to kernel taint')) continue;
    if (textLines > PANIC_ECHO_AFTER && line.text.includes('Kernel panic - not syncing')) break;
    cut.lines.push(line.text);
    cut.ends.push(end);
    if (cut.lines.length >= MAX_REPORT_LINES) break;
  }
  return cut;
}

interface Description {
  title: string;
  alts: string[];
  corrupted: string;
  format: OopsFormat | undefined;
  frame: Frame | undefined;
  frameName: string;
  frames: Frame[];
}

const fill = (fmt: string, args: readonly string[], frame: string): string =>
  fmt.replace(/\{(FRAME|[0-9]+)\}/g, (_, k: string) => (k === 'FRAME' ? frame : (args[Number(k) - 1] ?? '')));

/** Match the family's formats against the report lines and build the title. */
function describe(lines: readonly string[], oops: Oops): Description {
  // The earliest title match wins; among formats matching there, table order decides.
  let at = -1;
  let candidates: { format: OopsFormat; m: RegExpExecArray }[] = [];
  for (let i = 0; i < lines.length && at === -1; i++) {
    let col = Infinity;
    for (const format of oops.formats) {
      const m = format.title.exec(lines[i]!);
      if (!m) continue;
      if (m.index < col) {
        col = m.index;
        candidates = [];
      }
      if (m.index === col) candidates.push({ format, m });
    }
    if (candidates.length > 0) at = i;
  }
  for (const { format, m } of candidates) {
    const args = m.slice(1).map((a) => a ?? '');
    if (format.report && !matchReport(lines, at, format, args)) continue;
    let corrupted = '';
    let frame: Frame | undefined;
    let frameName = '';
    // Formats that name no frame still list the stack (for the files it touches).
    let frames: Frame[] = format.stack ? [] : guiltyFrame(lines, at, CALL_TRACE_ONLY).walk.all;
    if (format.stack) {
      const g = guiltyFrame(lines, at, format.stack);
      frame = g.frame;
      frames = g.walk.all;
      frameName = g.name;
      const other = frame ? otherOopsBefore(lines, at, frame.line, oops) : -1;
      if (other !== -1) {
        // Another crash began before the guilty frame: the frame may be that crash's.
        frame = undefined;
        frameName = 'corrupted';
        corrupted ||= 'another report interleaved';
      } else if (g.walk.interleaved && (!frame || frame.line > g.walk.interleavedAt)) {
        // Another task's stack (fault injection) ran through this one before the guilty frame:
        // that frame may be the other task's.
        frame = undefined;
        frameName = 'corrupted';
        corrupted ||= 'interleaved with a fault-injection stack';
      } else if (!frame) {
        frameName = 'corrupted';
        corrupted ||= 'extracted no stack frame';
      }
    }
    // Every name the frame went by gives alternative titles, so "same crash" matching
    // works across kernels that name the syscall wrappers differently.
    const names = frame ? [...new Set([frameName, ...frame.names])] : [frameName];
    const title = fill(format.fmt, args, frameName);
    const alts = new Set<string>();
    for (const n of names) {
      alts.add(fill(format.fmt, args, n));
      for (const a of format.alt ?? []) alts.add(fill(a, args, n));
    }
    alts.delete(title);
    return { title, alts: [...alts], corrupted, format, frame, frameName: frame ? frameName : '', frames };
  }
  // A title matched but its report rules did not, or nothing matched: take the header line.
  const headerLine = lines.find((l) => l.includes(oops.header)) ?? lines[0] ?? '';
  return {
    title: headerLine.slice(Math.max(0, headerLine.indexOf(oops.header))),
    alts: [],
    corrupted: candidates.length > 0 ? 'matched title but not report rules' : NO_FORMAT,
    format: undefined,
    frame: undefined,
    frameName: '',
    frames: [],
  };
}

/**
 * The first line in (from, to) where a second report of the same family begins (-1 if
 * none). Other families follow a report by design (a BUG's panic, an Oops' "Internal
 * error", a Rust panic's BUG()); a second "BUG:" before the first one's stack is another
 * CPU's crash interleaved.
 */
function otherOopsBefore(lines: readonly string[], from: number, to: number, oops: Oops): number {
  for (let i = from + 1; i < to; i++) {
    const line = lines[i]!;
    if (!line.includes(oops.header)) continue;
    if (oopsOfLine(line, []) === oops && oops.formats.some((f) => !f.corrupted && f.title.test(line))) return i;
  }
  return -1;
}

/** The `report` rules of a format, each on a later line; captures are appended to args. */
function matchReport(lines: readonly string[], at: number, format: OopsFormat, args: string[]): boolean {
  let prev = at;
  for (const rule of format.report ?? []) {
    const last = format.reportGap === undefined ? lines.length - 1 : Math.min(lines.length - 1, prev + format.reportGap + 1);
    let found = -1;
    for (let i = prev + 1; i <= last; i++) {
      const m = rule.exec(lines[i]!);
      if (!m) continue;
      args.push(...m.slice(1).map((a) => a ?? ''));
      found = i;
      break;
    }
    if (found === -1) return false;
    prev = found;
  }
  return true;
}

/** Why the report is corrupted ('' if it is not). A header no format knows is taken as is. */
function judge(d: Description, lines: readonly string[]): string {
  if (d.corrupted === NO_FORMAT) return '';
  return d.corrupted || corruptedReason(d.title, lines, d.format);
}

export interface ParseOptions {
  /** Lines matching these never start a report (a lab's known noise). Keep them linear. */
  ignores?: readonly RegExp[];
}

/**
 * Find the first crash in a console log. Returns undefined when the log shows none.
 * Accepts a string or raw bytes (searched in place; only the report is decoded, as UTF-8).
 * startPos/endPos are string indexes for a string and byte offsets for bytes.
 */
export function parse(console: string | Uint8Array, options: ParseOptions = {}): CrashReport | undefined {
  const text = typeof console === 'string' ? stringSource(console) : bytesSource(console);
  const found = findFirstOops(text, options.ignores ?? []);
  if (!found) return undefined;
  const firstLine = splitLine(text.text(found.start, Math.min(text.lineEnd(found.start), found.start + 4096)));
  const context = firstLine.context;
  const cut = cutReport(text, found.start, context, firstLine.kernel);
  const d = describe(cut.lines, found.oops);
  const reason = judge(d, cut.lines);
  const title = sanitizeTitle(d.title);
  const altTitles = [...new Set(d.alts.map(sanitizeTitle))].filter((a) => a !== title).sort();
  const guiltyLine = d.frame ? cut.lines[d.frame.line] ?? '' : '';
  return {
    title,
    altTitles,
    type: crashType(title),
    corrupted: reason !== '',
    corruptedReason: reason,
    suppressed: findSuppression(text) !== undefined,
    report: cut.lines.join('\n') + '\n',
    startPos: found.start,
    endPos: cut.ends[cut.ends.length - 1] ?? found.start,
    frames: d.frames.map((f) => f.name),
    guiltyFrame: d.frameName,
    guiltyFile: SRC_IN_LINE.exec(guiltyLine)?.[1] ?? '',
  };
}
