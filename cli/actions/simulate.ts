/**
 * `multisect simulate`: the engine against a planted culprit, no agent involved. Every probe
 * takes one time unit and K agents work at once, so "rounds" is the makespan. Optional
 * baselines run on the same culprits: the real `git bisect run` (clean verdicts, --repo only) or
 * syzkaller's per-commit rule. Given build and test costs, each trial's rounds are projected
 * into wall time (coordinator/engine/projection.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCandidateDag } from '../../coordinator/dag-loader.js';
import { DagIndex } from '../../coordinator/engine/dag.js';
import type { EngineOptions } from '../../coordinator/engine/options.js';
import { hash32, prng } from '../../coordinator/engine/prng.js';
import { projectWallTime, type ProbeCosts, type WallTimeProjection } from '../../coordinator/engine/projection.js';
import { runEngineTrial, runSyzkallerTrial, type TrialResult } from '../../coordinator/engine/simulation.js';
import { linearDag } from '../../coordinator/engine/synthetic.js';
import type { CandidateDag } from '../../coordinator/engine/types.js';
import { InvalidJobError, InvalidOptionError } from '../../shared/errors.js';
import { calibrate, renderCalibration, type CalibrationBucket } from './calibration.js';
import { renderProjection, summarizeProjection, verifyRunsFor, type ProjectionSummary } from './simulate-projection.js';
import { git, resolveCommit } from '../../shared/git.js';
import { formatDuration } from '../../shared/job-log.js';
import { positiveInt, probability } from '../../shared/options.js';

export type BaselineName = 'git-bisect' | 'syzkaller';

export interface SimulateOptions {
  /** A repository, with bad and good refs... */
  repo?: string;
  bad?: string;
  good?: string[];
  /** ...or a linear history of N candidates. */
  linear?: number;
  /** Plant this culprit (one trial); default: draw one per trial among non-merge candidates. */
  culprit?: string;
  /** Trials (default 20, or 1 with a culprit). */
  trials?: number;
  /** Seed for the culprits and the verdicts (default 1). */
  seed?: number;
  /** K agents (default 1). */
  parallel?: number;
  /** Runs per probe (default 1 with a clean reproducer, else 10). */
  runs?: number;
  /** Q: crash rate of a run on a commit with the culprit (default 1). */
  repro?: number;
  /** EPS: crash rate of any run (default 0). */
  falseCrash?: number;
  firstParent?: boolean;
  /** cause (default): the planted commit brings the crash; fix: it ends it (goods crash, bad does not). */
  mode?: 'cause' | 'fix';
  baseline?: BaselineName;
  /**
   * Tell the engine the true Q and EPS (strong starting estimates). Default false: with a flaky
   * reproducer it learns them, as a real job must (a clean one is always said to be clean).
   */
  tellEngine?: boolean;
  /** With testCostMs: project wall time from a build from scratch and one in a warm build directory (ms). */
  buildCost?: { fullMs: number; incrementalMs: number };
  /** With buildCost: one probe's test step, boot + R runs (ms). */
  testCostMs?: number;
  /** Engine option overrides (tests and benchmarks). */
  engine?: Partial<EngineOptions>;
  /** Called after each trial (progress). */
  onTrial?: (done: number, total: number) => void;
}

export interface TrialRow {
  culprit: string;
  answer: string | null;
  correct: boolean;
  probes: number;
  runs: number;
  rounds: number;
  outcome: TrialResult['outcome'];
  confidence?: number;
  /** With --build-cost and --test-cost. */
  projection?: { rounds: number; wallMs: number; allFullWallMs: number };
}

export interface Summary {
  trials: number;
  accuracy: number;
  meanProbes: number;
  meanRuns: number;
  meanRounds: number;
  maxRounds: number;
}

export interface SimulateReport {
  source: string;
  candidates: number;
  mode: 'cause' | 'fix';
  parallel: number;
  runs: number;
  repro: number;
  falseCrash: number;
  seed: number;
  firstParent: boolean;
  /** Whether the engine was given Q and EPS (--tell-engine, or a clean reproducer). */
  tellEngine: boolean;
  /** ceil(log_{K+1} n): the rounds k agents need on a linear history with clean verdicts. */
  bound: number;
  trials: TrialRow[];
  summary: Summary;
  /** The culprits named, by the confidence stated: the share right in each bucket. */
  calibration: CalibrationBucket[];
  baseline?: { name: BaselineName; trials: TrialRow[]; summary: Summary };
  /** multisect / baseline, for probes, runs and rounds. */
  ratio?: { probes: number; runs: number; rounds: number };
  /** With --build-cost and --test-cost: projected wall time, beside the seed's. */
  projection?: ProjectionSummary;
}

