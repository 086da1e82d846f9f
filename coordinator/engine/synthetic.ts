/**
 * Synthetic histories for the simulator, benchmarks and tests: a linear chain, or a kernel-like
 * mainline where topic branches (some with their own sub-topics merged in) fork from a recent
 * mainline commit and come back through merge commits. Shapes are parent lists in topological
 * order: node 0 is the root (the good commit), the last node the mainline tip (bad).
 */
import { prng } from './prng.js';
import type { CandidateDag } from './types.js';

export type Shape = number[][];

export function linearShape(commits: number): Shape {
  return Array.from({ length: commits }, (_, i) => (i === 0 ? [] : [i - 1]));
}

export interface MergeHeavyOptions {
  /** Commits in all, the root and the merges included. */
  commits: number;
  /** Merge commits (default 12% of the commits, the kernel's rate). */
  merges?: number;
  seed?: number;
  /** Share of ordinary commits made on topic branches (default 0.8). */
  topicShare?: number;
  /** Topics fork from one of the last `forkWindow` mainline commits (default 40). */
  forkWindow?: number;
  /** Chance that a topic carries a sub-topic merged into it (default 0.15). */
  nestRate?: number;
}

export function mergeHeavyShape(o: MergeHeavyOptions): Shape {
  const total = Math.max(2, Math.floor(o.commits));
  const rand = prng(o.seed ?? 1);
  const merges = Math.min(o.merges ?? Math.round(total * 0.12), Math.floor((total - 1) / 2));
  const plain = total - 1 - merges;
  const topicPlain = Math.max(merges, Math.round(plain * (o.topicShare ?? 0.8)));
  const mainPlain = plain - topicPlain;
  if (merges === 0) return linearShape(total);
  // Topic lengths: at least one commit each, the rest spread with exponential weights (a few
  // long topics, many short ones, as in real trees).
  const weights = Array.from({ length: merges }, () => -Math.log(1 - rand()));
  const wsum = weights.reduce((a, b) => a + b, 0);
  const lengths = weights.map((w) => 1 + Math.floor(((topicPlain - merges) * w) / wsum));
  let rest = topicPlain - lengths.reduce((a, b) => a + b, 0);
  for (let i = 0; rest > 0; i = (i + 1) % merges, rest--) lengths[i]!++;
  // Events: 'm' = a direct mainline commit, a number = a topic merged into the mainline.
  const events: (number | 'm')[] = [];
  for (let i = 0; i < mainPlain; i++) events.push('m');
  for (let i = 0; i < merges; i++) events.push(i);
  for (let i = events.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [events[i], events[j]] = [events[j]!, events[i]!];
  }
  const parents: Shape = [[]];
  const mainline = [0];
  const add = (ps: number[]): number => {
    parents.push(ps);
    return parents.length - 1;
  };
  const chain = (from: number, len: number): number => {
    let tip = from;
    for (let i = 0; i < len; i++) tip = add([tip]);
    return tip;
  };
  const window = o.forkWindow ?? 40;
  const nestRate = o.nestRate ?? 0.15;
  const pendingSubs = new Set<number>();
  for (let e = 0; e < events.length; e++) {
    const ev = events[e]!;
    const head = mainline[mainline.length - 1]!;
    if (ev === 'm') {
      mainline.push(add([head]));
      continue;
    }
    if (pendingSubs.has(ev)) continue; // merged as a sub-topic already
    const fork = mainline[Math.max(0, mainline.length - 1 - Math.floor(rand() * window))]!;
    const len = lengths[ev]!;
    // A sub-topic: take the next unmerged topic event and merge it into this one.
    let sub = -1;
    if (len >= 2 && rand() < nestRate) {
      for (let f = e + 1; f < events.length; f++) {
        const cand = events[f]!;
        if (cand !== 'm' && !pendingSubs.has(cand)) {
          sub = cand;
          break;
        }
      }
    }
    let tip: number;
    if (sub >= 0) {
      pendingSubs.add(sub);
      const subTip = chain(fork, lengths[sub]!);
      const half = Math.max(1, Math.floor(len / 2));
      tip = chain(fork, half);
      tip = add([tip, subTip]);
      tip = chain(tip, len - half);
    } else {
      tip = chain(fork, len);
    }
    mainline.push(add([mainline[mainline.length - 1]!, tip]));
  }
  return parents;
}

/** A deterministic 40-hex "hash" for synthetic commit i. */
export function syntheticHash(i: number): string {
  return i.toString(16).padStart(40, '0');
}

/**
 * The candidate DAG of a shape with node 0 as the good commit: candidates are nodes 1..N-1
 * (ids shifted by one), the bad commit the last one.
 */
export function shapeToDag(shape: Shape, hashOf: (i: number) => string = syntheticHash, subjects?: (i: number) => string): CandidateDag {
  const n = shape.length - 1;
  const dag: CandidateDag = {
    hashes: Array.from({ length: n }, (_, i) => hashOf(i + 1)),
    parents: Array.from({ length: n }, (_, i) => shape[i + 1]!.filter((p) => p > 0).map((p) => p - 1)),
    parentCount: Array.from({ length: n }, (_, i) => shape[i + 1]!.length),
    bad: n - 1,
    goods: [hashOf(0)],
  };
  if (subjects) dag.subjects = Array.from({ length: n }, (_, i) => subjects(i + 1));
  return dag;
}

/** A linear history of n candidates above one good commit. */
export function linearDag(n: number): CandidateDag {
  return shapeToDag(linearShape(n + 1));
}

export function mergeHeavyDag(o: MergeHeavyOptions): CandidateDag {
  return shapeToDag(mergeHeavyShape(o));
}
