/**
 * Scoring probes: how much probing each commit next would tell, given the ones in flight, and
 * which commit is best. One job's Bisection (bisection.ts) owns the belief and its caches; it
 * hands them in through ScoringContext, and asks here for the best probe (propose, proposeMany)
 * or whether any probe still tells anything (decide, fix mode). Pure and deterministic under the
 * seed: the same context gives the same scores, bit for bit.
 */
import type { Posterior } from './belief.js';
import type { BugPresence } from './bug-presence.js';
import type { DagIndex } from './dag.js';
import { forkProbeInformation } from './fork-probes.js';
import type { ProbeValue } from './information.js';
import type { EngineOptions } from './options.js';
import { partitionBy, type Partition, type SweepResult, type SweepWorkspace } from './planner.js';
import { hash32 } from './prng.js';

/** Two-step lookahead (single probe): up to this many near-best commits, within this share of the best gain, on DAGs up to this size. */
const LOOKAHEAD_CANDIDATES = 8;
const LOOKAHEAD_WINDOW = 0.02;
const LOOKAHEAD_MAX_N = 50_000;

/**
 * A caller's preference among near-equal probes (build affinity: the commit whose build is
 * cheapest on the slot at hand). The engine gives up at most `tolerance` (a fraction) of the best
 * probe's information for it.
 */
export interface ProbePreference {
  cost(commit: string): number;
  tolerance: number;
}

/**
 * What scoring reads from a Bisection. Keys are candidate ids (< n), then the good commits, then
 * the fork points. The methods are the Bisection's caches, asked lazily and in a fixed order
 * (the lookahead's inputs only when it runs).
 */
export interface ScoringContext {
  readonly index: DagIndex;
  readonly options: EngineOptions;
  /** Candidate hashes by id, for the preference's cost. */
  readonly hashes: readonly string[];
  /** Number of good commits (their keys are n .. n + goods - 1; fork points follow). */
  readonly goods: number;
  /** Fix mode: which candidates contain a start commit, and the fork points of those that do not. */
  readonly presence: BugPresence;
  /** Per key: a skip verdict was seen (the commit does not build). */
  readonly skipped: Uint8Array;
  /** Partition by the in-flight keys (sorted) and sweep under the current belief. */
  plan(probes: number[]): { partition: Partition; sweep: SweepResult };
  /** The value of one probe as a function of P(it contains the culprit), for the current q and eps. */
  value(): ProbeValue;
  /** Per candidate: the chance it builds, given the skips. */
  buildable(): Float64Array;
  posterior(): Posterior;
  /** Posterior of each candidate. */
  mass(): Float64Array;
  /** anc(x) as a byte mask. */
  ancestorMask(x: number): Uint8Array;
  /** Buffers for the lookahead's sweeps (apart from the plan's, whose result is still in use). */
  lookaheadWorkspace(): SweepWorkspace;
}

export interface ProbeScorer {
  /** What probing this key next would tell (bits, times the chance it builds). */
  score(key: number): number;
  /** The key to probe next; undefined when nothing would add at least minGain bits. */
  best(): number | undefined;
}

/** Fix mode: the chance that probing candidate x can show the bug at all (1 when it contains a start commit). */
function canShowBug(presence: BugPresence, x: number, forkBug: Float64Array): number {
  const f = presence.forkOf[x]!;
  return f < 0 ? 1 : forkBug[f]!;
}

/**
 * Scores of probing each commit next, given the in-flight multiset `counts`: the sweep's gain
 * for a new commit, the extra information of one more probe for an in-flight one (zero with
 * clean verdicts), times the chance it builds.
 */
