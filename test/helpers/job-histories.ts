/**
 * Generated histories for the job reducer's table tests (no git): a linear chain or a kernel-like
 * mainline with topic branches merged in (coordinator/engine/synthetic.ts shapes), release tags
 * on the mainline, an optional side branch never merged, and an oracle saying what each commit
 * does when an agent tests it: crash (how often), fail to build, fail to boot, build the same
 * binary as its parent; and which agents are broken.
 */
import { linearShape, mergeHeavyShape, type Shape } from '../../coordinator/engine/synthetic.js';
import { hash32, prng } from '../../coordinator/engine/prng.js';
import { MemoryRepo } from '../../coordinator/repo-memory.js';
import type { ReleaseTag } from '../../coordinator/job-run/index.js';
import { titleMatchesPolicy } from '../../agent/classify.js';
import { BuildFacts, RunOutcome, RunResult, Verdict, type Probe } from '../../shared/proto.js';

export interface HistorySpec {
  shape: 'linear' | 'merges';
  /** Commits in all, the root included. */
  commits: number;
  seed?: number;
  /** A release tag (v1.0, v1.1, ...) every this many mainline commits from the root (the root is v1.0). */
  tagEvery?: number;
  /** Length of a side branch forked from the middle of the mainline and never merged. */
  sideBranch?: number;
  /** [a, b]: node b gets node a's subject (two commits with one title). */
  sameSubject?: [number, number];
}

export interface GeneratedHistory {
  repo: MemoryRepo;
  hashes: string[];
  /** Node index of each hash. */
  index: Map<string, number>;
  root: string;
  tip: string;
  /** Mainline node indices, root first (the tip's first-parent chain). */
  mainline: number[];
  tags: ReleaseTag[];
  /** Hashes of the side branch, oldest first. */
  side: string[];
  descendantsOf(node: number): Set<number>;
}

/** 40 hex digits that differ in their first 12 (logs show short hashes). */
const hashOf = (i: number): string => Array.from({ length: 5 }, (_, k) => hash32(i + 1, k).toString(16).padStart(8, '0')).join('');

export function generateHistory(spec: HistorySpec): GeneratedHistory {
  const shape: Shape = spec.shape === 'linear' ? linearShape(spec.commits) : mergeHeavyShape({ commits: spec.commits, seed: spec.seed ?? 1 });
  const parents = shape.map((ps) => [...ps]);
  const tip = parents.length - 1;
  const mainline: number[] = [];
  for (let x: number | undefined = tip; x !== undefined; x = parents[x]![0]) mainline.unshift(x);
  const side: number[] = [];
  if (spec.sideBranch) {
    let at = mainline[Math.floor(mainline.length / 2)]!;
    for (let i = 0; i < spec.sideBranch; i++) {
      parents.push([at]);
      at = parents.length - 1;
      side.push(at);
    }
  }
  const hashes = parents.map((_, i) => hashOf(i));
  const tags: ReleaseTag[] = [];
  if (spec.tagEvery) {
    for (let k = 0; k * spec.tagEvery < mainline.length - 1; k++) tags.push({ tag: `v1.${k}`, commit: hashes[mainline[k * spec.tagEvery]!]! });
  }
  const repo = new MemoryRepo({
    commits: parents.map((ps, i) => {
      const n = spec.sameSubject?.[1] === i ? spec.sameSubject[0] : i;
      return { hash: hashes[i]!, parents: ps.map((p) => hashes[p]!), subject: `commit ${n}${ps.length > 1 ? ' (merge)' : ''}`, authorEmail: `dev${i % 7}@example.org` };
    }),
    branches: { main: hashes[tip]!, ...(side.length ? { side: hashes[side[side.length - 1]!]! } : {}) },
    tags,
  });
  const children: number[][] = parents.map(() => []);
  parents.forEach((ps, i) => ps.forEach((p) => children[p]!.push(i)));
  return {
    repo,
    hashes,
    index: new Map(hashes.map((h, i) => [h, i])),
    root: hashes[0]!,
    tip: hashes[tip]!,
    mainline,
    tags,
    side: side.map((i) => hashes[i]!),
    descendantsOf: (node: number) => descendantsIn(children, node),
  };
}

export interface OracleSpec {
  /** Cause: the node that brings the crash (its descendants crash). Fix: the node that fixes it. Absent: nothing crashes. */
  planted?: number;
  mode?: 'cause' | 'fix';
  /** Per-run crash rate on an affected commit (default 1). */
  repro?: number;
  /** Per-run crash rate elsewhere (default 0). */
  falseCrash?: number;
  unbuildable?: readonly number[];
  unbootable?: readonly number[];
  /** Builds the same binary as its first parent. */
  sameBinary?: readonly number[];
  /** This agent boots nothing. */
  deadHost?: string;
  /** Every run on this agent is an infrastructure failure. */
  infraHost?: string;
  /** The agent aborts the job on this node's first probe (exit 126/127: the recipe is broken). */
  abortOn?: number;
  /** Verification probes of this round never crash (a reproducer that let the verification down). */
  cleanVerifyRound?: number;
  /** On these nodes only 4 runs in 10 complete (and pass), the others skip: no evidence. */
  partial?: readonly number[];
  /** On this agent only 4 runs in 10 complete (and pass), the others skip. */
  partialHost?: string;
  /** Every n-th run (counted over the whole job) is a crash that says nothing of the kernel. */
  unrelated?: { every: number; title: string };
  /** The title of the planted crash (default "BUG: planted regression"). */
  crashTitle?: string;
  /** Also crash on this node and its descendants (a bug brought by a side branch). */
  branchBug?: number;
  seed?: number;
}

