/**
 * The console as the parser reads it: a string, or raw bytes searched in place. Bytes are
 * never decoded as a whole: a 50 MB log is searched with native indexOf, and only the lines
 * of the report are decoded (as UTF-8; binary garbage becomes U+FFFD). Offsets are string
 * indexes for a string and byte offsets for bytes.
 */

export interface Source {
  readonly length: number;
  /**
   * Position of the first match of `literals` (a global regexp of ASCII literals, see
   * literalsRegexp) at or after `from`, or -1. One pass for many needles.
   */
  find(literals: RegExp, from: number): number;
  /** Index of the '\n' ending the line at `pos`, or the length. */
  lineEnd(pos: number): number;
  /** Start of the line containing `pos`. */
  lineStart(pos: number): number;
  /** The text between two offsets. */
  text(from: number, to: number): string;
}

/** A global regexp matching any of the literals: a multi-needle search in one pass. */
export function literalsRegexp(literals: readonly string[]): RegExp {
  return new RegExp(literals.map((l) => l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
}

/** Longest literal a `find` regexp may match: chunks overlap by this much. */
const MAX_LITERAL = 256;
/** Bytes are searched in chunks decoded as latin1 (1 byte = 1 char, so offsets carry over). */
const CHUNK = 1 << 20;

export function stringSource(s: string): Source {
  return {
    length: s.length,
    find: (literals, from) => {
      literals.lastIndex = from;
      const m = literals.exec(s);
      return m ? m.index : -1;
    },
    lineEnd: (pos) => {
      const nl = s.indexOf('\n', pos);
      return nl === -1 ? s.length : nl;
    },
    lineStart: (pos) => (pos === 0 ? 0 : s.lastIndexOf('\n', pos - 1) + 1),
    text: (from, to) => s.slice(from, to),
  };
}

export function bytesSource(bytes: Uint8Array): Source {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The chunk decoded last: hits cluster, so consecutive searches reuse it.
  let chunkAt = -1;
  let chunk = '';
  const find = (literals: RegExp, from: number): number => {
    for (let base = from - (from % CHUNK); base < b.length; base += CHUNK) {
      if (chunkAt !== base) {
        chunk = b.toString('latin1', base, Math.min(b.length, base + CHUNK + MAX_LITERAL));
        chunkAt = base;
      }
      literals.lastIndex = Math.max(0, from - base);
      const m = literals.exec(chunk);
      // A match starting in the overlap belongs to the next chunk (unless there is none).
      if (m && (m.index < CHUNK || base + CHUNK >= b.length)) return base + m.index;
    }
    return -1;
  };
  return {
    length: b.length,
    find,
    lineEnd: (pos) => {
      const nl = b.indexOf(0x0a, pos);
      return nl === -1 ? b.length : nl;
    },
    lineStart: (pos) => (pos === 0 ? 0 : b.lastIndexOf(0x0a, pos - 1) + 1),
    text: (from, to) => b.toString('utf8', from, to),
  };
}
