/**
 * The in-flight partition, kept up to date instead of rebuilt. partitionBy (planner.ts) makes it
 * from scratch, one pass over the DAG per probe in flight; on a busy farm the set changes by one
 * probe at a time (a verdict takes one out, a new assignment puts one in), so this keeps each
 * hypothesis's signature (a bit per in-flight probe: is it an ancestor-or-self of that probe)
 * and changes one bit a probe. Classes are the distinct signatures, numbered canonically (by
 * first member) exactly as partitionBy numbers them, so both give the same partition.
 */
import type { DagIndex } from './dag.js';
import { partitionBy, type Partition } from './planner.js';

/** Signatures are 31-bit integers; more probes in flight than that go to partitionBy. */
const MAX_BITS = 31;
/** Canonical numbering looks signatures up in an array while they fit in this many bits. */
const TABLE_BITS = 16;

export class ProbePartitioner {
  /** Per hypothesis (candidates, then NIR-old at n, NIR-absent at n+1): the bits of the probes it is inside. */
  private readonly sig: Int32Array;
  private readonly bitOf = new Map<number, number>();
  private used = 0;
  private lookup = new Int32Array(0);

  constructor(
    private readonly index: DagIndex,
    private readonly maskOf: (key: number) => Uint8Array,
  ) {
    this.sig = new Int32Array(index.n + 2);
  }

  /** The partition by these probe keys (distinct; candidate ids, or >= n for good commits). */
  partition(probes: readonly number[]): Partition {
    if (probes.length > MAX_BITS) return partitionBy(this.index, probes, this.maskOf);
    const n = this.index.n;
    const sig = this.sig;
    const wanted = new Set(probes);
    let gone = 0;
    for (const [key, bit] of this.bitOf) {
      if (wanted.has(key)) continue;
      gone |= 1 << bit;
      this.bitOf.delete(key);
    }
    if (gone !== 0) {
      const keep = ~gone;
      for (let v = 0; v < n + 2; v++) sig[v]! &= keep;
      this.used &= keep;
    }
    for (const key of probes) {
      if (this.bitOf.has(key)) continue;
      let bit = 0;
      while (this.used & (1 << bit)) bit++;
      this.used |= 1 << bit;
      this.bitOf.set(key, bit);
      const b = 1 << bit;
      // A good commit has no candidate ancestors: only NIR-old ("everything contains it") is inside.
      if (key < n) {
        const mask = this.maskOf(key);
        for (let v = 0; v < n; v++) if (mask[v]) sig[v]! |= b;
      }
      sig[n]! |= b;
    }
    return this.number();
  }

  /** Canonical class numbers: by first member, in id order (as partitionBy). */
  private number(): Partition {
    const n = this.index.n;
    const sig = this.sig;
    const part = new Int32Array(n + 2);
    let next = 0;
    if (this.used < 1 << TABLE_BITS) {
      const size = 1 << (32 - Math.clz32(this.used | 1));
      if (this.lookup.length < size) this.lookup = new Int32Array(size);
      const lookup = this.lookup;
      lookup.fill(-1, 0, size);
      for (let v = 0; v < n + 2; v++) {
        const s = sig[v]!;
        let c = lookup[s]!;
        if (c < 0) c = lookup[s] = next++;
        part[v] = c;
      }
      return { part, classes: next };
    }
    const classOf = new Map<number, number>();
    for (let v = 0; v < n + 2; v++) {
      const s = sig[v]!;
      let c = classOf.get(s);
      if (c === undefined) classOf.set(s, (c = next++));
      part[v] = c;
    }
    return { part, classes: next };
  }
}
