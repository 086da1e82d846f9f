import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DagIndex } from '../../../coordinator/engine/dag.js';
import { ProbePartitioner } from '../../../coordinator/engine/partition.js';
import { partitionBy } from '../../../coordinator/engine/planner.js';
import { prng } from '../../../coordinator/engine/prng.js';
import { randomDag } from './random-dag.js';

describe('ProbePartitioner', () => {
  // Rows: a DAG and a sequence of in-flight sets as a busy job goes through them (a probe in, a
  // verdict takes one out, a good commit probed, many at once); each must give partitionBy's
  // partition, class numbers included (the sweep's sums run in class order).
  const rows = [
    { name: 'chain-like', n: 60, seed: 1, mergeRate: 0.05 },
    { name: 'merge-heavy', n: 120, seed: 2, mergeRate: 0.4 },
    { name: 'several roots', n: 80, seed: 3, mergeRate: 0.3, roots: 4 },
    { name: 'tiny', n: 3, seed: 4, mergeRate: 0 },
  ];
  for (const row of rows) {
    it(`matches partitionBy step by step: ${row.name}`, () => {
      const dag = randomDag(row.n, row.seed, { mergeRate: row.mergeRate, ...(row.roots ? { roots: row.roots } : {}) });
      const index = DagIndex.build(dag);
      const maskOf = (k: number) => index.ancestorMask(k);
      const partitioner = new ProbePartitioner(index, maskOf);
      const rand = prng(row.seed * 7 + 1);
      const goodKey = index.n; // the first good commit
      let probes = new Set<number>();
      for (let step = 0; step < 200; step++) {
        const r = rand();
        if (r < 0.45 || probes.size === 0) probes.add(rand() < 0.05 ? goodKey : Math.floor(rand() * index.n));
        else if (r < 0.9) probes.delete([...probes][Math.floor(rand() * probes.size)]!);
        else probes = new Set(Array.from({ length: 1 + Math.floor(rand() * 12) }, () => Math.floor(rand() * index.n)));
        const keys = [...probes].sort((a, b) => a - b);
        const got = partitioner.partition(keys);
        const want = partitionBy(index, keys, maskOf);
        assert.equal(got.classes, want.classes, `step ${step}: ${keys.join(',')}`);
        assert.deepEqual(Array.from(got.part), Array.from(want.part), `step ${step}: ${keys.join(',')}`);
      }
    });
  }

  it('hands more probes than a signature holds to partitionBy', () => {
    const dag = randomDag(200, 5);
    const index = DagIndex.build(dag);
    const maskOf = (k: number) => index.ancestorMask(k);
    const partitioner = new ProbePartitioner(index, maskOf);
    const many = Array.from({ length: 40 }, (_, i) => i * 5);
    assert.deepEqual(Array.from(partitioner.partition(many).part), Array.from(partitionBy(index, many, maskOf).part));
    const few = many.slice(0, 20);
    assert.deepEqual(Array.from(partitioner.partition(few).part), Array.from(partitionBy(index, few, maskOf).part));
  });
});