interface Compiled extends Required<Omit<SimulateOptions, 'repo' | 'bad' | 'good' | 'linear' | 'culprit' | 'baseline' | 'engine' | 'onTrial' | 'tellEngine' | 'buildCost' | 'testCostMs'>> {
  /** Effective: asked for, or a clean reproducer. */
  tellEngine: boolean;
  repo?: string;
  bad?: string;
  good: string[];
  linear?: number;
  culprit?: string;
  baseline?: BaselineName;
  costs?: ProbeCosts & { verifyRuns: number };
}

export function compileSimulateOptions(o: SimulateOptions): Compiled {
  const hasRepo = o.repo !== undefined;
  if (hasRepo === (o.linear !== undefined)) {
    throw new InvalidOptionError('--linear', 'give either --repo PATH --good REF --bad REF, or --linear N', { hint: 'multisect simulate --linear 7562 --trials 50 --parallel 7' });
  }
  if (!hasRepo && (o.bad !== undefined || (o.good?.length ?? 0) > 0)) throw new InvalidOptionError('--good', '--good and --bad go with --repo');
  if (hasRepo && o.bad === undefined) throw new InvalidOptionError('--bad', 'is required with --repo');
  if (hasRepo && (o.good?.length ?? 0) === 0) throw new InvalidOptionError('--good', 'is required with --repo (repeatable)');
  if (o.linear !== undefined) positiveInt('--linear', o.linear, { max: 10_000_000 });
  if (o.culprit !== undefined && o.trials !== undefined && o.trials !== 1) {
    throw new InvalidOptionError('--trials', 'goes with a drawn culprit: with --culprit there is one trial');
  }
  const trials = o.culprit !== undefined ? 1 : positiveInt('--trials', o.trials ?? 20, { max: 1_000_000 });
  const seed = o.seed ?? 1;
  if (!Number.isInteger(seed)) throw new InvalidOptionError('--seed', `must be a whole number, got ${JSON.stringify(seed)}`);
  const parallel = positiveInt('--parallel', o.parallel ?? 1, { max: 1024 });
  const repro = probability('--repro', o.repro ?? 1);
  if (repro === 0) throw new InvalidOptionError('--repro', 'must be above 0');
  const falseCrash = probability('--false-crash', o.falseCrash ?? 0);
  if (falseCrash >= repro) throw new InvalidOptionError('--false-crash', `must be below --repro (${repro})`);
  const clean = repro === 1 && falseCrash === 0;
  const runs = positiveInt('--runs', o.runs ?? (clean ? 1 : 10), { max: 10_000 });
  const mode = o.mode ?? 'cause';
  if (mode !== 'cause' && mode !== 'fix') throw new InvalidOptionError('--mode', `must be cause or fix, got ${JSON.stringify(mode)}`);
  if (mode === 'fix' && o.baseline !== undefined) throw new InvalidOptionError('--mode', 'the baselines bisect causes only: drop --baseline with --mode fix');
  if (o.baseline !== undefined && o.baseline !== 'git-bisect' && o.baseline !== 'syzkaller') {
    throw new InvalidOptionError('--baseline', `must be git-bisect or syzkaller, got ${JSON.stringify(o.baseline)}`);
  }
  if (o.baseline === 'git-bisect') {
    if (!hasRepo) throw new InvalidOptionError('--baseline', 'git-bisect runs the real git bisect: it needs --repo');
    if (!clean) throw new InvalidOptionError('--baseline', 'git-bisect takes clean verdicts only: use --repro 1 --false-crash 0', { hint: 'for flaky reproducers compare with --baseline syzkaller' });
  }
  const costs = compileCosts(o, runs);
  return {
    ...(hasRepo ? { repo: o.repo, bad: o.bad } : { linear: o.linear }),
    ...(costs !== undefined ? { costs } : {}),
    good: o.good ?? [],
    ...(o.culprit !== undefined ? { culprit: o.culprit } : {}),
    ...(o.baseline !== undefined ? { baseline: o.baseline } : {}),
    trials,
    seed,
    parallel,
    mode,
    runs,
    repro,
    falseCrash,
    firstParent: Boolean(o.firstParent),
    tellEngine: Boolean(o.tellEngine) || clean,
  };
}

