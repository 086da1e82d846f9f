/**
 * The candidate DAG in flat typed arrays, plus the structure that makes ancestor questions cheap.
 *
 * Everything the planner asks is "how much of some mass lies in anc(x)" for every candidate x at
 * once. Summing over parents overcounts on a DAG (shared ancestors), and bitsets of ancestor sets
 * are n²/8 bytes (1.25 GB at 100,000 commits). Instead the DAG is cut into chains that follow,
 * from each commit, the parent with the longest history (on a kernel-like history: the mainline,
 * then one chain per topic branch, based on its fork point). For chain position i, "new(i)" is
 * anc(c_i) minus anc(c_{i-1}) minus anc(base): the commit itself plus what its merges bring in.
 * Then anc(c_i) is the disjoint union of anc(base) and new(1..i), so one pass over all "new" lists
 * (about 2n entries on kernel-like histories) gives exact ancestor sums for every commit.
 *
 * Building the lists needs "is v in anc(base)?" while walking merges. Each commit records the
 * chain positions whose new-list holds it ("marks"); v is in anc(b) iff one of its marks lies on
 * b's chain at or below b, or on the chain of that chain's base at or below the base, and so on.
 */
import { InvalidJobError } from '../../shared/errors.js';
import type { CandidateDag } from './types.js';

export class DagIndex {
  readonly n: number;
  readonly bad: number;
  readonly parentStart: Int32Array;
  readonly parentList: Int32Array;
  readonly childStart: Int32Array;
  readonly childList: Int32Array;
  readonly isMerge: Uint8Array;
  /** Chain layout: positions are grouped by chain, bottom (oldest) first. */
  readonly posNode: Int32Array;
  readonly nodePos: Int32Array;
  readonly posChain: Int32Array;
  readonly chainStart: Int32Array;
  /** Base node of each chain (the commit it grows from), or -1. */
  readonly chainBase: Int32Array;
  readonly numChains: number;
  /** new(pos) = markNode[markStart[pos] .. markStart[pos+1]). */
  readonly markStart: Int32Array;
  readonly markNode: Int32Array;
  /** For commits some chain grows from: an index into per-sweep snapshot storage; else -1. */
  readonly baseSlot: Int32Array;
  readonly numSlots: number;

  private readonly stampArr: Int32Array;
  private stampGen = 0;
  private readonly stack: Int32Array;

  private constructor(dag: CandidateDag) {
    const n = dag.hashes.length;
    this.n = n;
    this.bad = dag.bad;
    // Parents in CSR form.
    let edges = 0;
    for (let i = 0; i < n; i++) edges += dag.parents[i]!.length;
    this.parentStart = new Int32Array(n + 1);
    this.parentList = new Int32Array(edges);
    const childCount = new Int32Array(n);
    let e = 0;
    for (let i = 0; i < n; i++) {
      this.parentStart[i] = e;
      for (const p of dag.parents[i]!) {
        this.parentList[e++] = p;
        childCount[p]!++;
      }
    }
    this.parentStart[n] = e;
    this.childStart = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) this.childStart[i + 1] = this.childStart[i]! + childCount[i]!;
    this.childList = new Int32Array(edges);
    const fill = this.childStart.slice(0, n);
    for (let i = 0; i < n; i++) {
      for (let k = this.parentStart[i]!; k < this.parentStart[i + 1]!; k++) this.childList[fill[this.parentList[k]!]!++] = i;
    }
    this.isMerge = new Uint8Array(n);
    for (let i = 0; i < n; i++) if ((dag.parentCount[i] ?? 0) > 1) this.isMerge[i] = 1;
    this.stampArr = new Int32Array(n);
    this.stack = new Int32Array(Math.max(n, 1));

