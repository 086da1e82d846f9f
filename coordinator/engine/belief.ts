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
 */
import type { DagIndex } from './dag.js';
import type { EngineOptions } from './options.js';

interface Klass {
  /** Sorted keys of the tested commits this class's candidates are ancestors-or-self of. */
  sig: number[];
  prior: number;
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
  ) {
    this.runs = new Float64Array(index.n + goods);
    this.crashes = new Float64Array(index.n + goods);
    this.classOf = new Int32Array(index.n);
    let total = 0;
    for (let i = 0; i < index.n; i++) total += prior[i]!;
    this.classes = [{ sig: [], prior: total }];
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
        classes.push({ sig, prior: 0 });
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
        next.push({ sig: classes[c]!.sig, prior: 0 });
      }
      classOf[v] = k;
      next[k]!.prior += this.prior[v]!;
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
    for (let i = 0; i < nT; i++) {
      R[i] = this.runs[T[i]!]!;
      C[i] = this.crashes[T[i]!]!;
      rTot += R[i]!;
      cTot += C[i]!;
      pos.set(T[i]!, i);
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
    const logL = new Float64Array(nc);
    const qOf = new Float64Array(nc);
    const eOf = new Float64Array(nc);
    let maxCand = -Infinity;
    for (let h = 0; h < nc; h++) {
      let cIn = 0;
      let rIn = 0;
      for (const key of this.classes[h]!.sig) {
        const t = pos.get(key)!;
        cIn += C[t]!;
        rIn += R[t]!;
      }
      const ev = evaluate(cIn, rIn);
      logL[h] = ev.l;
      qOf[h] = ev.q;
      eOf[h] = ev.eps;
      if (this.classes[h]!.prior > 0 && ev.l > maxCand) maxCand = ev.l;
    }
    const half = this.nirPrior / 2;
    const old = evaluate(cTot, rTot);
    const absent = evaluate(0, 0);
    let max = maxCand;
    if (half > 0) max = Math.max(max, old.l, absent.l);
    const post = new Float64Array(nc);
    let z = 0;
    for (let h = 0; h < nc; h++) {
      const p = this.classes[h]!.prior;
      post[h] = p > 0 ? p * Math.exp(logL[h]! - max) : 0;
      z += post[h]!;
    }
    let nirOld = half > 0 ? half * Math.exp(old.l - max) : 0;
    let nirAbsent = half > 0 ? half * Math.exp(absent.l - max) : 0;
    z += nirOld + nirAbsent;
    let q = 0;
    let eps = 0;
    for (let h = 0; h < nc; h++) {
      post[h]! /= z;
      q += post[h]! * qOf[h]!;
      eps += post[h]! * eOf[h]!;
    }
    nirOld /= z;
    nirAbsent /= z;
    q += nirOld * old.q + nirAbsent * absent.q;
    eps += nirOld * old.eps + nirAbsent * absent.eps;
    const classRelLog = new Float64Array(nc);
    for (let h = 0; h < nc; h++) classRelLog[h] = logL[h]! - maxCand;
    this.cached = { q, eps: Math.min(eps, q / 2), classPost: post, classRelLog, nirOld, nirAbsent };
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

function insertSorted(a: number[], x: number): void {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  a.splice(lo, 0, x);
}