/** --build-cost and --test-cost go together; a verification probe's test step scales with its runs. */
function compileCosts(o: SimulateOptions, runs: number): (ProbeCosts & { verifyRuns: number }) | undefined {
  if (o.buildCost === undefined && o.testCostMs === undefined) return undefined;
  if (o.buildCost === undefined) throw new InvalidOptionError('--build-cost', 'goes with --test-cost: give both to project wall time', { hint: '--build-cost 5m54s,11s --test-cost 9m24s' });
  if (o.testCostMs === undefined) throw new InvalidOptionError('--test-cost', 'goes with --build-cost: give both to project wall time', { hint: '--build-cost 5m54s,11s --test-cost 9m24s' });
  const { fullMs, incrementalMs } = o.buildCost;
  for (const [flag, ms] of [['--build-cost', fullMs], ['--build-cost', incrementalMs], ['--test-cost', o.testCostMs]] as const) {
    if (!Number.isFinite(ms) || ms < 0) throw new InvalidOptionError(flag, `must be a duration of 0 or more, got ${JSON.stringify(ms)} ms`);
  }
  if (incrementalMs > fullMs) {
    throw new InvalidOptionError('--build-cost', `the incremental build (${formatDuration(incrementalMs)}) cannot take longer than the full one (${formatDuration(fullMs)}): give FULL,INCREMENTAL`);
  }
  const verifyRuns = verifyRunsFor(runs);
  // Twice the runs, one after another: an upper bound (the kernel recipe boots a probe's runs in
  // parallel when the slot has the VMs for them, and then it is nearer one test step).
  return { fullBuildMs: fullMs, incrementalBuildMs: incrementalMs, testMs: o.testCostMs, verifyTestMs: (o.testCostMs * verifyRuns) / runs, verifyRuns };
}

/** Resolve --culprit to a candidate id: a ref (with --repo), or a hash / 1-based position (--linear). */
async function resolveCulprit(c: Compiled, dag: CandidateDag): Promise<number> {
  const raw = c.culprit!;
  let id: number;
  if (c.repo !== undefined) {
    const hash = await resolveCommit(c.repo, raw, 'culprit');
    id = dag.hashes.indexOf(hash);
    if (id < 0) {
      throw new InvalidJobError('culprit', `${JSON.stringify(raw)} is not in the range (reachable from bad, from no good commit)`, {
        hint: c.firstParent ? 'with --first-parent only mainline commits are candidates: name the merge that brought it in' : 'pick a commit between --good and --bad',
      });
    }
    return id;
  }
  if (/^\d+$/.test(raw) && raw.length < 12) {
    id = Number(raw) - 1;
  } else {
    const matches = dag.hashes.flatMap((h, i) => (h.startsWith(raw.toLowerCase()) ? [i] : []));
    id = matches.length === 1 ? matches[0]! : -1;
  }
  if (!(id >= 0 && id < dag.hashes.length)) {
    throw new InvalidJobError('culprit', `${JSON.stringify(raw)} is not in the range: give a position from 1 to ${dag.hashes.length} or a full hash`);
  }
  return id;
}

function summarize(rows: TrialRow[]): Summary {
  const n = rows.length || 1;
  const sum = (f: (r: TrialRow) => number) => rows.reduce((a, r) => a + f(r), 0);
  return {
    trials: rows.length,
    accuracy: sum((r) => (r.correct ? 1 : 0)) / n,
    meanProbes: sum((r) => r.probes) / n,
    meanRuns: sum((r) => r.runs) / n,
    meanRounds: sum((r) => r.rounds) / n,
    maxRounds: rows.reduce((a, r) => Math.max(a, r.rounds), 0),
  };
}

function row(r: TrialResult, projection?: TrialRow['projection']): TrialRow {
  return {
    culprit: r.culprit,
    answer: r.answer,
    correct: r.correct,
    probes: r.probes,
    runs: r.runs,
    rounds: r.rounds,
    outcome: r.outcome,
    ...(r.confidence !== undefined ? { confidence: r.confidence } : {}),
    ...(projection !== undefined ? { projection } : {}),
  };
}

