/** Seeded random DAGs for the engine's property tests: any shape git allows, one tip. */
import { prng } from '../../../coordinator/engine/prng.js';
import { syntheticHash } from '../../../coordinator/engine/synthetic.js';
import type { CandidateDag } from '../../../coordinator/engine/types.js';

export function randomDag(n: number, seed: number, opts: { mergeRate?: number; roots?: number } = {}): CandidateDag {
  const rand = prng(seed);
  const mergeRate = opts.mergeRate ?? 0.3;
  const parents: number[][] = [];
  const parentCount: number[] = [];
  const roots = Math.max(1, opts.roots ?? 1 + Math.floor(rand() * 3));
  for (let i = 0; i < n - 1; i++) {
    if (i < roots) {
      parents.push([]);
      parentCount.push(1); // its parent is a good commit
      continue;
    }
    const ps = new Set<number>();
    // Mostly recent parents (like real histories), sometimes far back.
    const pick = () => (rand() < 0.7 ? Math.max(0, i - 1 - Math.floor(rand() * 5)) : Math.floor(rand() * i));
    ps.add(pick());
    while (rand() < mergeRate && ps.size < 4) ps.add(pick());
    parents.push([...ps]);
    parentCount.push(ps.size + (rand() < 0.05 ? 1 : 0));
  }
  // The tip merges every commit nobody descends from, so all are its ancestors.
  const hasChild = new Uint8Array(n);
  for (const ps of parents) for (const p of ps) hasChild[p] = 1;
  const sinks: number[] = [];
  for (let i = 0; i < n - 1; i++) if (!hasChild[i]) sinks.push(i);
  parents.push(sinks);
  parentCount.push(Math.max(1, sinks.length));
  return {
    hashes: Array.from({ length: n }, (_, i) => syntheticHash(i + 1)),
    parents,
    parentCount,
    bad: n - 1,
    goods: [syntheticHash(0)],
  };
}

/** Brute-force anc(x) of every candidate, as sets. */
export function ancestorSets(dag: CandidateDag): Set<number>[] {
  const out: Set<number>[] = [];
  for (let i = 0; i < dag.hashes.length; i++) {
    const s = new Set<number>([i]);
    for (const p of dag.parents[i]!) for (const a of out[p]!) s.add(a);
    out.push(s);
  }
  return out;
}
