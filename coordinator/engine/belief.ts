/**
 * The belief: which candidate is the culprit, or "not in range", given the verdicts so far.
 *
 * Hypotheses are the candidates plus two "not in range" ones: NIR-old (every commit in and below
 * the range contains the culprit: the good commits crash too; in fix mode, the fix predates the
 * range) and NIR-absent (no commit contains it: the bad commit does not crash; in fix mode, the
 * tip is not fixed). A run on a commit crashes at rate q when the commit is affected (contains the
 * culprit; in fix mode, does not contain the fix) and at rate eps otherwise.
 *
 * Only per-commit totals (runs, crashes) enter the likelihood, and two candidates that contain the
 * same tested commits have the same likelihood. So candidates are grouped in classes by the set
 * of tested commits they are ancestors of: an update is a split of the classes along anc(x), and
 * the posterior is computed per class. Classes are renumbered canonically (by their first
 * commit) and sums run in commit order, so the belief is a function of the set of verdicts alone:
 * any order gives bit-identical numbers.
 *
 * q and eps are not fixed: each has a Beta prior (the options' starting estimate, worth a few runs)
 * and is integrated out exactly (Beta-binomial), so a hypothesis's likelihood depends only on the
 * runs and crashes on the commits it makes affected and on the rest. Point estimates (EM) were
 * tried first: they select, so they come out biased (a culprit whose probe happened to show no
 * crash is classified as unaffected, which talks q up) and the belief overconfident.
 *
 * Fix mode, commits that lack the start commit (bug-presence.ts): such a commit crashes only if
 * its fork point already had the bug (b = 1) and it does not contain the fix. b is a latent per
 * fork point, prior `forkHasBug`, summed out per hypothesis: each fork group contributes
 * pi * L(runs | b = 1, hypothesis) + (1 - pi) * L(runs | b = 0), the second with every run at
 * eps whatever the hypothesis. So a clean branch weighs for "fixed" only as far as the verdicts
 * (a crash on the branch, or on its fork point itself) make it likely the branch had the bug.
 * These factors use the hypothesis's mean q and eps (from the other commits) instead of
 * integrating them, which keeps the sums exact over the rest.
 */
import type { BugPresence } from './bug-presence.js';
import type { DagIndex } from './dag.js';
import type { EngineOptions } from './options.js';

interface Klass {
  /** Sorted keys of the tested commits this class's candidates are ancestors-or-self of. */
  sig: number[];
  prior: number;
  /** Its candidates with a prior above zero (status() counts the candidates left by class). */
  live: number;
}

export interface Posterior {
  q: number;
  eps: number;
  /** Posterior of each candidate class (same indexing as classOf). */
  classPost: Float64Array;
  /** Log-likelihood of each class relative to the best candidate class. */
  classRelLog: Float64Array;
  nirOld: number;
  nirAbsent: number;
  /** Fix mode: fork groups with tested commits, in key order of their first member. */
  groups: { fork: number; keys: number[] }[];
  /** P(b = 1 | hypothesis) per group (row) and hypothesis: the classes, then NIR-old, NIR-absent. */
  groupBug: Float64Array;
  /** Mean q and eps under each hypothesis (classes, then NIR-old, NIR-absent). */
  hypQ: Float64Array;
  hypEps: Float64Array;
  /** P(b = 1) of every fork point (the prior where nothing was tested). */
  forkBug: Float64Array;
}

const Q_MIN = 0.01;
const Q_MAX = 1 - 1e-6;
const EPS_MIN = 1e-6;

export class Belief {
  /** Keys: candidate ids 0..n-1, then good boundary commits n..n+g-1. */
  readonly runs: Float64Array;
  readonly crashes: Float64Array;
  /** Sorted keys of commits with at least one run. */
  tested: number[] = [];
  classOf: Int32Array;
  classes: Klass[];
  version = 0;
  private cached: Posterior | undefined;
  private massCache: Float64Array | undefined;