    // Chain parent: the parent with the longest path to a root, so that the chain's base
    // already covers most of a commit's history (a topic that merged the mainline back follows
    // the mainline).
    const gen = new Int32Array(n);
    const chainParent = new Int32Array(n).fill(-1);
    for (let i = 0; i < n; i++) {
      let best = -1;
      let g = 0;
      for (let k = this.parentStart[i]!; k < this.parentStart[i + 1]!; k++) {
        const p = this.parentList[k]!;
        if (best < 0 || gen[p]! > g) {
          best = p;
          g = gen[p]!;
        }
      }
      chainParent[i] = best;
      gen[i] = best < 0 ? 1 : g + 1;
    }
    // Chains, newest first: each takes unassigned commits down its chain parents.
    this.posNode = new Int32Array(n);
    this.nodePos = new Int32Array(n).fill(-1);
    this.posChain = new Int32Array(n);
    const starts: number[] = [];
    const bases: number[] = [];
    let pos = 0;
    const tmp: number[] = [];
    for (let top = n - 1; top >= 0; top--) {
      if (this.nodePos[top]! >= 0) continue;
      tmp.length = 0;
      let y = top;
      while (y >= 0 && this.nodePos[y]! < 0) {
        tmp.push(y);
        this.nodePos[y] = 0; // claimed; real position below
        y = chainParent[y]!;
      }
      const c = starts.length;
      starts.push(pos);
      bases.push(y);
      for (let k = tmp.length - 1; k >= 0; k--) {
        const node = tmp[k]!;
        this.posNode[pos] = node;
        this.nodePos[node] = pos;
        this.posChain[pos] = c;
        pos++;
      }
    }
    this.numChains = starts.length;
    this.chainStart = Int32Array.from([...starts, n]);
    this.chainBase = Int32Array.from(bases);

