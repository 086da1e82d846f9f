/**
 * Choosing probes. The probes in flight split the hypotheses into classes (by which of the
 * in-flight commits each is an ancestor of); when they report, the belief will know the class.
 * A new probe x adds, within each class c, the information of splitting it along anc(x):
 * M_c * value(a_c(x) / M_c), where a_c(x) is the mass of c inside anc(x). With clean verdicts
 * this is the entropy of the joint partition, so k probes on a chain land on the i/(k+1)
 * quantiles and one probe on git bisect's halving point.
 *
 * a_c(x) for every x and every class comes from one pass over the chain structure (see dag.ts):
 * a running vector per class, copied when descending into a chain that grows from the current
 * commit, so the cost is the size of the new() lists plus (chains x classes).
 */
import type { DagIndex } from './dag.js';

export interface Partition {
  /** Class of each candidate; [n] is NIR-old, [n+1] NIR-absent. */
  part: Int32Array;
  classes: number;
}

/**
 * Partition candidates (and the two not-in-range hypotheses) by which in-flight probes they are
 * ancestors of. `probes` are keys: candidate ids, or >= n for good commits (whose ancestors hold
 * no candidate, only NIR-old). Classes are numbered canonically.
 */
export function partitionBy(index: DagIndex, probes: readonly number[], maskOf: (f: number) => Uint8Array, start?: Partition): Partition {
  const n = index.n;
  const part = start ? start.part.slice() : new Int32Array(n + 2);
  let classes = start ? start.classes : 1;
  for (const f of probes) {
    const remap = new Int32Array(classes * 2).fill(-1);
    let next = 0;
    // Goods have no candidate ancestors: only NIR-old ("everything contains it") is inside.
    if (f < n) {
      const mask = maskOf(f);
      for (let v = 0; v < n; v++) {
        const key = part[v]! * 2 + mask[v]!;
        let c = remap[key]!;
        if (c < 0) c = remap[key] = next++;
        part[v] = c;
      }
    } else {
      for (let v = 0; v < n; v++) {
        const key = part[v]! * 2;
        let c = remap[key]!;
        if (c < 0) c = remap[key] = next++;
        part[v] = c;
      }
    }
    for (let v = n; v < n + 2; v++) {
      const key = part[v]! * 2 + (v === n ? 1 : 0);
      let c = remap[key]!;
      if (c < 0) c = remap[key] = next++;
      part[v] = c;
    }
    classes = next;
  }
  // Canonical numbering (by first member), so the result does not depend on the order in which
  // the probes were applied, and neither do the floating-point sums over classes.
  const order = new Int32Array(classes).fill(-1);
  let next = 0;
  for (let v = 0; v < n + 2; v++) {
    const c = part[v]!;
    let k = order[c]!;
    if (k < 0) k = order[c] = next++;
    part[v] = k;
  }
  return { part, classes };
}

export interface SweepResult {
  /** Information (bits) of adding a probe of each candidate to the in-flight ones. */
  gains: Float64Array;
  /** Mass of anc(x), NIR-old included: P(x contains the culprit). */
  anc: Float64Array;
  /** Class totals. */
  total: Float64Array;
}

/**
 * The value function in a form the hot loop can inline: a table over [0, 1] (noisy verdicts),
 * or none for the exact binary entropy (clean verdicts).
 */
export interface ValueTable {
  table: Float64Array | undefined;
}

const LN2 = Math.LN2;

/** Buffers reused across sweeps (a sweep over 100,000 commits would otherwise churn the GC). */
export class SweepWorkspace {
  gains: Float64Array;
  anc: Float64Array;
  private vec = new Float64Array(0);
  private g = new Float64Array(0);
  private lvG = new Float64Array(0);
  private lvA = new Float64Array(0);
  /** Chains growing from each commit (CSR), from the index. */
  private readonly childStart: Int32Array;
  private readonly childList: Int32Array;

  constructor(private readonly index: DagIndex) {
    const n = index.n;
    this.gains = new Float64Array(n);
    this.anc = new Float64Array(n);
    const { chainBase, numChains } = index;
    const childStart = new Int32Array(n + 1);
    for (let c = 0; c < numChains; c++) if (chainBase[c]! >= 0) childStart[chainBase[c]! + 1]!++;
    for (let i = 0; i < n; i++) childStart[i + 1]! += childStart[i]!;
    const childList = new Int32Array(numChains);
    const fill = childStart.slice(0, n);
    for (let c = 0; c < numChains; c++) if (chainBase[c]! >= 0) childList[fill[chainBase[c]!]!++] = c;
    this.childStart = childStart;
    this.childList = childList;
  }

