/**
 * Who should hear about a culprit, the way kernel developers expect: the author and every
 * Signed-off-by / Reviewed-by / Acked-by / Tested-by address of the commit, plus what the
 * repository's MAINTAINERS file (kernel format) says for the files it touches. Pure parsing.
 */

const TRAILER = /^\s*(Signed-off-by|Reviewed-by|Acked-by|Tested-by):\s*(.+?)\s*$/i;
const EMAIL = /<([^<>\s]+@[^<>\s]+)>|([^\s<>,]+@[^\s<>,]+)/;
/** Lists that want no bisection reports. */
const DROPPED = new Set(['stable@vger.kernel.org']);

/** The address in "Name <a@b>" or a bare "a@b", lower-cased; undefined when there is none. */
export function emailOf(text: string): string | undefined {
  const m = EMAIL.exec(text);
  const e = (m?.[1] ?? m?.[2])?.replace(/[.;,]+$/, '');
  return e?.toLowerCase();
}

/** Addresses in the commit message trailers, in order. */
export function trailerEmails(message: string): string[] {
  const out: string[] = [];
  for (const line of message.split('\n')) {
    const m = TRAILER.exec(line);
    if (!m) continue;
    const e = emailOf(m[2]!);
    if (e) out.push(e);
  }
  return out;
}

export interface MaintainersEntry {
  name: string;
  /** M: and R: addresses, L: lists. */
  maintainers: string[];
  reviewers: string[];
  lists: string[];
  /** F: patterns, X: exclusions, N: name regexes. */
  files: string[];
  excludes: string[];
  nameRegexes: RegExp[];
}

/** Parse a kernel-format MAINTAINERS file: sections separated by blank lines, "X:\tvalue" lines. */
export function parseMaintainers(text: string): MaintainersEntry[] {
  const entries: MaintainersEntry[] = [];
  let cur: MaintainersEntry | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+$/, '');
    const m = /^([A-Z]):\s*(.*)$/.exec(line);
    if (!m) {
      if (line.trim() === '') cur = undefined;
      else if (!cur) cur = { name: line.trim(), maintainers: [], reviewers: [], lists: [], files: [], excludes: [], nameRegexes: [] };
      if (cur && !entries.includes(cur) && line.trim() !== '') entries.push(cur);
      continue;
    }
    if (!cur) {
      cur = { name: '', maintainers: [], reviewers: [], lists: [], files: [], excludes: [], nameRegexes: [] };
      entries.push(cur);
    }
    const [, tag, value] = m as unknown as [string, string, string];
    switch (tag) {
      case 'M':
      case 'R':
      case 'L': {
        const e = emailOf(value);
        if (e) (tag === 'M' ? cur.maintainers : tag === 'R' ? cur.reviewers : cur.lists).push(e);
        break;
      }
      case 'F':
        cur.files.push(value.trim());
        break;
      case 'X':
        cur.excludes.push(value.trim());
        break;
      case 'N':
        try {
          cur.nameRegexes.push(new RegExp(value.trim()));
        } catch {
          /* a broken N: pattern matches nothing */
        }
        break;
      default:
        break;
    }
  }
  return entries.filter((e) => e.maintainers.length + e.reviewers.length + e.lists.length > 0);
}

/**
 * MAINTAINERS file patterns: a trailing "/" matches everything below the directory; "*" and "?"
 * are globs within one path component; a pattern without a slash at the end that names a
 * directory also matches below it (as get_maintainer.pl does).
 */
export function patternMatches(pattern: string, file: string): boolean {
  if (pattern.endsWith('/')) return file.startsWith(pattern);
  const re = new RegExp(`^${pattern.split('*').map((p) => p.split('?').map(escapeRe).join('[^/]')).join('[^/]*')}(/.*)?$`);
  return re.test(file);
}

function escapeRe(s: string): string {
  return s.replace(/[.+^${}()|[\]\\]/g, '\\$&');
}

export function maintainersFor(entries: readonly MaintainersEntry[], files: readonly string[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    const hit = files.some(
      (f) => (e.files.some((p) => patternMatches(p, f)) || e.nameRegexes.some((r) => r.test(f))) && !e.excludes.some((x) => patternMatches(x, f)),
    );
    if (hit) out.push(...e.maintainers, ...e.reviewers, ...e.lists);
  }
  return out;
}

/** Author first, then trailers, then maintainers; deduplicated; stable@ dropped. */
export function recipients(authorEmail: string, message: string, maintainers: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of [emailOf(authorEmail) ?? authorEmail.toLowerCase(), ...trailerEmails(message), ...maintainers]) {
    if (!e || seen.has(e) || DROPPED.has(e)) continue;
    seen.add(e);
    out.push(e);
  }
  return out;
}