export class Oracle {
  private readonly rand: () => number;
  private readonly affected: Set<number>;

  constructor(
    private readonly h: GeneratedHistory,
    private readonly o: OracleSpec,
  ) {
    this.rand = prng(o.seed ?? 7);
    const desc = o.planted === undefined ? new Set<number>() : h.descendantsOf(o.planted);
    this.affected = new Set(o.mode === 'fix' ? h.hashes.map((_, i) => i).filter((i) => !desc.has(i)) : desc);
    if (o.branchBug !== undefined) for (const i of h.descendantsOf(o.branchBug)) this.affected.add(i);
  }

  private runsSoFar = 0;

  crashes(commit: string): boolean {
    return this.affected.has(this.h.index.get(commit) ?? -1);
  }

  /** What `agentId` reports after running `probe`. */
  verdict(probe: Probe, agentId: string, startedMs: number): Verdict {
    const node = this.h.index.get(probe.commit) ?? -1;
    const o = this.o;
    const artifactOf = (n: number): string => (o.sameBinary?.includes(n) ? artifactOf(this.h.index.get(this.h.repo.history.commits[n]!.parents[0]!)!) : `artifact-${n}`);
    // As the agent does: the probe's phase and round travel in the verdict.
    const base = { probeId: probe.id, jobId: probe.jobId, commit: probe.commit, agentId, startedMs, finishedMs: startedMs + 10, phase: probe.phase, round: probe.round };
    if (o.abortOn === node) return Verdict.fromPartial({ ...base, abortReason: 'the test command exited 127 on the first probe: the recipe is broken' });
    if (o.unbuildable?.includes(node)) return Verdict.fromPartial({ ...base, build: BuildFacts.fromPartial({ ok: false, error: 'error: x.c:1: expected ;', durationMs: 5 }) });
    const runs: RunResult[] = [];
    const letDown = o.cleanVerifyRound !== undefined && probe.phase === 'verify' && probe.round === o.cleanVerifyRound;
    const partial = o.partial?.includes(node) || o.partialHost === agentId;
    for (let index = 0; index < probe.runs; index++) {
      this.runsSoFar++;
      if (partial) {
        if (index < Math.floor(probe.runs * 0.4)) runs.push(RunResult.fromPartial({ index, outcome: RunOutcome.RUN_OUTCOME_OK, durationMs: 3 }));
        else runs.push(RunResult.fromPartial({ index, outcome: RunOutcome.RUN_OUTCOME_SKIP, title: 'test exited 125 (skip)' }));
        continue;
      }
      if (o.unrelated && this.runsSoFar % o.unrelated.every === 0) {
        const title = o.unrelated.title;
        runs.push(RunResult.fromPartial({ index, outcome: RunOutcome.RUN_OUTCOME_CRASH, title, matches: titleMatchesPolicy(probe.policy, title), logKey: `${probe.id}/run-${index}`, durationMs: 3 }));
        continue;
      }
      if (o.infraHost === agentId) runs.push(RunResult.fromPartial({ index, outcome: RunOutcome.RUN_OUTCOME_INFRA, title: 'qemu failed to start' }));
      else if (o.unbootable?.includes(node) || o.deadHost === agentId) runs.push(RunResult.fromPartial({ index, outcome: RunOutcome.RUN_OUTCOME_SKIP, title: 'could not boot: no-output', bootFailed: true }));
      else if (!letDown && this.rand() < (this.affected.has(node) ? (o.repro ?? 1) : (o.falseCrash ?? 0))) {
        const title = o.crashTitle ?? 'BUG: planted regression';
        runs.push(RunResult.fromPartial({ index, outcome: RunOutcome.RUN_OUTCOME_CRASH, title, matches: titleMatchesPolicy(probe.policy, title), logKey: `${probe.id}/run-${index}`, durationMs: 3 }));
      } else runs.push(RunResult.fromPartial({ index, outcome: RunOutcome.RUN_OUTCOME_OK, durationMs: 3 }));
    }
    return Verdict.fromPartial({ ...base, build: BuildFacts.fromPartial({ ok: true, artifactHash: artifactOf(node), durationMs: 5 }), runs });
  }
}

/** `node` and every node below it, given each node's children. */
export function descendantsIn(children: readonly (readonly number[])[], node: number): Set<number> {
  const out = new Set<number>();
  const stack = [node];
  while (stack.length) {
    const x = stack.pop()!;
    if (out.has(x)) continue;
    out.add(x);
    stack.push(...children[x]!);
  }
  return out;
}