    // new() lists and marks.
    let cap = Math.max(16, 2 * n + 16);
    let markNode = new Int32Array(cap);
    let markPos = new Int32Array(cap);
    let markNext = new Int32Array(cap);
    const head = new Int32Array(n).fill(-1);
    let m = 0;
    this.markStart = new Int32Array(n + 1);
    const inChain = new Int32Array(n).fill(-1);
    const boundOf = new Int32Array(this.numChains).fill(-1);
    const stack = this.stack;
    const posChain = this.posChain;
    const inAncBase = (u: number): boolean => {
      for (let k = head[u]!; k >= 0; k = markNext[k]!) {
        const pp = markPos[k]!;
        if (boundOf[posChain[pp]!]! >= pp) return true;
      }
      return false;
    };
    const addMark = (u: number, p: number): void => {
      if (m === cap) {
        cap *= 2;
        const grow = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
          const b = new Int32Array(cap);
          b.set(a);
          return b;
        };
        markNode = grow(markNode);
        markPos = grow(markPos);
        markNext = grow(markNext);
      }
      markNode[m] = u;
      markPos[m] = p;
      markNext[m] = head[u]!;
      head[u] = m;
      m++;
    };
    for (let c = 0; c < this.numChains; c++) {
      for (let b = this.chainBase[c]!; b >= 0; b = this.chainBase[posChain[this.nodePos[b]!]!]!) {
        boundOf[posChain[this.nodePos[b]!]!] = this.nodePos[b]!;
      }
      for (let p = this.chainStart[c]!; p < this.chainStart[c + 1]!; p++) {
        this.markStart[p] = m;
        const x = this.posNode[p]!;
        inChain[x] = c;
        addMark(x, p);
        let sp = 0;
        for (let k = this.parentStart[x]!; k < this.parentStart[x + 1]!; k++) stack[sp++] = this.parentList[k]!;
        while (sp > 0) {
          const u = stack[--sp]!;
          if (inChain[u] === c) continue;
          // Seen in this chain either way; only commits outside anc(base) are new here.
          inChain[u] = c;
          if (inAncBase(u)) continue;
          addMark(u, p);
          for (let k = this.parentStart[u]!; k < this.parentStart[u + 1]!; k++) {
            const v = this.parentList[k]!;
            if (inChain[v] !== c) stack[sp++] = v;
          }
        }
      }
      for (let b = this.chainBase[c]!; b >= 0; b = this.chainBase[posChain[this.nodePos[b]!]!]!) {
        boundOf[posChain[this.nodePos[b]!]!] = -1;
      }
    }
    this.markStart[n] = m;
    this.markNode = markNode.slice(0, m);
    this.baseSlot = new Int32Array(n).fill(-1);
    let slots = 0;
    for (let c = 0; c < this.numChains; c++) {
      const b = this.chainBase[c]!;
      if (b >= 0 && this.baseSlot[b]! < 0) this.baseSlot[b] = slots++;
    }
    this.numSlots = slots;
  }

  /** Validate a CandidateDag and index it. Throws InvalidJobError naming the field. */
  static build(dag: CandidateDag): DagIndex {
    validateDag(dag);
    return new DagIndex(dag);
  }

  /** Total entries of the new() lists (about 2n on kernel-like histories): the cost of one sweep. */
  get sweepSize(): number {
    return this.markNode.length;
  }

  /**
   * Exact ancestor-or-self sums: out[x] = sum of w[v] over v in anc(x), for every candidate, in
   * one pass. Chains are laid out so that a base is always computed before its chains.
   */
  ancestorSums(w: ArrayLike<number>, out: Float64Array = new Float64Array(this.n)): Float64Array {
    const { posNode, markStart, markNode, chainStart, chainBase } = this;
    for (let c = 0; c < this.numChains; c++) {
      const b = chainBase[c]!;
      let acc = b >= 0 ? out[b]! : 0;
      for (let p = chainStart[c]!; p < chainStart[c + 1]!; p++) {
        for (let k = markStart[p]!; k < markStart[p + 1]!; k++) acc += w[markNode[k]!]!;
        out[posNode[p]!] = acc;
      }
    }
    return out;
  }

  /** Call `visit` on every ancestor-or-self of x (each once). */
  forEachAncestor(x: number, visit: (v: number) => void): void {
    this.walk(x, visit, this.parentStart, this.parentList);
  }

  /** Call `visit` on every descendant-or-self of x (each once). */
  forEachDescendant(x: number, visit: (v: number) => void): void {
    this.walk(x, visit, this.childStart, this.childList);
  }

  /**
   * Stamp anc(x): afterwards `stamp[v] === gen` iff v is an ancestor-or-self of x. The array is
   * shared and valid until the next walk; no allocation (this is on hot paths).
   */
  stampAncestors(x: number): { stamp: Int32Array; gen: number } {
    const gen = this.nextStamp();
    const stamp = this.stampArr;
    this.forEachAncestorMark(x, (from, to) => {
      const markNode = this.markNode;
      for (let k = from; k < to; k++) stamp[markNode[k]!] = gen;
    });
    return { stamp, gen };
  }

  /**
   * anc(x) as ranges of markNode: the disjoint union of new(p) over x's chain up to x, then over
   * its base's chain up to the base, and so on. Each ancestor once, in memory order (a walk over
   * the parents visits every edge, scattered).
   */
  private forEachAncestorMark(x: number, range: (from: number, to: number) => void): void {
    const { nodePos, posChain, chainStart, chainBase, markStart } = this;
    let node = x;
    while (node >= 0) {
      const p = nodePos[node]!;
      const c = posChain[p]!;
      range(markStart[chainStart[c]!]!, markStart[p + 1]!);
      node = chainBase[c]!;
    }
  }

  /** Mark anc(x) (value 1) in `out`, which is cleared first. */
  ancestorMask(x: number, out: Uint8Array = new Uint8Array(this.n)): Uint8Array {
    out.fill(0);
    this.forEachAncestorMark(x, (from, to) => {
      const markNode = this.markNode;
      for (let k = from; k < to; k++) out[markNode[k]!] = 1;
    });
    return out;
  }

  private walk(x: number, visit: (v: number) => void, start: Int32Array, list: Int32Array): void {
    const gen = this.nextStamp();
    const stamp = this.stampArr;
    const stack = this.stack;
    let sp = 0;
    stack[sp++] = x;
    stamp[x] = gen;
    while (sp > 0) {
      const u = stack[--sp]!;
      visit(u);
      for (let k = start[u]!; k < start[u + 1]!; k++) {
        const v = list[k]!;
        if (stamp[v] !== gen) {
          stamp[v] = gen;
          stack[sp++] = v;
        }
      }
    }
  }

  private nextStamp(): number {
    if (this.stampGen === 0x7fffffff) {
      this.stampArr.fill(0);
      this.stampGen = 0;
    }
    return ++this.stampGen;
  }
}

