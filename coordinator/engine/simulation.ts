/**
 * Trials against a planted culprit, with no agent: every probe takes one time unit, k agents
 * work at once (so rounds are the makespan), and each run crashes with probability
 * Q + (1 - Q) * EPS on a commit that contains the culprit and EPS elsewhere. Pure: the verdicts
 * come from a seeded PRNG, so a seed reproduces a trial exactly.
 */
import { ClassicBisect } from './baselines.js';
import { Bisection } from './bisection.js';
import type { DagIndex } from './dag.js';
import type { EngineOptions } from './options.js';
import { binomial, prng } from './prng.js';
import type { CandidateDag } from './types.js';

export interface TrialOptions {
  /** Agents working at once (K). */
  parallel: number;
  /** Runs per probe (R). */
  runs: number;
  /** Crash rate on a commit with the culprit (Q). */
  repro: number;
  /** Crash rate on any run (EPS). */
  falseCrash: number;
  seed: number;
  /** cause (default) or fix: in fix mode the commits that contain the planted one stop crashing. */
  mode?: 'cause' | 'fix';
  /** Give up after this many rounds (default 2000). */
  maxRounds?: number;
  /**
   * Give the engine the true Q and EPS as strong starting estimates. Default: only for a clean
   * reproducer (Q=1, EPS=0: a deterministic reproducer is something its operator knows and says,
   * as a job's --repro-rate 1 does); a flaky one's rates it learns from the verdicts.
   */
  tellEngine?: boolean;
  /** Engine option overrides. */
  engine?: Partial<EngineOptions>;
}

export interface TrialResult {
  culprit: string;
  /** The commit named, or null (inconclusive, not in range, failed). */
  answer: string | null;
  outcome: 'culprit' | 'inconclusive' | 'not-in-range' | 'stalled' | 'failed';
  correct: boolean;
  probes: number;
  runs: number;
  rounds: number;
  /** Probes placed in each round, in order (k at most; fewer near the end): what a wall-time projection needs. */
  probesPerRound: number[];
  /**
   * With a named culprit: what a job verifies next (the culprit and all its real parents, with
   * twice the runs; not simulated here), and how many of those commits this trial already probed,
   * so their kernels exist.
   */
  verification?: { probes: number; alreadyProbed: number };
  confidence?: number;
  reason?: string;
}

/** Which commits contain the culprit: its descendants-or-self. */
export function containsMask(index: DagIndex, culprit: number): Uint8Array {
  const m = new Uint8Array(index.n);
  index.forEachDescendant(culprit, (v) => (m[v] = 1));
  return m;
}

/**
 * The engine's options for a simulation. By default it is told nothing about the reproducer (a
 * real job does not know Q or EPS): it starts from its own weak priors and learns them from the
 * verdicts. With `tellEngine` (the default for a clean reproducer only) it is given the nominal Q and EPS as starting estimates worth 200
 * runs, as a job whose operator states the repro rate (--repro-rate) is. With one agent it takes
 * the bad and good commits on trust like git bisect (no "not in range" hypothesis); with more,
 * confirming the bad commit costs a slot, not a round.
 */
export function simulationEngineOptions(o: TrialOptions): Partial<EngineOptions> {
  return {
    ...((o.tellEngine ?? (o.repro === 1 && o.falseCrash === 0)) ? { repro: o.repro, reproWeight: 200, falseCrashWeight: 200, falseCrash: Math.min(o.falseCrash, o.repro / 2) } : {}),
    runsPerProbe: o.runs,
    confirmBad: o.parallel > 1,
    // Taken on trust (one agent): bad crashes and good does not, as git bisect believes.
    ...(o.parallel > 1 ? {} : { notInRange: 0 }),
    seed: o.seed,
    mode: o.mode ?? 'cause',
    ...o.engine,
  };
}

