/**
 * Seeded randomness for the engine and the simulator: small, fast, and the same on every
 * platform, so a seed reproduces a run exactly.
 */

/** A 32-bit mix of two integers (splitmix-style); used for seeds and stable tie-breaking. */
export function hash32(a: number, b = 0): number {
  let h = (Math.imul(a | 0, 0x9e3779b1) ^ Math.imul((b | 0) + 0x7f4a7c15, 0x85ebca6b)) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x21f0aaad);
  h = Math.imul(h ^ (h >>> 15), 0x735a2d97);
  return (h ^ (h >>> 15)) >>> 0;
}

/** mulberry32: a uniform float in [0, 1) per call. */
export function prng(seed: number): () => number {
  let s = hash32(seed, 0x5eed) | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Number of successes in `n` trials of probability `p` (exact, by counting; n is small here). */
export function binomial(rand: () => number, n: number, p: number): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (rand() < p) k++;
  return k;
}
