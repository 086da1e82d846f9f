/**
 * Wall time of a simulated trial on a real farm, projected from what a probe costs: a build
 * (from scratch, or incremental in a warm build directory) and a test step (boot + R runs).
 * Rounds are lockstep, as in the simulation: a round lasts as long as its slowest probe, so one
 * full build makes the whole round wait for it. Pure arithmetic on the trial's shape; the
 * engine's decisions are not touched.
 *
 * With affinity (what multisect's scheduler aims for): a slot's build directory stays warm and
 * each probe goes to the slot whose last build is nearest, so only a slot's first build is full;
 * verification probes of commits already probed reuse their kernel (kernel cache) and build
 * nothing. Without it (what the seed, syzbot's bisection, does): every probe builds from scratch.
 */

export interface ProbeCosts {
  fullBuildMs: number;
  incrementalBuildMs: number;
  /** One probe's test step: boot + R runs. */
  testMs: number;
  /** A verification probe's test step (it has twice the runs). */
  verifyTestMs: number;
}

/** What a trial did: see TrialResult in simulation.ts. */
export interface TrialShape {
  probesPerRound: readonly number[];
  verification?: { probes: number; alreadyProbed: number };
}

export interface WallTimeProjection {
  bisectRounds: number;
  verifyRounds: number;
  /** With build affinity and the kernel cache. */
  wallMs: number;
  /** Of wallMs, the verification rounds. */
  verifyMs: number;
  /** Every build full, no kernel cache. */
  allFullWallMs: number;
}

/** One lockstep round: how many of its probes must build (the others reuse a cached kernel). */
interface Round {
  builds: number;
  testMs: number;
}

export function projectWallTime(trial: TrialShape, agents: number, costs: ProbeCosts): WallTimeProjection {
  const bisect: Round[] = trial.probesPerRound.map((probes) => ({ builds: probes, testMs: costs.testMs }));
  const verify = verificationRounds(trial.verification, agents, costs.verifyTestMs);
  let warmSlots = 0;
  const withAffinity = (r: Round): number => {
    if (r.builds === 0) return r.testMs;
    // Builders take the warm slots first; only builders beyond them start from scratch.
    const fresh = r.builds > warmSlots;
    warmSlots = Math.max(warmSlots, r.builds);
    return (fresh ? costs.fullBuildMs : costs.incrementalBuildMs) + r.testMs;
  };
  const allFull = (r: Round): number => costs.fullBuildMs + r.testMs;
  const bisectMs = sum(bisect.map(withAffinity));
  const verifyMs = sum(verify.map(withAffinity));
  return {
    bisectRounds: bisect.length,
    verifyRounds: verify.length,
    wallMs: bisectMs + verifyMs,
    verifyMs,
    allFullWallMs: sum([...bisect, ...verify].map(allFull)),
  };
}

/** The verification probes, k at a time, those that must build packed into the first rounds. */
function verificationRounds(v: TrialShape['verification'], agents: number, testMs: number): Round[] {
  if (v === undefined || v.probes <= 0) return [];
  const k = Math.max(1, agents);
  let toBuild = Math.max(0, v.probes - v.alreadyProbed);
  const rounds: Round[] = [];
  for (let left = v.probes; left > 0; left -= k) {
    const probes = Math.min(k, left);
    const builds = Math.min(probes, toBuild);
    toBuild -= builds;
    rounds.push({ builds, testMs });
  }
  return rounds;
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, x) => a + x, 0);
}