export function probeScorer(ctx: ScoringContext, counts: Map<number, number>, prefer?: ProbePreference): ProbeScorer {
  const n = ctx.index.n;
  const sweep = ctx.plan([...counts.keys()].sort((a, b) => a - b));
  const value = ctx.value();
  const buildable = ctx.buildable();
  const { gains, anc, total } = sweep.sweep;
  const post = ctx.posterior();
  const skipped = ctx.skipped;
  const goods = ctx.goods;
  const lacking = ctx.presence.anyLacking;
  // A commit that may never have had the bug tells about the fix only as far as it has it (an
  // approximation of its information: the sweep's, times that chance).
  const show = (x: number): number => (lacking ? canShowBug(ctx.presence, x, post.forkBug) : 1);
  const forkScore = (key: number): number => {
    const gi = post.groups.findIndex((g) => g.fork === key - n - goods);
    return gi < 0 || counts.has(key) ? 0 : forkProbeInformation(post, gi, ctx.options.runsPerProbe);
  };
  const score = (key: number): number => {
    if (skipped[key]) return 0;
    const d = counts.get(key);
    if (key < n) {
      if (d === undefined) return gains[key]! * buildable[key]! * show(key);
      return (value.repeated(anc[key]!, d + 1) - value.repeated(anc[key]!, d)) * buildable[key]! * show(key);
    }
    if (key >= n + goods) return forkScore(key);
    // A good commit splits only NIR-old from the rest of its class.
    if (d !== undefined) return value.repeated(post.nirOld, d + 1) - value.repeated(post.nirOld, d);
    const M = total[sweep.partition.part[n]!]!;
    return M > 0 ? M * value.value(post.nirOld / M) : 0;
  };
  const best = (): number | undefined => {
    let bestKey = -1;
    let bestScore = 0;
    let bestTie = 0;
    // Exact ties (symmetric DAGs) go to a seeded hash of the commit, so seeds vary the choice.
    const consider = (key: number, sc: number): void => {
      if (!(sc > 0)) return;
      const slack = 1e-12 * Math.max(1, bestScore);
      if (bestKey >= 0 && sc < bestScore - slack) return;
      const tie = hash32(ctx.options.seed, key);
      if (bestKey < 0 || sc > bestScore + slack || tie > bestTie) {
        bestKey = key;
        bestScore = sc;
        bestTie = tie;
      }
    };
    for (let x = 0; x < n; x++) {
      if (skipped[x]) continue;
      // show(x) is 1 unless some candidates lack the bug: no call per commit then (x * 1 is x).
      const sc = lacking ? gains[x]! * buildable[x]! * show(x) : gains[x]! * buildable[x]!;
      if (sc >= bestScore * (1 - 1e-12)) consider(x, counts.has(x) ? score(x) : sc);
    }
    for (const g of post.groups) {
      const key = n + goods + g.fork;
      if (ctx.presence.forks[g.fork] !== '' && !skipped[key]) consider(key, forkScore(key));
    }
    // In-flight commits score by the extra information of one more probe, which may beat
    // their (near zero) sweep gain.
    for (const key of counts.keys()) if (key < n) consider(key, score(key));
    // The first good commit not skipped.
    let good = -1;
    for (let i = 0; i < goods; i++) {
      if (!skipped[n + i]) {
        good = i;
        break;
      }
    }
    if (good >= 0) consider(n + good, score(n + good));
    if (bestKey < 0 || bestScore < ctx.options.minGain) return undefined;
    if (prefer && bestKey < n) return preferred(bestKey, bestScore, prefer);
    if (counts.size === 0 && bestKey < n && !lacking && n <= LOOKAHEAD_MAX_N && ctx.index.numChains > 1) return lookahead(ctx, gains, buildable, bestKey, bestScore);
    return bestKey;
  };
  /**
   * Among the candidates nearly as informative as the best (within the tolerance), the one
   * the preference finds cheapest; ties go to the more informative.
   */
  const preferred = (bestKey: number, bestScore: number, p: ProbePreference): number => {
    const floor = bestScore * (1 - p.tolerance);
    let chosen = bestKey;
    let chosenCost = p.cost(ctx.hashes[bestKey]!);
    let chosenScore = bestScore;
    if (chosenCost <= 0) return chosen;
    for (let x = 0; x < n; x++) {
      if (skipped[x] || x === bestKey) continue;
      // The numbers first: a Map lookup for each of n commits costs more than the sweep's share.
      if ((lacking ? gains[x]! * buildable[x]! * show(x) : gains[x]! * buildable[x]!) < floor && !counts.has(x)) continue;
      const sc = score(x);
      if (sc < floor) continue;
      const c = p.cost(ctx.hashes[x]!);
      if (c < chosenCost || (c === chosenCost && sc > chosenScore)) {
        chosen = x;
        chosenCost = c;
        chosenScore = sc;
      }
    }
    return chosen;
  };
  return { score, best };
}

/**
 * On a DAG many commits split the mass (nearly) equally well, and which one is taken decides
 * how well the next step can split what is left: git bisect takes the first it finds. With
 * nothing in flight, the near-best few are compared by their gain plus the expected best gain
 * of the step after (each outcome read as clean), which on merge-heavy histories saves probes.
 * (A single chain needs none: halving is optimal there.)
 */
function lookahead(ctx: ScoringContext, gains: Float64Array, buildable: Float64Array, first: number, firstScore: number): number {
  const n = ctx.index.n;
  const skipped = ctx.skipped;
  const cands: number[] = [];
  for (let x = 0; x < n; x++) {
    if (!skipped[x] && gains[x]! * buildable[x]! >= firstScore * (1 - LOOKAHEAD_WINDOW)) cands.push(x);
  }
  if (cands.length < 2) return first;
  const score = (x: number) => gains[x]! * buildable[x]!;
  cands.sort((x, y) => score(y) - score(x) || x - y);
  cands.length = Math.min(cands.length, LOOKAHEAD_CANDIDATES);
  const w = ctx.mass();
  const post = ctx.posterior();
  const value = ctx.value();
  // The step after sees one outcome, nothing in flight: a single class.
  const trivial = partitionBy(ctx.index, [], () => new Uint8Array(0));
  const workspace = ctx.lookaheadWorkspace();
  const side = new Float64Array(n);
  /** The best gain of a next probe when the mass left is `side` (plus the NIR hypotheses given). */
  const nextBest = (nirOld: number, nirAbsent: number): number => {
    const r = workspace.sweep(side, nirOld, nirAbsent, trivial, value);
    let m = 0;
    for (let x = 0; x < n; x++) if (!skipped[x] && r.gains[x]! * buildable[x]! > m) m = r.gains[x]! * buildable[x]!;
    return m;
  };
  let best = first;
  let bestTotal = -Infinity;
  for (const x of cands) {
    const mask = ctx.ancestorMask(x);
    // a: P(x contains the culprit), the chance of the "inside anc(x)" outcome.
    let a = post.nirOld;
    for (let v = 0; v < n; v++) {
      side[v] = mask[v] ? w[v]! : 0;
      a += side[v]!;
    }
    const gIn = nextBest(post.nirOld, 0);
    for (let v = 0; v < n; v++) side[v] = mask[v] ? 0 : w[v]!;
    const gOut = nextBest(0, post.nirAbsent);
    const total = score(x) + a * gIn + (1 - a) * gOut;
    if (total > bestTotal * (1 + 1e-12) + 1e-15) {
      best = x;
      bestTotal = total;
    }
  }
  return best;
}