export function runEngineTrial(dag: CandidateDag, culprit: number, o: TrialOptions, bisection?: Bisection | DagIndex): TrialResult {
  const b = bisection instanceof Bisection ? bisection : Bisection.create(dag, simulationEngineOptions(o), bisection);
  const contains = containsMask(b.index, culprit);
  const n = b.index.n;
  const keyOf = new Map<string, number>();
  dag.hashes.forEach((h, i) => keyOf.set(h, i));
  const rand = prng(o.seed);
  const pIn = o.repro + (1 - o.repro) * o.falseCrash;
  const max = o.maxRounds ?? 2000;
  let probes = 0;
  let runs = 0;
  let rounds = 0;
  let seq = 0;
  const probesPerRound: number[] = [];
  const probed = new Set<string>();
  const result = (r: Omit<TrialResult, 'culprit' | 'probes' | 'runs' | 'rounds' | 'probesPerRound'>): TrialResult => ({
    culprit: dag.hashes[culprit]!,
    ...r,
    probes,
    runs,
    rounds,
    probesPerRound,
  });
  while (rounds < max) {
    const d = b.decide();
    if (d.kind === 'culprit') {
      const verification = verificationOf(dag, keyOf.get(d.commit), probed);
      return result({ answer: d.commit, outcome: 'culprit', correct: d.commit === dag.hashes[culprit], confidence: d.confidence, verification });
    }
    if (d.kind === 'inconclusive') return result({ answer: null, outcome: 'inconclusive', correct: false, confidence: d.confidence, reason: d.reason });
    if (d.kind === 'not-in-range') return result({ answer: null, outcome: 'not-in-range', correct: false, confidence: d.confidence, reason: d.reason });
    // All k agents are free at the start of a round: place their probes jointly.
    const inFlight = o.parallel === 1 ? [b.propose([])].filter((c): c is string => c !== undefined) : b.proposeMany([], o.parallel);
    if (inFlight.length === 0) return result({ answer: null, outcome: 'stalled', correct: false, reason: 'nothing left worth probing' });
    rounds++;
    probesPerRound.push(inFlight.length);
    for (const c of inFlight) {
      probed.add(c);
      const key = keyOf.get(c);
      const contained = key !== undefined && key < n && contains[key] === 1;
      // Cause: a commit with the culprit crashes. Fix: a commit without the fix still crashes.
      const affected = o.mode === 'fix' ? !contained : contained;
      const crashes = binomial(rand, o.runs, affected ? pIn : o.falseCrash);
      b.apply({ probeId: `p${seq++}`, commit: c, runs: o.runs, crashes });
      probes++;
      runs += o.runs;
    }
  }
  return result({ answer: null, outcome: 'stalled', correct: false, reason: `no decision after ${max} rounds` });
}

/**
 * The culprit and every real parent (a parent outside the range, a good commit, is never probed
 * here, so its kernel is not built yet), as the job's verifying phase tests them.
 */
function verificationOf(dag: CandidateDag, id: number | undefined, probed: ReadonlySet<string>): { probes: number; alreadyProbed: number } {
  if (id === undefined) return { probes: 1, alreadyProbed: 0 };
  const inRange = [dag.hashes[id]!, ...dag.parents[id]!.map((p) => dag.hashes[p]!)];
  return { probes: 1 + dag.parentCount[id]!, alreadyProbed: inRange.filter((h) => probed.has(h)).length };
}

/**
 * syzkaller's rule driving a one-commit-at-a-time bisection: 10 runs per commit, 20 on the first
 * test and once the reproducer turned out flaky (a bad verdict with fewer than half the runs
 * crashing); bad with at least max(2, runs/6) crashes; good with no crash; skip otherwise. The
 * bad commit must test bad and the good commit good, or the bisection fails.
 */
export function runSyzkallerTrial(dag: CandidateDag, index: DagIndex, culprit: number, o: { repro: number; falseCrash: number; seed: number }): TrialResult {
  const contains = containsMask(index, culprit);
  const rand = prng(o.seed);
  const pIn = o.repro + (1 - o.repro) * o.falseCrash;
  let probes = 0;
  let runs = 0;
  let first = true;
  let flaky = false;
  const test = (affected: boolean): 'good' | 'bad' | 'skip' => {
    const r = first || flaky ? 20 : 10;
    first = false;
    const crashes = binomial(rand, r, affected ? pIn : o.falseCrash);
    probes++;
    runs += r;
    // Every simulated run completes, so "at least half (three quarters once flaky) clean" holds
    // whenever no run crashed.
    if (crashes >= Math.max(2, r / 6)) {
      if (crashes < r / 2) flaky = true;
      return 'bad';
    }
    return crashes === 0 ? 'good' : 'skip';
  };
  const done = (answer: number | null, outcome: TrialResult['outcome'], reason?: string): TrialResult => ({
    culprit: dag.hashes[culprit]!,
    answer: answer === null ? null : dag.hashes[answer]!,
    outcome,
    correct: answer === culprit,
    probes,
    runs,
    rounds: probes,
    probesPerRound: new Array<number>(probes).fill(1),
    ...(reason ? { reason } : {}),
  });
  if (test(true) !== 'bad') return done(null, 'failed', 'the bad commit did not test bad');
  if (test(false) !== 'good') return done(null, 'failed', 'the good commit did not test good');
  const cb = new ClassicBisect(index);
  for (let x = cb.next(); x !== undefined; x = cb.next()) cb.mark(x, test(contains[x] === 1));
  const r = cb.result()!;
  if (r.kind === 'culprit') return done(r.id, 'culprit');
  return done(null, 'inconclusive', 'only skipped commits left');
}
