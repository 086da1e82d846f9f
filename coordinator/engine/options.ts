/**
 * Engine options: every knob with its documented default, validated in one place.
 */
import { InvalidOptionError } from '../../shared/errors.js';
import { oneOf, positiveInt, probability } from '../../shared/options.js';

export interface EngineOptions {
  /**
   * 'cause' (default): the tip crashes, the goods do not; find the commit that brought the crash.
   * 'fix': the tip does not crash, the goods do; find the commit that fixed it.
   */
  mode: 'cause' | 'fix';
  /** Posterior mass a commit (or "not in range") must hold to end the job. Default 0.99. */
  confidenceTarget: number;
  /** Seed for tie-breaking between equally good probes. Default 1. */
  seed: number;
  /**
   * Starting estimate of q, the crash rate of a run on an affected commit. Default 0.9. The
   * estimate is refined from every verdict (the bad commit's runs first) by EM.
   */
  repro: number;
  /** How many runs' worth of evidence the starting q counts for. Default 2: real runs dominate fast. */
  reproWeight: number;
  /** Starting estimate of eps, the rate of crashes on unaffected commits. Default 0.005. */
  falseCrash: number;
  /**
   * Runs' worth of evidence for the starting eps. Default 50: false crashes are rare, so one stray
   * crash must not convince the model that eps is large.
   */
  falseCrashWeight: number;
  /** Prior mass of "the culprit is not in this range" (half "already there", half "not there"). Default 0.01. */
  notInRange: number;
  /**
   * Fix mode: prior chance that a fork point outside the range (a commit that candidates not
   * containing the start commit grow from) already has the bug. Default 0.5: no opinion, the
   * verdicts decide (a crash on the branch says yes). See bug-presence.ts.
   */
  forkHasBug: number;
  /** Prior weight of a merge commit relative to an ordinary commit (merges rarely break things). Default 0.5. */
  mergeWeight: number;
  /** Runs the coordinator asks per probe; only used to value probes. Default 1. */
  runsPerProbe: number;
  /**
   * Propose the bad tip before anything else while it has no verdict (confirms the crash, seeds q).
   * Default true. With false it is probed only when the verdicts call for it, as git bisect does.
   */
  confirmBad: boolean;
  /** Probes expected to bring less information than this (bits) are not proposed. Default 0.001. */
  minGain: number;
}

export const DEFAULT_ENGINE_OPTIONS: Readonly<EngineOptions> = Object.freeze({
  mode: 'cause',
  confidenceTarget: 0.99,
  seed: 1,
  repro: 0.9,
  reproWeight: 2,
  falseCrash: 0.005,
  falseCrashWeight: 50,
  notInRange: 0.01,
  forkHasBug: 0.5,
  mergeWeight: 0.5,
  runsPerProbe: 1,
  confirmBad: true,
  minGain: 0.001,
});

function finiteNonNegative(field: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new InvalidOptionError(field, `must be a finite number >= 0, got ${JSON.stringify(value)}`);
  return value;
}

export function compileEngineOptions(o: Partial<EngineOptions> = {}): EngineOptions {
  const known = new Set(Object.keys(DEFAULT_ENGINE_OPTIONS));
  for (const k of Object.keys(o)) {
    if (!known.has(k)) throw new InvalidOptionError(k, `unknown engine option (known: ${[...known].join(', ')})`);
  }
  const r: EngineOptions = { ...DEFAULT_ENGINE_OPTIONS };
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (r as unknown as Record<string, unknown>)[k] = v;
  r.mode = oneOf('mode', String(r.mode), ['cause', 'fix'] as const);
  probability('confidenceTarget', r.confidenceTarget, { open: true });
  if (r.confidenceTarget <= 0.5) throw new InvalidOptionError('confidenceTarget', `must be above 0.5, got ${r.confidenceTarget}`);
  if (!Number.isInteger(r.seed)) throw new InvalidOptionError('seed', `must be a whole number, got ${JSON.stringify(r.seed)}`);
  probability('repro', r.repro);
  if (r.repro === 0) throw new InvalidOptionError('repro', 'must be above 0: a reproducer that never crashes cannot bisect');
  probability('falseCrash', r.falseCrash);
  if (r.falseCrash >= r.repro) {
    throw new InvalidOptionError('falseCrash', `must be below repro (${r.repro}), got ${r.falseCrash}`, { hint: 'a crash must be likelier with the bug than without it' });
  }
  finiteNonNegative('reproWeight', r.reproWeight);
  finiteNonNegative('falseCrashWeight', r.falseCrashWeight);
  probability('notInRange', r.notInRange);
  if (r.notInRange >= 0.5) throw new InvalidOptionError('notInRange', `must be below 0.5, got ${r.notInRange}`);
  probability('forkHasBug', r.forkHasBug, { open: true });
  finiteNonNegative('mergeWeight', r.mergeWeight);
  positiveInt('runsPerProbe', r.runsPerProbe, { max: 10_000 });
  if (typeof r.confirmBad !== 'boolean') throw new InvalidOptionError('confirmBad', `must be true or false, got ${JSON.stringify(r.confirmBad)}`);
  finiteNonNegative('minGain', r.minGain);
  return r;
}
