/**
 * Which candidates are known to have the bug at all (fix mode).
 *
 * A commit shows the bug when it contains the change that brought it in and not the fix. The
 * start commits (a fix job's goods) crash, so they have it, and so does every candidate that
 * contains one of them. A candidate that contains none (a topic branch forked from a commit
 * older than the start and merged later) has it only if its fork point does: a branch forked
 * before the bug came in never crashes, fixed or not, and reading its clean runs as "fixed" names
 * the branch's first commit as the fix. Such a candidate's bug status is a latent per fork point
 * (see belief.ts); this module finds the fork points and which candidates hang on which.
 *
 * Needs each candidate's full parent list (`CandidateDag.parentHashes`, which the range loaders
 * fill). Without it, or in cause mode (where a commit crashes iff it contains the culprit,
 * whatever it forked from), every candidate is taken to contain a start commit, as before.
 */
import type { CandidateDag } from './types.js';

export interface BugPresence {
  /** Per candidate: 1 when it contains a start commit (so it has the bug). */
  hasStart: Uint8Array;
  /** Fork points: outside parents that are not start commits, by first appearance. '' for a candidate with no parent (a root). */
  forks: string[];
  /** Per candidate lacking the start: the fork point its bug status is read from (along first parents); -1 otherwise. */
  forkOf: Int32Array;
  /** Whether any candidate lacks a start commit (else the model is the plain one). */
  anyLacking: boolean;
}

export function bugPresence(dag: CandidateDag, mode: 'cause' | 'fix'): BugPresence {
  const n = dag.hashes.length;
  const hasStart = new Uint8Array(n).fill(1);
  const forkOf = new Int32Array(n).fill(-1);
  const forks: string[] = [];
  const ph = dag.parentHashes;
  if (mode !== 'fix' || ph === undefined || ph.length !== n) return { hasStart, forks, forkOf, anyLacking: false };
  const candidate = new Set(dag.hashes);
  const goods = new Set(dag.goods);
  const forkIndex = new Map<string, number>();
  const forkId = (h: string): number => {
    let f = forkIndex.get(h);
    if (f === undefined) {
      f = forks.length;
      forks.push(h);
      forkIndex.set(h, f);
    }
    return f;
  };
  let anyLacking = false;
  for (let x = 0; x < n; x++) {
    const outside = (ph[x] ?? []).filter((h) => !candidate.has(h));
    let has = outside.some((h) => goods.has(h));
    for (const p of dag.parents[x]!) if (hasStart[p]) has = true;
    hasStart[x] = has ? 1 : 0;
    if (has) continue;
    anyLacking = true;
    // The first parent decides which fork point the commit's status is read from: a branch's
    // commits share their base's. (A sub-branch merged in from another fork point could bring the
    // bug in earlier; that commit is then read as its first parent's, a documented approximation.)
    const first = ph[x]?.[0];
    if (first === undefined) forkOf[x] = forkId('');
    else if (!candidate.has(first)) forkOf[x] = forkId(first);
    else {
      const p = dag.parents[x]!.find((q) => dag.hashes[q] === first);
      forkOf[x] = p !== undefined && forkOf[p]! >= 0 ? forkOf[p]! : outside.length > 0 ? forkId(outside[0]!) : forkId('');
    }
  }
  return { hasStart, forks, forkOf, anyLacking };
}