  constructor(
    private readonly index: DagIndex,
    readonly goods: number,
    /** Prior of each candidate; sums to 1 - notInRange. */
    readonly prior: Float64Array,
    readonly nirPrior: number,
    private readonly opts: EngineOptions,
    private readonly presence?: BugPresence,
  ) {
    const keys = index.n + goods + (presence?.forks.length ?? 0);
    this.runs = new Float64Array(keys);
    this.crashes = new Float64Array(keys);
    this.classOf = new Int32Array(index.n);
    let total = 0;
    let live = 0;
    for (let i = 0; i < index.n; i++) {
      total += prior[i]!;
      if (prior[i]! > 0) live++;
    }
    this.classes = [{ sig: [], prior: total, live }];
  }

  /** Fork group of a key whose bug status is latent (fix mode), else -1. Fork points are keys after the goods. */
  groupOf(key: number): number {
    const pr = this.presence;
    if (!pr?.anyLacking) return -1;
    const n = this.index.n;
    if (key < n) return pr.forkOf[key]!;
    return key < n + this.goods ? -1 : key - n - this.goods;
  }

  /** Add runs on a commit (key). */
  addRuns(key: number, runs: number, crashes: number): void {
    if (runs <= 0) return;
    const isNew = this.runs[key] === 0;
    this.runs[key]! += runs;
    this.crashes[key]! += crashes;
    if (isNew) {
      insertSorted(this.tested, key);
      if (key < this.index.n) this.split(key);
    }
    this.version++;
    this.cached = undefined;
    this.massCache = undefined;
  }

  /** Split every class along anc(x), then renumber canonically. */
  private split(x: number): void {
    const remap = new Int32Array(this.classes.length).fill(-1);
    const classOf = this.classOf;
    const classes = this.classes;
    const { stamp, gen } = this.index.stampAncestors(x);
    for (let v = 0; v <= x; v++) {
      if (stamp[v] !== gen) continue;
      const old = classOf[v]!;
      let nw = remap[old]!;
      if (nw < 0) {
        const sig = classes[old]!.sig.slice();
        insertSorted(sig, x);
        nw = classes.length;
        classes.push({ sig, prior: 0, live: 0 });
        remap[old] = nw;
      }
      classOf[v] = nw;
    }
    // Canonical numbering: by first candidate in id order; priors summed in id order.
    const order = new Int32Array(classes.length).fill(-1);
    const next: Klass[] = [];
    for (let v = 0; v < this.index.n; v++) {
      const c = classOf[v]!;
      let k = order[c]!;
      if (k < 0) {
        k = next.length;
        order[c] = k;
        next.push({ sig: classes[c]!.sig, prior: 0, live: 0 });
      }
      classOf[v] = k;
      const klass = next[k]!;
      klass.prior += this.prior[v]!;
      if (this.prior[v]! > 0) klass.live++;
    }
    this.classes = next;
  }

