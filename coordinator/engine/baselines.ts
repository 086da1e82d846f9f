/**
 * The classic one-commit-at-a-time bisection, as git bisect does it: the candidates consistent
 * with the verdicts; test the commit whose ancestors among them are closest to half
 * (max min(w, N - w)); "good" removes anc(x), "bad" keeps only anc(x), "skip" avoids x. It ends
 * with one candidate, or "only skipped commits left". Used by the syzkaller baseline and by the
 * tests that hold the engine to git bisect's counts.
 */
import type { DagIndex } from './dag.js';

export type ClassicResult = { kind: 'culprit'; id: number } | { kind: 'inconclusive'; ids: number[] };

export class ClassicBisect {
  readonly alive: Uint8Array;
  private aliveCount: number;
  private readonly skipped: Uint8Array;
  private readonly ind: Float64Array;
  private readonly weights: Float64Array;

  constructor(private readonly index: DagIndex) {
    this.alive = new Uint8Array(index.n).fill(1);
    this.aliveCount = index.n;
    this.skipped = new Uint8Array(index.n);
    this.ind = new Float64Array(index.n).fill(1);
    this.weights = new Float64Array(index.n);
  }

  /** The next commit to test, or undefined when done (see result()). */
  next(): number | undefined {
    const N = this.aliveCount;
    if (N <= 1) return undefined;
    const w = this.index.ancestorSums(this.ind, this.weights);
    let best = -1;
    let bestScore = 0;
    for (let x = this.index.n - 1; x >= 0; x--) {
      if (!this.alive[x] || this.skipped[x]) continue;
      const s = Math.min(w[x]!, N - w[x]!);
      if (s > bestScore) {
        best = x;
        bestScore = s;
      }
    }
    return best < 0 ? undefined : best;
  }

  mark(x: number, verdict: 'good' | 'bad' | 'skip'): void {
    if (verdict === 'skip') {
      this.skipped[x] = 1;
      return;
    }
    const inAnc = this.index.ancestorMask(x);
    for (let v = 0; v < this.index.n; v++) {
      const keep = verdict === 'good' ? !inAnc[v] : inAnc[v] === 1;
      if (this.alive[v] && !keep) {
        this.alive[v] = 0;
        this.ind[v] = 0;
        this.aliveCount--;
      }
    }
  }

  result(): ClassicResult | undefined {
    if (this.next() !== undefined) return undefined;
    const ids: number[] = [];
    for (let v = 0; v < this.index.n; v++) if (this.alive[v]) ids.push(v);
    if (ids.length === 1) return { kind: 'culprit', id: ids[0]! };
    return { kind: 'inconclusive', ids };
  }
}
