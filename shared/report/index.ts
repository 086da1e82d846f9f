/**
 * Linux crash reports: console log in, syzkaller-compatible title out.
 * See parse.ts for the engine and oopses.ts for the table of oops formats.
 */
export { parse, type ParseOptions } from './parse.js';
export { crashType, transientKind } from './crash-type.js';
export { sanitizeTitle, MAX_TITLE_LENGTH } from './title.js';
export { OOPSES } from './oopses.js';
export type { CrashReport, Oops, OopsFormat, StackFormat } from './types.js';
export { readVectors, parseVector, conformance, summaryLine, missesByKind, oopsKind } from './vectors.js';
export type { Vector, Conformance, FileResult, Expectation, KindMisses } from './vectors.js';
export { FRAME_RULES, type FrameRule, type FrameRuleSet, type FrameKind } from './frame-rules.js';
export { demangle } from './demangle.js';

/** Title the VM runner reports when the machine stopped answering (not in the console). */
export const LOST_CONNECTION_TITLE = 'lost connection to test machine';
/** Title the VM runner reports when the machine printed nothing for too long. */
export const NO_OUTPUT_TITLE = 'no output from test machine';