  posterior(): Posterior {
    if (this.cached) return this.cached;
    const { opts } = this;
    const T = this.tested;
    const nT = T.length;
    const R = new Float64Array(nT);
    const C = new Float64Array(nT);
    const pos = new Map<number, number>();
    let rTot = 0;
    let cTot = 0;
    // Commits whose bug status is latent go to their fork groups; the rest enter the sums.
    const groupAt = new Map<number, number>();
    const groups: { fork: number; keys: number[] }[] = [];
    for (let i = 0; i < nT; i++) {
      const key = T[i]!;
      R[i] = this.runs[key]!;
      C[i] = this.crashes[key]!;
      const g = this.groupOf(key);
      if (g >= 0) {
        let at = groupAt.get(g);
        if (at === undefined) {
          at = groups.length;
          groupAt.set(g, at);
          groups.push({ fork: g, keys: [] });
        }
        groups[at]!.keys.push(key);
        continue;
      }
      rTot += R[i]!;
      cTot += C[i]!;
      pos.set(key, i);
    }
    const cause = opts.mode === 'cause';
    const qPrior = ratePrior(opts.repro, opts.reproWeight, clampQ);
    const ePrior = ratePrior(opts.falseCrash, opts.falseCrashWeight, (e) => clampEps(e, clampQ(opts.repro)));
    // The likelihood of a hypothesis needs only the runs and crashes on the commits it makes
    // affected, and on the others; q and eps are integrated out against their Beta priors.
    const evaluate = (cIn: number, rIn: number): { l: number; q: number; eps: number } => {
      const ca = cause ? cIn : cTot - cIn;
      const ra = cause ? rIn : rTot - rIn;
      const cu = cTot - ca;
      const ru = rTot - ra;
      const a = qPrior.marginal(ca, ra);
      const e = ePrior.marginal(cu, ru);
      return { l: a.log + e.log, q: a.mean, eps: e.mean };
    };
    const nc = this.classes.length;
    const H = nc + 2;
    const groupBug = new Float64Array(groups.length * H);
    const lp = Math.log(opts.forkHasBug);
    const lnp = Math.log1p(-opts.forkHasBug);
    const n = this.index.n;
    // Sum of the fork groups' factors under hypothesis h (column of groupBug); `fixed(key)`:
    // the hypothesis puts the fix in anc(key).
    const forkFactor = (h: number, fixed: (key: number) => boolean, qMean: number, eMean: number): number => {
      if (groups.length === 0) return 0;
      const q = clampQ(qMean);
      const eps = clampEps(eMean, q);
      const lq = Math.log(q);
      const l1q = Math.log1p(-q);
      const le = Math.log(eps);
      const l1e = Math.log1p(-eps);
      let total = 0;
      for (let gi = 0; gi < groups.length; gi++) {
        let a = lp;
        let b = lnp;
        for (const key of groups[gi]!.keys) {
          const c = this.crashes[key]!;
          const ok = this.runs[key]! - c;
          const clean = c * le + ok * l1e;
          a += key < n && fixed(key) ? clean : c * lq + ok * l1q;
          b += clean;
        }
        const m = Math.max(a, b);
        const lse = m + Math.log(Math.exp(a - m) + Math.exp(b - m));
        groupBug[gi * H + h] = Math.exp(a - lse);
        total += lse;
      }
      return total;
    };
    const logL = new Float64Array(nc);
    const hypQ = new Float64Array(H);
    const hypEps = new Float64Array(H);
    let maxCand = -Infinity;
    for (let h = 0; h < nc; h++) {
      let cIn = 0;
      let rIn = 0;
      const sig = this.classes[h]!.sig;
      for (const key of sig) {
        const t = pos.get(key);
        if (t === undefined) continue;
        cIn += C[t]!;
        rIn += R[t]!;
      }
      const ev = evaluate(cIn, rIn);
      logL[h] = ev.l + forkFactor(h, (key) => hasSorted(sig, key), ev.q, ev.eps);
      hypQ[h] = ev.q;
      hypEps[h] = ev.eps;
      if (this.classes[h]!.prior > 0 && logL[h]! > maxCand) maxCand = logL[h]!;
    }
    const half = this.nirPrior / 2;
    const old = evaluate(cTot, rTot);
    const absent = evaluate(0, 0);
    // NIR-old: every candidate contains the fix; NIR-absent: none does.
    const oldL = old.l + forkFactor(nc, () => true, old.q, old.eps);
    const absentL = absent.l + forkFactor(nc + 1, () => false, absent.q, absent.eps);
    hypQ[nc] = old.q;
    hypEps[nc] = old.eps;
    hypQ[nc + 1] = absent.q;
    hypEps[nc + 1] = absent.eps;
    let max = maxCand;
    if (half > 0) max = Math.max(max, oldL, absentL);
    const post = new Float64Array(nc);
    let z = 0;
    for (let h = 0; h < nc; h++) {
      const p = this.classes[h]!.prior;
      post[h] = p > 0 ? p * Math.exp(logL[h]! - max) : 0;
      z += post[h]!;
    }
    let nirOld = half > 0 ? half * Math.exp(oldL - max) : 0;
    let nirAbsent = half > 0 ? half * Math.exp(absentL - max) : 0;
    z += nirOld + nirAbsent;
    let q = 0;
    let eps = 0;
    for (let h = 0; h < nc; h++) {
      post[h]! /= z;
      q += post[h]! * hypQ[h]!;
      eps += post[h]! * hypEps[h]!;
    }
    nirOld /= z;
    nirAbsent /= z;
    q += nirOld * old.q + nirAbsent * absent.q;
    eps += nirOld * old.eps + nirAbsent * absent.eps;
    const forkBug = new Float64Array(this.presence?.forks.length ?? 0).fill(opts.forkHasBug);
    for (let gi = 0; gi < groups.length; gi++) {
      let b = nirOld * groupBug[gi * H + nc]! + nirAbsent * groupBug[gi * H + nc + 1]!;
      for (let h = 0; h < nc; h++) b += post[h]! * groupBug[gi * H + h]!;
      forkBug[groups[gi]!.fork] = b;
    }
    const classRelLog = new Float64Array(nc);
    for (let h = 0; h < nc; h++) classRelLog[h] = logL[h]! - maxCand;
    this.cached = { q, eps: Math.min(eps, q / 2), classPost: post, classRelLog, nirOld, nirAbsent, groups, groupBug, hypQ, hypEps, forkBug };
    return this.cached;
  }

