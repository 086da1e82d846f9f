/**
 * Is a report damaged? A report that should carry a stack but has none, or whose stacks
 * have no frames, cannot be trusted to name the right function.
 */
import { FRAME_LINES, STACK_STARTS } from './frames.js';
import type { OopsFormat } from './types.js';

// A timestamp inside the title: two lines got merged.
const CORRUPTED_TITLES: readonly RegExp[] = [/\[ *[0-9]+\.[0-9]+\]/];

/** '' when the report looks whole, else why it does not. */
export function corruptedReason(title: string, lines: readonly string[], format: OopsFormat | undefined): string {
  if (CORRUPTED_TITLES.some((r) => r.test(title))) return 'title contains a timestamp';
  if (format?.corrupted) return 'report format is marked as corrupted';
  if (format?.noStackTrace) return '';
  let hasStack = false;
  for (const key of STACK_STARTS) {
    const at = lines.findIndex((l) => key.test(l));
    if (at === -1) continue;
    hasStack = true;
    // Cut right after the keyword (as syzkaller: one line after it is enough).
    if (lines.length - at < 2) return 'call trace is missed';
    let framed = false;
    for (let i = at + 1; i < at + 16 && i < lines.length; i++) {
      const l = lines[i]!;
      if (STACK_STARTS.some((k) => k.test(l))) break;
      if (l.includes('(stack is not available)') || FRAME_LINES.some((f) => f.test(l))) {
        framed = true;
        break;
      }
    }
    if (!framed) return 'no frames in a stack trace';
  }
  return hasStack ? '' : 'no stack trace in report';
}
