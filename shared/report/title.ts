/**
 * Titles name a bug across runs and kernels, so everything that varies between runs is
 * replaced: addresses become ADDR, stand-alone numbers NUM, executor ids are dropped.
 */

/** Applied in order to every title. All patterns are linear (no nested quantifiers). */
const REPLACEMENTS: readonly [RegExp, string][] = [
  // Executor process names and ids vary per run.
  [/syz-executor\.?[0-9]+(?:[/:][0-9]+)?/g, 'syz-executor'],
  [/syzkaller[0-9]+(?:[/:][0-9]+)?/g, 'syzkaller'],
  // Anything that looks like an address.
  [/([^a-zA-Z0-9_]|^)(?:0x)?[0-9a-f]{6,}(?![a-zA-Z0-9_])/g, '$1ADDR'],
  // IPv4 addresses.
  [/([^a-zA-Z0-9]|^)(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9])/g, '$1IP'],
  // Source line numbers.
  [/(\.[a-z]{1,4}):[0-9]+/g, '$1:LINE'],
  // Compiler clones ("foo.isra.0", "foo.constprop.0.cold") name foo.
  [/([a-zA-Z0-9_])\.(?:part|isra|constprop|cold|llvm|lto_priv|localalias|specialized)(?:\.[0-9a-z]+)*(?![a-zA-Z0-9_])/g, '$1'],
  // "ip6_fragment+0x1052/0x2d80" names a function; offset and size vary.
  [/([a-zA-Z][a-zA-Z0-9_.]*)\+0x[0-9a-f]+\/0x[0-9a-f]+/g, '$1'],
  [/CPU#[0-9]+/g, 'CPU'],
  // Stand-alone decimal numbers, and long numbers glued to a word (tmp dirs...).
  [/([^a-zA-Z0-9_]|^)[0-9]+(?![a-zA-Z0-9_])/g, '$1NUM'],
  [/([a-zA-Z])[0-9]{5,}(?![a-zA-Z0-9_])/g, '$1NUM'],
];

/** syzbot's limit (Bug.Title in the dashboard). */
export const MAX_TITLE_LENGTH = 120;

export function sanitizeTitle(raw: string): string {
  let title = raw;
  for (const [pattern, replacement] of REPLACEMENTS) title = title.replace(pattern, replacement);
  // One line, single spaces, printable.
  title = title.replace(/[\r\n\t]+/g, ' ').replace(/[^\x20-\x7e]/g, '?').replace(/ {2,}/g, ' ').trim();
  if (title.length > MAX_TITLE_LENGTH) title = title.slice(0, MAX_TITLE_LENGTH).trimEnd();
  return title;
}