  /** Posterior probability of each candidate being the culprit. */
  mass(): Float64Array {
    if (this.massCache) return this.massCache;
    const p = this.posterior();
    const w = new Float64Array(this.index.n);
    const scale = new Float64Array(this.classes.length);
    for (let h = 0; h < this.classes.length; h++) {
      const pr = this.classes[h]!.prior;
      scale[h] = pr > 0 ? p.classPost[h]! / pr : 0;
    }
    for (let v = 0; v < this.index.n; v++) w[v] = this.prior[v]! * scale[this.classOf[v]!]!;
    this.massCache = w;
    return w;
  }
}

function clampQ(q: number): number {
  return Math.min(Q_MAX, Math.max(Q_MIN, q));
}

function clampEps(eps: number, q: number): number {
  return Math.min(Math.min(0.5, q / 2), Math.max(EPS_MIN, eps));
}

/**
 * A Beta(mean * weight, (1 - mean) * weight) prior on a crash rate, or a point mass when the
 * weight is 0 or the mean is 0 or 1 ("the reproducer is deterministic": clean verdicts, where
 * one run per probe must be enough to be sure).
 */
function ratePrior(mean: number, weight: number, clamp: (x: number) => number): { marginal(c: number, r: number): { log: number; mean: number } } {
  const a = mean * weight;
  const b = (1 - mean) * weight;
  if (!(a > 0 && b > 0)) {
    const p = clamp(mean);
    const lp = Math.log(p);
    const lq = Math.log1p(-p);
    return { marginal: (c, r) => ({ log: (c > 0 ? c * lp : 0) + (r - c > 0 ? (r - c) * lq : 0), mean: p }) };
  }
  const base = logBeta(a, b);
  return { marginal: (c, r) => ({ log: logBeta(a + c, b + r - c) - base, mean: (a + c) / (a + b + r) }) };
}

function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** log Γ(x) for x > 0 (Lanczos, g = 7). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let s = LANCZOS[0]!;
  for (let i = 1; i < 9; i++) s += LANCZOS[i]! / (y + i);
  const t = y + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(s);
}

/** The first index of sorted `a` whose value is not below `x`. */
function lowerBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function hasSorted(a: readonly number[], x: number): boolean {
  const i = lowerBound(a, x);
  return i < a.length && a[i] === x;
}

function insertSorted(a: number[], x: number): void {
  a.splice(lowerBound(a, x), 0, x);
}
