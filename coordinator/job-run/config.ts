/**
 * What a job's spec means for its run, read once with every default in one place: the engine's
 * options, runs per probe and per verification, the skip limit, the parallelism cap.
 */
import { Mode, type JobSpec } from '../../shared/proto.js';
import type { EngineOptions } from '../engine/index.js';
import { buildKeyOf } from '../../shared/build-key.js';

/** Skips in a row (after the bad commit is confirmed) that end a job inconclusive, by default. */
export const DEFAULT_MAX_SKIPS = 10;

/** Verification rounds before a job ends anyway (a culprit that keeps moving is reported as is). */
export const MAX_VERIFY_ROUNDS = 2;

export interface RunConfig {
  mode: 'cause' | 'fix';
  recipeKind: string;
  runsPerProbe: number;
  verifyRuns: number;
  verify: boolean;
  maxSkips: number;
  /** 0: no cap. */
  parallelismCap: number;
  confidenceTarget: number;
  firstParent: boolean;
  oldestRelease: string;
  engine: Partial<EngineOptions>;
  /** What the job's builds depend on besides the commit (build affinity, shared/build-key.ts). */
  buildKey: string;
}

/**
 * What the operator says of the reproducer becomes a strong prior (worth 200 runs, as
 * `multisect simulate` does); unsaid, the engine's weak defaults let the verdicts speak.
 */
function reproducerPrior(policy: JobSpec['policy']): Partial<EngineOptions> {
  const prior: Partial<EngineOptions> = {};
  if (policy?.reproRate) Object.assign(prior, { repro: Math.min(policy.reproRate, 0.999), reproWeight: 200 });
  if (policy?.reproRate === 1 || policy?.falseCrashRate) Object.assign(prior, { falseCrash: Math.max(policy?.falseCrashRate ?? 0, 0.0001), falseCrashWeight: 200 });
  return prior;
}

export function runConfig(spec: JobSpec): RunConfig {
  const p = spec.policy;
  const mode = spec.mode === Mode.MODE_FIX ? 'fix' : 'cause';
  const runsPerProbe = p?.runsPerProbe || 1;
  const confidenceTarget = p?.confidenceTarget || 0.99;
  return {
    mode,
    recipeKind: spec.recipe?.kind || 'script',
    runsPerProbe,
    verifyRuns: p?.verificationRuns || Math.max(2, 2 * runsPerProbe),
    verify: !p?.skipVerification,
    maxSkips: p?.maxSkips || DEFAULT_MAX_SKIPS,
    parallelismCap: p?.parallelismCap ?? 0,
    confidenceTarget,
    firstParent: p?.firstParent ?? false,
    oldestRelease: p?.oldestRelease ?? '',
    engine: { mode, confidenceTarget, seed: Number(p?.seed ?? 0) || 1, runsPerProbe, ...reproducerPrior(p) },
    buildKey: buildKeyOf(spec.repo, spec.recipe),
  };
}