  private ensureLevels(levels: number, P: number): void {
    if (this.vec.length < levels * P) {
      const size = Math.max(levels * P, this.vec.length * 2);
      const grow = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
        const b = new Float64Array(size);
        b.set(a);
        return b;
      };
      this.vec = grow(this.vec);
      this.g = grow(this.g);
    }
    if (this.lvG.length < levels) {
      const size = Math.max(levels, this.lvG.length * 2);
      const a = new Float64Array(size);
      a.set(this.lvG);
      this.lvG = a;
      const b = new Float64Array(size);
      b.set(this.lvA);
      this.lvA = b;
    }
  }

  sweep(w: Float64Array, nirOld: number, nirAbsent: number, p: Partition, vt: ValueTable): SweepResult {
    const index = this.index;
    const n = index.n;
    const P = p.classes;
    const part = p.part;
    const total = new Float64Array(P);
    for (let v = 0; v < n; v++) total[part[v]!]! += w[v]!;
    total[part[n]!]! += nirOld;
    total[part[n + 1]!]! += nirAbsent;
    const inv = new Float64Array(P);
    for (let c = 0; c < P; c++) inv[c] = total[c]! > 0 ? 1 / total[c]! : 0;
    const table = vt.table;
    const TN = table ? table.length - 1 : 0;
    // value(a) * total, inlined below; this copy is for the few calls outside the hot loop.
    const value = (a: number): number => {
      if (a <= 0 || a >= 1) return 0;
      if (table === undefined) return -(a * Math.log(a) + (1 - a) * Math.log(1 - a)) / LN2;
      const f = a * TN;
      const i = f >= TN ? TN - 1 : Math.floor(f);
      const r = f - i;
      return table[i]! * (1 - r) + table[i + 1]! * r;
    };
    const gains = this.gains;
    const anc = this.anc;
    const { chainBase, chainStart, posNode, markStart, markNode, numChains } = index;
    const childStart = this.childStart;
    const childList = this.childList;
    this.ensureLevels(8, P);
    let vec = this.vec;
    let g = this.g;
    const frChain: number[] = [];
    const frPos: number[] = [];
    const frChild: number[] = [];
    for (let root = 0; root < numChains; root++) {
      if (chainBase[root]! >= 0) continue;
      vec.fill(0, 0, P);
      g.fill(0, 0, P);
      const c0 = part[n]!;
      vec[c0] = nirOld;
      g[c0] = total[c0]! * value(nirOld * inv[c0]!);
      this.lvG[0] = g[c0]!;
      this.lvA[0] = nirOld;
      frChain.push(root);
      frPos.push(chainStart[root]!);
      frChild.push(-1);
      while (frChain.length > 0) {
        const d = frChain.length - 1;
        const c = frChain[d]!;
        const p0 = frPos[d]!;
        if (p0 === chainStart[c + 1]!) {
          frChain.pop();
          frPos.pop();
          frChild.pop();
          continue;
        }
        const x = posNode[p0]!;
        const off = d * P;
        if (frChild[d] === -1) {
          let G = this.lvG[d]!;
          let A = this.lvA[d]!;
          const kEnd = markStart[p0 + 1]!;
          for (let k = markStart[p0]!; k < kEnd; k++) {
            const v = markNode[k]!;
            const m = w[v]!;
            if (m === 0) continue;
            const cl = part[v]!;
            const a = vec[off + cl]! + m;
            vec[off + cl] = a;
            A += m;
            const fr = a * inv[cl]!;
            let val = 0;
            if (fr > 0 && fr < 1) {
              if (table === undefined) {
                val = -(fr * Math.log(fr) + (1 - fr) * Math.log(1 - fr)) / LN2;
              } else {
                const f = fr * TN;
                const i = f >= TN ? TN - 1 : Math.floor(f);
                const r = f - i;
                val = table[i]! * (1 - r) + table[i + 1]! * r;
              }
            }
            const ng = total[cl]! * val;
            G += ng - g[off + cl]!;
            g[off + cl] = ng;
          }
          this.lvG[d] = G;
          this.lvA[d] = A;
          gains[x] = G;
          anc[x] = A;
          frChild[d] = childStart[x]!;
        }
        const k = frChild[d]!;
        if (k < childStart[x + 1]!) {
          frChild[d] = k + 1;
          const D = childList[k]!;
          this.ensureLevels(d + 2, P);
          vec = this.vec;
          g = this.g;
          // A loop, not copyWithin: P is small and a builtin call costs more than the copy.
          for (let i = off, j = off + P, e = off + P; i < e; i++, j++) {
            vec[j] = vec[i]!;
            g[j] = g[i]!;
          }
          this.lvG[d + 1] = this.lvG[d]!;
          this.lvA[d + 1] = this.lvA[d]!;
          frChain.push(D);
          frPos.push(chainStart[D]!);
          frChild.push(-1);
        } else {
          frPos[d] = p0 + 1;
          frChild[d] = -1;
        }
      }
    }
    return { gains, anc, total };
  }
}

/**
 * How likely a commit is to build, judging by skipped neighbours: each skipped commit at
 * distance d (parents and children, up to 4 steps) multiplies it by 1 - 2^-d. Clusters of
 * unbuildable commits compound, so the planner steps away from them instead of trying each
 * neighbour in turn.
 */
export function buildability(index: DagIndex, skipped: Uint8Array): Float64Array {
  const n = index.n;
  const b = new Float64Array(n).fill(1);
  const dist = new Int32Array(n).fill(-1);
  const touched: number[] = [];
  const queue: number[] = [];
  for (let s = 0; s < n; s++) {
    if (!skipped[s]) continue;
    b[s] = 0;
    queue.length = 0;
    touched.length = 0;
    queue.push(s);
    dist[s] = 0;
    touched.push(s);
    for (let qi = 0; qi < queue.length && touched.length < 4096; qi++) {
      const u = queue[qi]!;
      const du = dist[u]!;
      if (du >= 4) continue;
      const visit = (v: number): void => {
        if (dist[v]! >= 0) return;
        dist[v] = du + 1;
        touched.push(v);
        queue.push(v);
        b[v]! *= 1 - Math.pow(2, -(du + 1));
      };
      for (let k = index.parentStart[u]!; k < index.parentStart[u + 1]!; k++) visit(index.parentList[k]!);
      for (let k = index.childStart[u]!; k < index.childStart[u + 1]!; k++) visit(index.childList[k]!);
    }
    for (const v of touched) dist[v] = -1;
  }
  return b;
}
