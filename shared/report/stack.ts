/**
 * Walks a report's lines along a stack format's parts and collects frames. A port of
 * syzkaller's line walk: a part rule consumes the first line it matches; STACK takes frame
 * lines until the next stack starts (another "Call Trace:", "Freed by task" ...), ignoring
 * lines that are not frames (registers, lock lists, "Code:" ...).
 */
import { canonicalFrame, CORRUPTED_LINES, FRAME_LINES, skipRegexp, STACK_STARTS, STOP_REGEXP } from './frames.js';
import { STACK, type StackFormat, type StackPart } from './types.js';

export interface Frame {
  /** Name after syscall-wrapper stripping. */
  name: string;
  /** Every name the frame went by (raw first); feeds alternative titles. */
  names: string[];
  /** Index of the report line it came from. */
  line: number;
}

export interface StackWalk {
  /** All frames seen, infrastructure included. */
  all: Frame[];
  /** Frames that may be guilty (skip list applied). */
  candidates: Frame[];
  /** Index in `candidates` of the first candidate at or below a stop frame (length if none). */
  stopAt: number;
  /** A fault-injection stack was interleaved. */
  interleaved: boolean;
  /** The report line where it was first seen (-1 when not). */
  interleavedAt: number;
}

const matchesAny = (line: string, rules: readonly RegExp[]): boolean => rules.some((r) => r.test(line));

function walk(lines: readonly string[], from: number, parts: readonly StackPart[], skip: RegExp): StackWalk {
  const result: StackWalk = { all: [], candidates: [], stopAt: -1, interleaved: false, interleavedAt: -1 };
  const append = (m: RegExpExecArray, line: number): void => {
    for (let g = 1; g < m.length; g++) {
      const raw = m[g];
      if (raw === undefined || raw === '') continue;
      const names = canonicalFrame(raw);
      const frame: Frame = { name: names[names.length - 1]!, names, line };
      result.all.push(frame);
      if (result.stopAt === -1 && STOP_REGEXP.test(raw)) result.stopAt = result.candidates.length;
      if (!skip.test(frame.name)) result.candidates.push(frame);
    }
  };
  let i = from;
  let stacks = 0;
  nextPart: for (let p = 0; p < parts.length; p++) {
    const part = parts[p]!;
    if (part === STACK) {
      if (stacks++ > 0) break;
      const before = result.all.length;
      for (; i < lines.length; i++) {
        const ln = lines[i]!;
        if (matchesAny(ln, CORRUPTED_LINES)) {
          if (!result.interleaved) result.interleavedAt = i;
          result.interleaved = true;
          i++;
          continue nextPart;
        }
        // A new stack ends this one, unless no frame came yet (the header of this one).
        if (matchesAny(ln, STACK_STARTS) && result.all.length > before) {
          i++;
          continue nextPart;
        }
        const next = parts[p + 1];
        if (next !== undefined && next !== STACK) {
          const m = next.exec(ln);
          if (m) {
            append(m, i);
            p++;
            i++;
            continue nextPart;
          }
        }
        // powerpc marks frames the unwinder could not verify.
        if (UNRELIABLE.test(ln)) continue;
        for (const rule of FRAME_LINES) {
          const m = rule.exec(ln);
          if (m) {
            append(m, i);
            break;
          }
        }
      }
      break;
    }
    for (; i < lines.length; i++) {
      const ln = lines[i]!;
      if (matchesAny(ln, CORRUPTED_LINES)) {
        if (!result.interleaved) result.interleavedAt = i;
        result.interleaved = true;
        i++;
        continue nextPart;
      }
      const m = part.exec(ln);
      if (m) {
        append(m, i);
        i++;
        continue nextPart;
      }
    }
    break;
  }
  if (result.stopAt === -1) result.stopAt = result.candidates.length;
  return result;
}

const UNRELIABLE = /\(unreliable\)\s*$/;

export interface GuiltyFrame {
  frame: Frame | undefined;
  /** The name to put in the title (an extractor may bucket it). */
  name: string;
  walk: StackWalk;
}

/** Pick the guilty frame of a stack format, starting at report line `from`. */
export function guiltyFrame(lines: readonly string[], from: number, stack: StackFormat): GuiltyFrame {
  const skip = skipRegexp(stack.skip);
  const pick = (w: StackWalk): GuiltyFrame => {
    // Frames below an entry point belong to the caller: only when nothing is above it, look there.
    const frames = stack.noStop || w.stopAt === 0 ? w.candidates : w.candidates.slice(0, w.stopAt);
    if (frames.length === 0) return { frame: undefined, name: '', walk: w };
    if (!stack.extractor) return { frame: frames[0], name: frames[0]!.name, walk: w };
    const p = stack.extractor(frames.map((f) => f.names[0]!));
    const frame = frames[p.index];
    return frame ? { frame, name: p.name ?? frame.name, walk: w } : { frame: undefined, name: '', walk: w };
  };
  const first = pick(walk(lines, from, stack.parts, skip));
  if (first.frame || !stack.parts2) return first;
  const second = pick(walk(lines, from, stack.parts2, skip));
  return second.frame ? second : first;
}
