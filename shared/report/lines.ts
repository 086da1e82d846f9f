/**
 * Console lines: the kernel prefixes every line with a timestamp and, with
 * CONFIG_PRINTK_CALLER, a caller id ("[ T1234]" for a task, "[ C1]" for a CPU in interrupt
 * context). The caller id lets the parser keep one task's report together when CPUs
 * interleave their output.
 */
import { MAX_LINE_LENGTH } from './patterns.js';

/** The caller id of lines printed without CONFIG_PRINTK_CALLER (or without any prefix). */
export const CONSOLE_CONTEXT = '';

// Anchored, no nested quantifiers: linear on a bounded line. A getty prompt ("syzkaller
// login: ") may precede the first line the kernel prints after it.
const PREFIX = /^(?:\*\* [0-9]{1,10} printk messages dropped \*\* )?(?:[^[\n]{0,64} login: )?(?:<[0-9]{1,3}>)?\[ {0,12}[0-9]{1,12}\.[0-9]{1,9}\](?:\[ {0,8}([CT][0-9]{1,9})\])? ?/;
// A frame the unwinder is unsure about: "? foo+0x1/0x2".
const QUESTIONABLE = /^ *(?:\[<?[0-9a-f]{1,16}>?\] )?\? +[a-zA-Z0-9_.]+\+0x[0-9a-f]+\/(?:0x)?[0-9a-f]+/;

export interface ConsoleLine {
  /** The line without its prefix and trailing \r, cut to MAX_LINE_LENGTH. */
  text: string;
  /** Caller id ("T1234", "C1") or CONSOLE_CONTEXT. */
  context: string;
  /** The line had a kernel timestamp prefix. */
  kernel: boolean;
  /** The line is a questionable stack frame ("? foo+0x..."). */
  questionable: boolean;
}

/** Strip the console prefix of one raw line. */
export function splitLine(raw: string): ConsoleLine {
  let line = raw.length > MAX_LINE_LENGTH ? raw.slice(0, MAX_LINE_LENGTH) : raw;
  if (line.endsWith('\r')) line = line.slice(0, -1);
  const m = PREFIX.exec(line);
  const text = m ? line.slice(m[0].length) : line;
  return {
    text,
    context: m?.[1] ?? CONSOLE_CONTEXT,
    kernel: m !== null,
    questionable: QUESTIONABLE.test(text),
  };
}
