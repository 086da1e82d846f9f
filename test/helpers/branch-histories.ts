/**
 * Histories for fix bisection across topic branches (no git): a mainline with release tags, a
 * bug brought in on the mainline, the start commit (old, crashes), and topic branches that fork
 * from a mainline commit (before or after the bug) and are merged back after the start. The fix
 * is planted on the mainline or on a branch. A commit crashes when it contains the bug and not
 * the fix, so a branch forked before the bug never crashes, fixed or not.
 *
 * `history` is a GeneratedHistory (job-histories.ts) whose `descendantsOf(fix)` also holds every
 * commit without the bug, so job-histories' Oracle in fix mode crashes exactly the commits with
 * the bug and without the fix.
 */
import { hash32 } from '../../coordinator/engine/prng.js';
import type { ReleaseTag } from '../../coordinator/job-run/index.js';
import { MemoryRepo, type MemoryCommit } from '../../coordinator/repo-memory.js';
import { descendantsIn, Oracle, type GeneratedHistory } from './job-histories.js';

export interface TopicBranch {
  /** Mainline position it forks from. */
  fork: number;
  length: number;
  /** Mainline position of the merge commit that brings it in (after `fork`). */
  mergeAt: number;
}

export interface BranchHistorySpec {
  /** Mainline commits, the root (position 0) included. */
  mainline: number;
  /** Mainline position of the commit that brings the bug in. */
  bug: number;
  /** Mainline position of the start commit (crashes; at or after `bug`). */
  start: number;
  branches: TopicBranch[];
  /** The fix: a mainline position, or a commit of a branch (index into `branches`, 0-based position on it). */
  fix: { mainline: number } | { branch: number; at: number };
  /** A release tag v1.k every this many mainline commits (default 10). */
  tagEvery?: number;
}

export interface BranchHistory {
  history: GeneratedHistory;
  start: string;
  fix: string;
  /** Node of each mainline position. */
  main: number[];
  /** Nodes of each branch, oldest first. */
  branchNodes: number[][];
  /** Crashes when tested (the bug in, the fix not). */
  crashes(hash: string): boolean;
  /** Node indices that contain the bug. */
  hasBug: Set<number>;
}

const hashOf = (i: number): string => Array.from({ length: 5 }, (_, k) => hash32(i + 101, k).toString(16).padStart(8, '0')).join('');

export function branchHistory(spec: BranchHistorySpec): BranchHistory {
  const parents: number[][] = [];
  const subjects: string[] = [];
  const main: number[] = [];
  const branchNodes: number[][] = spec.branches.map(() => []);
  const add = (ps: number[], subject: string): number => {
    parents.push(ps);
    subjects.push(subject);
    return parents.length - 1;
  };
  for (let i = 0; i < spec.mainline; i++) {
    const merging = spec.branches.findIndex((b) => b.mergeAt === i);
    const prev = main[i - 1];
    if (merging >= 0 && prev !== undefined) main.push(add([prev, branchNodes[merging]!.at(-1)!], `Merge branch topic-${merging}`));
    else main.push(add(prev === undefined ? [] : [prev], i === spec.bug ? 'mm: the change that brings the bug' : `main ${i}`));
    spec.branches.forEach((b, k) => {
      if (b.fork !== i) return;
      let at = main[i]!;
      for (let j = 0; j < b.length; j++) branchNodes[k]!.push((at = add([at], `topic-${k} ${j}`)));
    });
  }
  const children: number[][] = parents.map(() => []);
  parents.forEach((ps, i) => ps.forEach((p) => children[p]!.push(i)));
  const desc = (node: number): Set<number> => descendantsIn(children, node);
  const fixNode = 'mainline' in spec.fix ? main[spec.fix.mainline]! : branchNodes[spec.fix.branch]![spec.fix.at]!;
  const hasBug = desc(main[spec.bug]!);
  const fixed = desc(fixNode);
  const hashes = parents.map((_, i) => hashOf(i));
  const tagEvery = spec.tagEvery ?? 10;
  const tags: ReleaseTag[] = [];
  for (let k = 0; k * tagEvery < spec.mainline - 1; k++) tags.push({ tag: `v1.${k}`, commit: hashes[main[k * tagEvery]!]! });
  const commits: MemoryCommit[] = parents.map((ps, i) => ({ hash: hashes[i]!, parents: ps.map((p) => hashes[p]!), subject: subjects[i]!, authorEmail: `dev${i % 5}@example.org` }));
  const tip = main.at(-1)!;
  const repo = new MemoryRepo({ commits, branches: { main: hashes[tip]! }, tags });
  const history: GeneratedHistory = {
    repo,
    hashes,
    index: new Map(hashes.map((h, i) => [h, i])),
    root: hashes[0]!,
    tip: hashes[tip]!,
    mainline: main,
    tags,
    side: [],
    // For the Oracle (fix mode: affected = not in descendantsOf(fix)): the fixed commits and those that never had the bug.
    descendantsOf: (node: number) => {
      const out = desc(node);
      if (node === fixNode) for (let i = 0; i < hashes.length; i++) if (!hasBug.has(i)) out.add(i);
      return out;
    },
  };
  return {
    history,
    start: hashes[main[spec.start]!]!,
    fix: hashes[fixNode]!,
    main,
    branchNodes,
    hasBug,
    crashes: (hash: string) => {
      const i = history.index.get(hash);
      return i !== undefined && hasBug.has(i) && !fixed.has(i);
    },
  };
}

/** job-histories' Oracle for a branch history: crashes where the bug is in and the fix is not. */
export function branchOracle(b: BranchHistory, o: { repro?: number; falseCrash?: number; seed?: number } = {}): Oracle {
  return new Oracle(b.history, { planted: b.history.index.get(b.fix)!, mode: 'fix', ...o });
}