export async function simulate(options: SimulateOptions): Promise<SimulateReport> {
  const c = compileSimulateOptions(options);
  const dag = c.repo !== undefined ? await loadCandidateDag(c.repo, c.bad!, c.good, { firstParent: c.firstParent }) : linearDag(c.linear!);
  const index = DagIndex.build(dag);
  const n = dag.hashes.length;
  const explicit = c.culprit !== undefined ? await resolveCulprit(c, dag) : undefined;
  const pool: number[] = [];
  for (let i = 0; i < n; i++) if (dag.parentCount[i]! <= 1) pool.push(i);
  if (pool.length === 0) for (let i = 0; i < n; i++) pool.push(i);
  const rand = prng(c.seed);
  const culprits = Array.from({ length: c.trials }, () => explicit ?? pool[Math.floor(rand() * pool.length)]!);
  // Drawn culprits are never merges, and the engine's prior says so (merge weight 0), as a job's
  // prior may weight commits; a planted --culprit keeps the default prior.
  const drawnFromNonMerges = explicit === undefined && pool.length < n;
  const engine: Partial<EngineOptions> = { ...(drawnFromNonMerges ? { mergeWeight: 0 } : {}), ...options.engine };
  const trialOpts = (t: number) => ({ parallel: c.parallel, runs: c.runs, repro: c.repro, falseCrash: c.falseCrash, seed: hash32(c.seed, t), mode: c.mode, tellEngine: c.tellEngine, engine });
  const total = c.trials * (c.baseline ? 2 : 1);
  let done = 0;
  const ours: TrialRow[] = [];
  const projections: WallTimeProjection[] = [];
  for (let t = 0; t < c.trials; t++) {
    const trial = runEngineTrial(dag, culprits[t]!, trialOpts(t), index);
    const p = c.costs !== undefined ? projectWallTime(trial, c.parallel, c.costs) : undefined;
    if (p !== undefined) projections.push(p);
    ours.push(row(trial, p && { rounds: p.bisectRounds + p.verifyRounds, wallMs: p.wallMs, allFullWallMs: p.allFullWallMs }));
    options.onTrial?.(++done, total);
  }
  const report: SimulateReport = {
    source: c.repo !== undefined ? `${c.repo} ${c.bad} --not ${c.good.join(' ')}${c.firstParent ? ' (first parent)' : ''}` : `linear history of ${n} commits`,
    candidates: n,
    parallel: c.parallel,
    mode: c.mode,
    runs: c.runs,
    repro: c.repro,
    falseCrash: c.falseCrash,
    seed: c.seed,
    firstParent: c.firstParent,
    tellEngine: c.tellEngine,
    bound: roundsBound(n, c.parallel),
    trials: ours,
    summary: summarize(ours),
    calibration: calibrate(ours),
    ...(c.costs !== undefined ? { projection: summarizeProjection(projections, c.costs, n) } : {}),
  };
  if (c.baseline) {
    const base: TrialRow[] = [];
    if (c.baseline === 'syzkaller') {
      for (let t = 0; t < c.trials; t++) {
        base.push(row(runSyzkallerTrial(dag, index, culprits[t]!, { repro: c.repro, falseCrash: c.falseCrash, seed: hash32(c.seed ^ 0x5a5a5a5a, t) })));
        options.onTrial?.(++done, total);
      }
    } else {
      const bisect = await GitBisect.open(c.repo!, dag.hashes[dag.bad]!, dag.goods, c.firstParent);
      try {
        for (let t = 0; t < c.trials; t++) {
          const culprit = dag.hashes[culprits[t]!]!;
          const r = await bisect.run(culprit);
          base.push({ culprit, answer: r.answer, correct: r.answer === culprit, probes: r.tests, runs: r.tests, rounds: r.tests, outcome: r.answer ? 'culprit' : 'inconclusive' });
          options.onTrial?.(++done, total);
        }
      } finally {
        await bisect.close();
      }
    }
    const s = summarize(base);
    report.baseline = { name: c.baseline, trials: base, summary: s };
    const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);
    report.ratio = { probes: ratio(report.summary.meanProbes, s.meanProbes), runs: ratio(report.summary.meanRuns, s.meanRuns), rounds: ratio(report.summary.meanRounds, s.meanRounds) };
  }
  return report;
}

/** ceil(log_{k+1} n), robust to floating error at exact powers. */
export function roundsBound(n: number, k: number): number {
  let rounds = 0;
  for (let cover = 1; cover < n; cover *= k + 1) rounds++;
  return rounds;
}

/** Fewer brk calls for git on VMs where they are slow; harmless elsewhere. */
const GIT_PERF_ENV = { MALLOC_TOP_PAD_: String(64 << 20), MALLOC_TRIM_THRESHOLD_: String(2 ** 32 - 1) };

