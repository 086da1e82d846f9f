/** What the parser returns, and the shape of the rules it runs. */

/** A crash found in a console log. */
export interface CrashReport {
  /** syzkaller-style title: "general protection fault in tcp_sendmsg". At most 120 chars. */
  title: string;
  /** Other titles the same crash is known under (raw frame names, "bad-access in f"...). */
  altTitles: string[];
  /** Crash class (HANG, WARNING, KASAN-READ, ...); '' when the title maps to no class. */
  type: string;
  /** The report is damaged: no stack frames, interleaved output, cut off. */
  corrupted: boolean;
  /** Why it is corrupted ('' when not). */
  corruptedReason: string;
  /** The output matched a suppression (an init segfault, an OOM kill of the fuzzer...). */
  suppressed: boolean;
  /** The report text, console prefixes stripped. */
  report: string;
  /**
   * Where the report starts (its first line) and ends (the end of its last line) in the console:
   * string indexes for a string input, byte offsets for bytes.
   */
  startPos: number;
  endPos: number;
  /** Stack frames (function names) of the report's main stack, in order. */
  frames: string[];
  /** The frame named in the title ('' when none). */
  guiltyFrame: string;
  /** The source file of the guilty frame when the log has it ('' when not). */
  guiltyFile: string;
}

/** Marker for "parse a stack trace here" inside a StackFormat's parts. */
export const STACK = 'STACK' as const;
export type StackPart = RegExp | typeof STACK;

/**
 * How to pick the guilty frame among the candidate frames (raw names, before syscall-wrapper
 * stripping): its index, and optionally a bucket name to use instead of the frame's.
 */
export type FrameExtractor = (frames: readonly string[]) => { index: number; name?: string };

export interface StackFormat {
  /** Line rules walked in order; captures are candidate frames; STACK parses frames until a new trace. */
  parts: readonly StackPart[];
  /** Tried when `parts` yields no frame. */
  parts2?: readonly StackPart[];
  /** Extra frames to skip for this format (substring regexps, like the generic skip list). */
  skip?: readonly string[];
  /** Do not cut candidates at the generic stop frames (the extractor has its own anchors). */
  noStop?: boolean;
  /** Default: the first frame that is not skipped. */
  extractor?: FrameExtractor;
}

/** One way an oops is printed, and the title it gets. */
export interface OopsFormat {
  /** Matched on a single line of the report; its captures are {1}, {2}, ... in `fmt`. */
  title: RegExp;
  /** Further line rules matched on following lines, in order; their captures continue the numbering. */
  report?: readonly RegExp[];
  /** At most this many lines between consecutive `report` rules (default: unbounded). */
  reportGap?: number;
  /** The title: {1}.. for captures, {FRAME} for the guilty frame. */
  fmt: string;
  /** Alternative titles, same placeholders. */
  alt?: readonly string[];
  stack?: StackFormat;
  /** The report has no stack by nature: do not call it corrupted for lacking one. */
  noStackTrace?: boolean;
  /** This format only matches damaged reports. */
  corrupted?: boolean;
}

/** An oops family: a literal header that starts a report, its formats and false positives. */
export interface Oops {
  header: string;
  /** The header only counts at the start of a line (after the console prefix). */
  atLineStart?: boolean;
  /** The header only counts on a line one of the formats' title rules matches. */
  requireFormat?: boolean;
  formats: readonly OopsFormat[];
  /** Lines containing the header but matching one of these are not crashes. */
  suppressions: readonly RegExp[];
}