function fail(field: string, problem: string): never {
  throw new InvalidJobError(`dag.${field}`, problem, { hint: 'build the candidate DAG with loadCandidateDag (coordinator/dag-loader.ts)' });
}

export function validateDag(dag: CandidateDag): void {
  const n = dag.hashes?.length ?? 0;
  if (n === 0) throw new InvalidJobError('dag.hashes', 'the range has no candidate commits', { hint: 'is bad an ancestor of (or equal to) a good commit?' });
  if (!Array.isArray(dag.parents) || dag.parents.length !== n) fail('parents', `must have one entry per candidate (${n}), got ${dag.parents?.length}`);
  if (!Array.isArray(dag.parentCount) || dag.parentCount.length !== n) fail('parentCount', `must have one entry per candidate (${n}), got ${dag.parentCount?.length}`);
  if (dag.subjects !== undefined && dag.subjects.length !== n) fail('subjects', `must have one entry per candidate (${n}), got ${dag.subjects.length}`);
  if (dag.weights !== undefined) {
    if (dag.weights.length !== n) fail('weights', `must have one entry per candidate (${n}), got ${dag.weights.length}`);
    for (const w of dag.weights) if (!Number.isFinite(w) || w < 0) fail('weights', `must be finite numbers >= 0, got ${w}`);
  }
  const seen = new Set<string>();
  for (const h of dag.hashes) {
    if (typeof h !== 'string' || h === '') fail('hashes', 'must be non-empty strings');
    if (seen.has(h)) fail('hashes', `${h} appears twice`);
    seen.add(h);
  }
  for (const g of dag.goods ?? []) if (seen.has(g)) fail('goods', `${g} is a good commit and a candidate at once`);
  for (let i = 0; i < n; i++) {
    const ps = dag.parents[i]!;
    if (!Array.isArray(ps)) fail('parents', `entry ${i} is not an array`);
    for (let k = 0; k < ps.length; k++) {
      const p = ps[k]!;
      if (!Number.isInteger(p) || p < 0 || p >= i) fail('parents', `candidate ${i} (${dag.hashes[i]}) has parent ${p}: ids must be in topological order, parents first`);
      for (let j = 0; j < k; j++) if (ps[j] === p) fail('parents', `candidate ${i} lists parent ${p} twice`);
    }
    const pc = dag.parentCount[i]!;
    if (!Number.isInteger(pc) || pc < ps.length) fail('parentCount', `candidate ${i} has ${ps.length} candidate parents but parentCount ${pc}`);
  }
  if (!Number.isInteger(dag.bad) || dag.bad < 0 || dag.bad >= n) fail('bad', `must be a candidate id (0..${n - 1}), got ${dag.bad}`);
  // Every candidate must be an ancestor-or-self of bad: walk down from bad.
  const reached = new Uint8Array(n);
  const stack = [dag.bad];
  reached[dag.bad] = 1;
  let count = 1;
  while (stack.length > 0) {
    const u = stack.pop()!;
    for (const p of dag.parents[u]!) {
      if (!reached[p]) {
        reached[p] = 1;
        count++;
        stack.push(p);
      }
    }
  }
  if (count !== n) {
    const stray = reached.indexOf(0);
    fail('bad', `candidate ${dag.hashes[stray]} is not an ancestor of the bad commit ${dag.hashes[dag.bad]}`);
  }
}