/**
 * The real `git bisect run`, in a private shared clone (the user's repository and its bisect
 * state are never touched) and without checkouts: a commit is bad when the planted culprit is
 * its ancestor-or-self.
 */
export class GitBisect {
  private constructor(
    readonly dir: string,
    private readonly bad: string,
    private readonly goods: string[],
    private readonly firstParent: boolean,
  ) {}

  static async open(repo: string, bad: string, goods: string[], firstParent = false): Promise<GitBisect> {
    const dir = await mkdtemp(join(tmpdir(), 'multisect-bisect-'));
    try {
      await git(tmpdir(), ['clone', '--quiet', '--shared', '--no-checkout', '--end-of-options', repo, dir], { env: GIT_PERF_ENV });
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return new GitBisect(dir, bad, goods, firstParent);
  }

  /** Bisect for `culprit` (a full hash): the commit git names, and how many it tested. */
  async run(culprit: string): Promise<{ answer: string | null; tests: number; log: string }> {
    if (!/^[0-9a-f]{40,64}$/.test(culprit)) throw new InvalidOptionError('culprit', `must be a full hash, got ${JSON.stringify(culprit)}`);
    const env = GIT_PERF_ENV;
    await git(this.dir, ['bisect', 'reset'], { check: false, env });
    const start = ['bisect', 'start', '--no-checkout'];
    if (this.firstParent) start.push('--first-parent');
    await git(this.dir, [...start, this.bad, ...this.goods], { env });
    // The hash reaches sh as $0, never inside the script text.
    await git(this.dir, ['bisect', 'run', 'sh', '-c', 'if git merge-base --is-ancestor "$0" BISECT_HEAD; then exit 1; else exit 0; fi', culprit], { env, check: false });
    const log = (await git(this.dir, ['bisect', 'log'], { env })).stdout;
    const tests = log.split('\n').filter((l) => /^git bisect (good|bad|skip|old|new) /.test(l)).length;
    const m = /^# first bad commit: \[([0-9a-f]+)\]/m.exec(log);
    await git(this.dir, ['bisect', 'reset'], { check: false, env });
    return { answer: m ? m[1]! : null, tests, log };
  }

  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

function fmt(x: number, digits = 2): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(digits);
}

export function renderSimulate(r: SimulateReport): string {
  const lines: string[] = [];
  lines.push(`simulated ${r.summary.trials} trial(s) on ${r.source}: ${r.candidates} candidates`);
  lines.push(`K=${r.parallel} agent(s), R=${r.runs} run(s) per probe, Q=${r.repro}, EPS=${r.falseCrash}, seed ${r.seed}; the engine ${r.tellEngine ? 'is told Q and EPS' : 'learns Q and EPS'}`);
  const b = r.baseline;
  const cols = (a: string, x: string, y?: string, z?: string) => `  ${a.padEnd(14)}${x.padStart(12)}${y !== undefined ? y.padStart(14) : ''}${z !== undefined ? z.padStart(10) : ''}`;
  lines.push(cols('', 'multisect', b?.name, b ? 'ratio' : undefined));
  const s = r.summary;
  const t = b?.summary;
  lines.push(cols('accuracy', s.accuracy.toFixed(3), t && t.accuracy.toFixed(3), undefined));
  lines.push(cols('mean probes', fmt(s.meanProbes), t && fmt(t.meanProbes), r.ratio && fmt(r.ratio.probes)));
  lines.push(cols('mean runs', fmt(s.meanRuns), t && fmt(t.meanRuns), r.ratio && fmt(r.ratio.runs)));
  lines.push(cols('mean rounds', fmt(s.meanRounds), t && fmt(t.meanRounds), r.ratio && fmt(r.ratio.rounds)));
  lines.push(cols('max rounds', String(s.maxRounds), t && String(t.maxRounds), undefined));
  lines.push(`bound ceil(log_${r.parallel + 1} ${r.candidates}) = ${r.bound} rounds`);
  lines.push('calibration (culprits named at confidence c: share right)');
  lines.push(...renderCalibration(r.calibration));
  if (r.projection) lines.push(...renderProjection(r.projection, r.parallel, r.candidates));
  if (r.trials.length === 1) {
    const one = r.trials[0]!;
    lines.push(`culprit ${one.culprit}: ${one.answer ? `named ${one.answer}${one.correct ? ' (right)' : ' (WRONG)'}` : one.outcome}`);
  }
  return lines.join('\n');
}
