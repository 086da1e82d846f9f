/**
 * The sets of suspects an inconclusive answer names: pure functions of the posterior mass of
 * each candidate (by id), apart from the engine that asks for them.
 */
import type { DagIndex } from './dag.js';

export interface SuspectSet {
  /** Candidate ids, most probable first. */
  members: number[];
  mass: number;
}

/** The most probable candidates up to `target` mass (at most 64): what cannot be told apart. */
export function topMassSet(w: Float64Array, target: number): SuspectSet {
  const ids = Array.from(w.keys()).sort((a, b) => w[b]! - w[a]! || a - b);
  const members: number[] = [];
  let mass = 0;
  for (const i of ids) {
    if (mass >= target || members.length >= 64 || !(w[i]! > 0)) break;
    members.push(i);
    mass += w[i]!;
  }
  return { members, mass };
}

/**
 * The smallest set of candidates holding `target` mass, when no commit that builds splits it
 * (each buildable commit has all of them or none of them among its ancestors): git bisect's
 * "only skipped commits left to test". Undefined when some buildable commit splits it.
 */
export function setOnlySkipsSplit(index: DagIndex, w: Float64Array, skipped: Uint8Array, target: number): SuspectSet | undefined {
  const n = index.n;
  const sorted = Float64Array.from(w).sort().reverse();
  let cum = 0;
  let threshold = Infinity;
  const CAP = 4096;
  for (let i = 0; i < sorted.length && i < CAP; i++) {
    cum += sorted[i]!;
    if (cum >= target) {
      threshold = sorted[i]!;
      break;
    }
  }
  if (threshold === Infinity || !(threshold > 0)) return undefined;
  const members: number[] = [];
  const ind = new Float64Array(n);
  let mass = 0;
  for (let i = 0; i < n && members.length < CAP; i++) {
    if (w[i]! >= threshold) {
      members.push(i);
      ind[i] = 1;
      mass += w[i]!;
    }
  }
  if (members.length < 2) return undefined;
  const counts = index.ancestorSums(ind);
  const m = members.length;
  for (let x = 0; x < n; x++) {
    if (skipped[x]) continue;
    const c = counts[x]!;
    if (c > 0.5 && c < m - 0.5) return undefined;
  }
  members.sort((a, b) => w[b]! - w[a]! || a - b);
  return { members, mass };
}
