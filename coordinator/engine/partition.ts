/**
 * The in-flight partition, kept up to date instead of rebuilt. partitionBy (planner.ts) makes it
 * from scratch, one pass over the DAG per probe in flight; on a busy farm the set changes by one
 * probe at a time (a verdict takes one out, a new assignment puts one in), so this changes the
 * partition it has by the probes that came and went, one pass over the DAG for each:
 * - a probe in splits every class by "is it an ancestor-or-self of the probe";
 * - a probe out merges the classes that differ by that probe alone (each class keeps its
 *   signature, a bit per in-flight probe, so merging needs no pass over the members first).
 * Any number of probes: a job given 50 slots of a 500-slot farm has 50 in flight, and rebuilding
 * for each of its joint placements' re-scorings was a quarter of the coordinator's time.
 *
 * Each pass numbers the classes canonically (by first member, in id order), as partitionBy
 * does, so both give the same partition, class numbers included: the sweep's sums run in class
 * order.
 */
import type { DagIndex } from './dag.js';
import type { Partition } from './planner.js';

/** Probe bits per signature word (a signature is several words when more probes are in flight). */
const WORD_BITS = 32;

export class ProbePartitioner {
  /** Per hypothesis (candidates, then NIR-old at n, NIR-absent at n+1): its class, canonical. */
  private part: Int32Array;
  private classes = 1;
  /** Per class, `words` words: the bits of the probes its members are inside. */
  private sigs = new Uint32Array(1);
  private words = 1;
  private readonly bitOf = new Map<number, number>();
  /** Bits free for reuse, and the next never-used bit. */
  private readonly freeBits: number[] = [];
  private nextBit = 0;

  constructor(
    private readonly index: DagIndex,
    private readonly maskOf: (key: number) => Uint8Array,
  ) {
    this.part = new Int32Array(index.n + 2);
  }

  /** The partition by these probe keys (distinct; candidate ids, or >= n for good commits). */
  partition(probes: readonly number[]): Partition {
    const wanted = new Set(probes);
    for (const [key, bit] of [...this.bitOf]) {
      if (wanted.has(key)) continue;
      this.bitOf.delete(key);
      this.freeBits.push(bit);
      this.remove(bit);
    }
    for (const key of probes) {
      if (this.bitOf.has(key)) continue;
      const bit = this.takeBit();
      this.bitOf.set(key, bit);
      this.add(key, bit);
    }
    return { part: this.part.slice(), classes: this.classes };
  }

  private takeBit(): number {
    // The lowest free bit, so signatures stay as few words as the probes need.
    if (this.freeBits.length > 0) {
      this.freeBits.sort((a, b) => b - a);
      return this.freeBits.pop()!;
    }
    const bit = this.nextBit++;
    if (bit >= this.words * WORD_BITS) this.widen();
    return bit;
  }

  private widen(): void {
    const w = this.words;
    const wider = new Uint32Array(this.classes * (w + 1));
    for (let c = 0; c < this.classes; c++) wider.set(this.sigs.subarray(c * w, c * w + w), c * (w + 1));
    this.sigs = wider;
    this.words = w + 1;
  }

  /** A probe in: each class splits into its members inside anc(probe) and the rest. */
  private add(key: number, bit: number): void {
    const n = this.index.n;
    const part = this.part;
    const w = this.words;
    const word = bit >>> 5;
    const flag = (1 << (bit & 31)) >>> 0;
    const remap = new Int32Array(this.classes * 2).fill(-1);
    const sigs = new Uint32Array(Math.min(this.classes * 2, n + 2) * w);
    let next = 0;
    const place = (v: number, inside: number): void => {
      const k = part[v]! * 2 + inside;
      let c = remap[k]!;
      if (c < 0) {
        c = remap[k] = next++;
        const from = part[v]! * w;
        sigs.set(this.sigs.subarray(from, from + w), c * w);
        if (inside) sigs[c * w + word]! |= flag;
      }
      part[v] = c;
    };
    // A good commit has no candidate ancestors: only NIR-old ("everything contains it") is inside.
    if (key < n) {
      const mask = this.maskOf(key);
      for (let v = 0; v < n; v++) place(v, mask[v]!);
    } else {
      for (let v = 0; v < n; v++) place(v, 0);
    }
    place(n, 1);
    place(n + 1, 0);
    this.classes = next;
    this.sigs = sigs.subarray(0, next * w);
  }

  /** A probe out: classes whose signatures differ by its bit alone become one. */
  private remove(bit: number): void {
    const w = this.words;
    const word = bit >>> 5;
    const keep = ~(1 << (bit & 31)) >>> 0;
    const old = this.sigs;
    for (let c = 0; c < this.classes; c++) old[c * w + word]! &= keep;
    // Classes with equal signatures now are one; renumbered by first member in the pass below.
    const groupOf = new Int32Array(this.classes);
    const groups = new Map<string, number>();
    const firstOf: number[] = [];
    for (let c = 0; c < this.classes; c++) {
      const s = w === 1 ? String(old[c]) : old.subarray(c * w, c * w + w).join(',');
      let g = groups.get(s);
      if (g === undefined) {
        groups.set(s, (g = firstOf.length));
        firstOf.push(c);
      }
      groupOf[c] = g;
    }
    if (firstOf.length === this.classes) return;
    const order = new Int32Array(firstOf.length).fill(-1);
    const sigs = new Uint32Array(firstOf.length * w);
    const part = this.part;
    let next = 0;
    for (let v = 0; v < part.length; v++) {
      const g = groupOf[part[v]!]!;
      let c = order[g]!;
      if (c < 0) {
        c = order[g] = next++;
        const from = firstOf[g]! * w;
        sigs.set(old.subarray(from, from + w), c * w);
      }
      part[v] = c;
    }
    this.classes = next;
    this.sigs = sigs;
  }
}
