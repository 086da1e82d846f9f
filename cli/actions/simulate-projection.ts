/**
 * `multisect simulate --build-cost F,I --test-cost T`: the trials' projected wall times, summed
 * up and set beside the seed, syzbot's one-commit-at-a-time bisection this project measures
 * itself against. A projection from the costs given, never a measurement: the output says so.
 */
import type { ProbeCosts, WallTimeProjection } from '../../coordinator/engine/projection.js';
import { formatDuration } from '../../shared/job-log.js';

/** The seed's bisection: 4 h 04 min for 7,562 revisions, 16 builds taking 1 h 34 min of it. */
export const SEED_BISECTION = {
  source: "syzbot's bisection, one commit at a time",
  candidates: 7562,
  builds: 16,
  wallMs: (4 * 60 + 4) * 60_000,
  buildMs: (60 + 34) * 60_000,
} as const;

export const PROJECTION_NOTE = 'a projection from the given build and test costs, not a measurement';

/** Runs of a verification probe, as a job's default (coordinator/job-run/config.ts). */
export function verifyRunsFor(runsPerProbe: number): number {
  return Math.max(2, 2 * runsPerProbe);
}

export interface Spread {
  mean: number;
  p90: number;
  max: number;
}

export interface ProjectionSummary {
  note: string;
  costs: ProbeCosts & { verifyRuns: number };
  /** Bisecting and verifying rounds together. */
  rounds: Spread;
  /** With build affinity and the kernel cache. */
  wallMs: Spread;
  /** Mean of the verification rounds' share of wallMs. */
  meanVerifyMs: number;
  /** Every build full, no kernel cache: how the seed builds. */
  allFullWallMs: Spread;
  seed: typeof SEED_BISECTION & {
    sameRangeSize: boolean;
    /** The seed's wall time over the projected mean: how many times faster. */
    speedup: { withAffinity: number; allFull: number };
  };
}

export function summarizeProjection(trials: readonly WallTimeProjection[], costs: ProbeCosts & { verifyRuns: number }, candidates: number): ProjectionSummary {
  const wallMs = spread(trials.map((t) => t.wallMs));
  const allFullWallMs = spread(trials.map((t) => t.allFullWallMs));
  const ratio = (ms: number) => (ms > 0 ? SEED_BISECTION.wallMs / ms : 0);
  return {
    note: PROJECTION_NOTE,
    costs,
    rounds: spread(trials.map((t) => t.bisectRounds + t.verifyRounds)),
    wallMs,
    meanVerifyMs: spread(trials.map((t) => t.verifyMs)).mean,
    allFullWallMs,
    seed: { ...SEED_BISECTION, sameRangeSize: candidates === SEED_BISECTION.candidates, speedup: { withAffinity: ratio(wallMs.mean), allFull: ratio(allFullWallMs.mean) } },
  };
}

/** Mean, 90th percentile (nearest rank) and maximum. */
export function spread(xs: readonly number[]): Spread {
  if (xs.length === 0) return { mean: 0, p90: 0, max: 0 };
  const sorted = [...xs].sort((a, b) => a - b);
  return {
    mean: xs.reduce((a, x) => a + x, 0) / xs.length,
    p90: sorted[Math.ceil(0.9 * sorted.length) - 1]!,
    max: sorted[sorted.length - 1]!,
  };
}

export function renderProjection(p: ProjectionSummary, parallel: number, candidates: number): string[] {
  const d = formatDuration;
  const c = p.costs;
  const times = (s: Spread) => `${d(s.mean)} mean, p90 ${d(s.p90)}, max ${d(s.max)}`;
  const shape = parallel === 1 ? 'K=1: serial, one commit at a time' : `K=${parallel} agents, each round as long as its slowest probe`;
  const seed = p.seed;
  const otherRange = seed.sameRangeSize ? '' : `; a reference only: this range has ${candidates}`;
  return [
    `projected wall time: ${p.note}`,
    `  costs: full build ${d(c.fullBuildMs)}, incremental ${d(c.incrementalBuildMs)}, test step ${d(c.testMs)}; verification test step ${d(c.verifyTestMs)} (${c.verifyRuns} runs, no build when cached); ${shape}`,
    `  rounds (with verification)     ${p.rounds.mean.toFixed(2)} mean, p90 ${p.rounds.p90}, max ${p.rounds.max}`,
    `  with affinity + kernel cache   ${times(p.wallMs)} (verification ${d(p.meanVerifyMs)} of it)`,
    `  every build full (no affinity) ${times(p.allFullWallMs)}`,
    `  seed: ${seed.source}, ${seed.candidates} revisions, ${seed.builds} builds (${d(seed.buildMs)} building): ${d(seed.wallMs)}${otherRange}`,
    `  seed / projected               ${seed.speedup.withAffinity.toFixed(2)}x with affinity + cache, ${seed.speedup.allFull.toFixed(2)}x every build full`,
  ];
}
