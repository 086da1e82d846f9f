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
 * q and eps are re-estimated on every update from the fixed starting point (the options), by
 * classification EM: the runs as the most likely hypothesis explains them, plus Beta
 * pseudo-counts that keep one unlucky probe from swinging the estimates.
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
    for (let i = 0; i < nT; i++) {
      R[i] = this.runs[T[i]!]!;
      C[i] = this.crashes[T[i]!]!;
      pos.set(T[i]!, i);
    }
    const sigIdx = this.classes.map((k) => Int32Array.from(k.sig, (key) => pos.get(key)!));
    const cause = opts.mode === 'cause';
    const aq = opts.repro * opts.reproWeight;
    const bq = (1 - opts.repro) * opts.reproWeight;
    const ae = opts.falseCrash * opts.falseCrashWeight;
    const be = (1 - opts.falseCrash) * opts.falseCrashWeight;
    let q = clampQ(opts.repro);
    let eps = clampEps(opts.falseCrash, q);
    const nc = this.classes.length;
    const logL = new Float64Array(nc);
    const post = new Float64Array(nc);
    let nirOld = 0;
    let nirAbsent = 0;
    let maxCand = -Infinity;
    const half = this.nirPrior / 2;
    const eStep = (): void => {
      const lq1 = Math.log(q);
      const lq0 = Math.log1p(-q);
      const le1 = Math.log(eps);
      const le0 = Math.log1p(-eps);
      let base = 0;
      const d = new Float64Array(nT);
      let all = 0;
      for (let t = 0; t < nT; t++) {
        const lq = C[t]! * lq1 + (R[t]! - C[t]!) * lq0;
        const le = C[t]! * le1 + (R[t]! - C[t]!) * le0;
        const lin = cause ? lq : le;
        const lout = cause ? le : lq;
        base += lout;
        d[t] = lin - lout;
        all += d[t]!;
      }
      let max = -Infinity;
      maxCand = -Infinity;
      for (let h = 0; h < nc; h++) {
        let l = base;
        for (const t of sigIdx[h]!) l += d[t]!;
        logL[h] = l;
        if (this.classes[h]!.prior > 0 && l > maxCand) maxCand = l;
      }
      max = maxCand;
      const lOld = base + all;
      const lAbsent = base;
      if (half > 0) max = Math.max(max, lOld, lAbsent);
      let z = 0;
      for (let h = 0; h < nc; h++) {
        const p = this.classes[h]!.prior;
        post[h] = p > 0 ? p * Math.exp(logL[h]! - max) : 0;
        z += post[h]!;
      }
      nirOld = half > 0 ? half * Math.exp(lOld - max) : 0;
      nirAbsent = half > 0 ? half * Math.exp(lAbsent - max) : 0;
      z += nirOld + nirAbsent;
      for (let h = 0; h < nc; h++) post[h]! /= z;
      nirOld /= z;
      nirAbsent /= z;
    };
    // Classification EM: estimate q and eps from the runs as the most likely hypothesis
    // classifies them. Soft EM would let thousands of barely-plausible hypotheses, each
    // explaining a crash as a false one, talk eps up and then feed on it.
    let lastTop = -2;
    for (let iter = 0; iter < 30; iter++) {
      eStep();
      let topH = -1;
      let topP = Math.max(nirOld, nirAbsent);
      for (let h = 0; h < nc; h++) {
        if (post[h]! > topP) {
          topP = post[h]!;
          topH = h;
        }
      }
      const hyp = topH >= 0 ? topH : nirOld >= nirAbsent ? -1 : -2;
      const contains = new Uint8Array(nT);
      if (hyp === -1) contains.fill(1);
      else if (hyp >= 0) for (const t of sigIdx[hyp]!) contains[t] = 1;
      let nq = aq;
      let dq = aq + bq;
      let ne = ae;
      let de = ae + be;
      for (let t = 0; t < nT; t++) {
        if ((contains[t] === 1) === cause) {
          nq += C[t]!;
          dq += R[t]!;
        } else {
          ne += C[t]!;
          de += R[t]!;
        }
      }
      const q2 = clampQ(dq > 0 ? nq / dq : opts.repro);
      const e2 = clampEps(de > 0 ? ne / de : opts.falseCrash, q2);
      const moved = Math.abs(q2 - q) + Math.abs(e2 - eps);
      q = q2;
      eps = e2;
      if (moved < 1e-12 && hyp === lastTop) break;
      lastTop = hyp;
    }
    eStep();
    const classRelLog = new Float64Array(nc);
    for (let h = 0; h < nc; h++) classRelLog[h] = logL[h]! - maxCand;
    this.cached = { q, eps, classPost: post, classRelLog, nirOld, nirAbsent };
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
