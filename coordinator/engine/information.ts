/**
 * How much a probe tells. A probe of commit x with r runs is a noisy channel from "does x contain
 * the culprit" (probability a under the belief) to the number of crashes: Binomial(r, q) when x is
 * affected, Binomial(r, eps) when not. Its value is the mutual information in bits. With clean
 * verdicts (q = 1, eps = 0) this is the binary entropy h(a), which git bisect maximises by taking
 * min(w, N - w).
 */

const LOG2E = Math.LOG2E;

/** h(p) in bits. */
export function binaryEntropy(p: number): number {
  if (p <= 0 || p >= 1) return 0;
  return -(p * Math.log(p) + (1 - p) * Math.log(1 - p)) * LOG2E;
}

const logFact: number[] = [0];
function logFactorial(k: number): number {
  for (let i = logFact.length; i <= k; i++) logFact.push(logFact[i - 1]! + Math.log(i));
  return logFact[k]!;
}

/** Binomial(r, p) probabilities. */
export function binomialPmf(r: number, p: number): Float64Array {
  const out = new Float64Array(r + 1);
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  for (let c = 0; c <= r; c++) {
    const l = logFactorial(r) - logFactorial(c) - logFactorial(r - c) + (c === 0 ? 0 : c * lp) + (r - c === 0 ? 0 : (r - c) * lq);
    out[c] = Math.exp(l);
  }
  return out;
}

function entropyOf(pmf: Float64Array): number {
  let h = 0;
  for (const v of pmf) if (v > 0) h -= v * Math.log(v);
  return h * LOG2E;
}

/** Mutual information (bits) of one probe with `r` runs, affected with probability pa. */
export function probeInformation(pa: number, r: number, q: number, eps: number): number {
  return mixtureInformation(pa, binomialPmf(r, q), binomialPmf(r, eps));
}

/** `hAffected`, `hClean`: the entropies of the two pmfs, when the caller has them (a table's 4,097 calls share them). */
function mixtureInformation(pa: number, affected: Float64Array, clean: Float64Array, hAffected = entropyOf(affected), hClean = entropyOf(clean)): number {
  if (pa <= 0 || pa >= 1) return 0;
  let hMix = 0;
  for (let c = 0; c < affected.length; c++) {
    const v = pa * affected[c]! + (1 - pa) * clean[c]!;
    if (v > 0) hMix -= v * Math.log(v);
  }
  return Math.max(0, hMix * LOG2E - pa * hAffected - (1 - pa) * hClean);
}

const TABLE = 4096;

/**
 * The value of a probe as a function of a = P(the probed commit contains the culprit), for the
 * current q, eps and runs per probe. Noisy values come from a table (the function is smooth
 * there); clean ones use h(a) exactly, because near-ties between adjacent commits matter for
 * exact halving.
 */
export class ProbeValue {
  readonly clean: boolean;
  readonly table: Float64Array | undefined;
  private readonly affectedPmf: Float64Array;
  private readonly cleanPmf: Float64Array;
  private readonly pmfs = new Map<number, { affected: Float64Array; clean: Float64Array; hAffected: number; hClean: number }>();

  constructor(
    readonly q: number,
    readonly eps: number,
    readonly runs: number,
    readonly mode: 'cause' | 'fix',
  ) {
    this.clean = q >= 0.999 && eps <= 0.001;
    this.affectedPmf = binomialPmf(runs, q);
    this.cleanPmf = binomialPmf(runs, eps);
    if (!this.clean) {
      const t = new Float64Array(TABLE + 1);
      const hA = entropyOf(this.affectedPmf);
      const hC = entropyOf(this.cleanPmf);
      for (let i = 0; i <= TABLE; i++) t[i] = mixtureInformation(this.affectedOf(i / TABLE), this.affectedPmf, this.cleanPmf, hA, hC);
      this.table = t;
    }
  }

  /** Probability that the probed commit is affected (crashes at rate q), given a = P(contains). */
  private affectedOf(a: number): number {
    return this.mode === 'cause' ? a : 1 - a;
  }

  /** Expected information (bits) of one probe of a commit containing the culprit with probability a. */
  value(a: number): number {
    if (a <= 0 || a >= 1) return 0;
    const t = this.table;
    if (t === undefined) return binaryEntropy(a);
    const f = a * TABLE;
    const i = Math.min(TABLE - 1, Math.floor(f));
    const w = f - i;
    return t[i]! * (1 - w) + t[i + 1]! * w;
  }

  /** Information of d probes of the same commit taken together (d * runs runs). */
  repeated(a: number, d: number): number {
    if (d <= 0 || a <= 0 || a >= 1) return 0;
    if (this.clean) return binaryEntropy(a);
    const r = d * this.runs;
    // Scoring asks this for every in-flight commit on every proposal: the pmfs are kept per r.
    let c = this.pmfs.get(r);
    if (c === undefined) {
      const affected = binomialPmf(r, this.q);
      const clean = binomialPmf(r, this.eps);
      c = { affected, clean, hAffected: entropyOf(affected), hClean: entropyOf(clean) };
      this.pmfs.set(r, c);
    }
    return mixtureInformation(this.affectedOf(a), c.affected, c.clean, c.hAffected, c.hClean);
  }
}
