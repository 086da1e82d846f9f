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
    // More probes than one signature word holds (a job given 50 slots of a big farm).
    { name: 'many in flight, chain-like', n: 300, seed: 6, mergeRate: 0.05, grow: 0.7 },
    { name: 'many in flight, merge-heavy', n: 400, seed: 7, mergeRate: 0.4, grow: 0.75 },
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
      let most = 0;
      for (let step = 0; step < 200; step++) {
        const r = rand();
        if (r < (row.grow ?? 0.45) || probes.size === 0) probes.add(rand() < 0.05 ? goodKey : Math.floor(rand() * index.n));
        else if (r < (row.grow ? 0.93 : 0.9)) probes.delete([...probes][Math.floor(rand() * probes.size)]!);
        else probes = new Set(Array.from({ length: 1 + Math.floor(rand() * (row.grow ? 70 : 12)) }, () => Math.floor(rand() * index.n)));
        const keys = [...probes].sort((a, b) => a - b);
        most = Math.max(most, keys.length);
        const got = partitioner.partition(keys);
        const want = partitionBy(index, keys, maskOf);
        assert.equal(got.classes, want.classes, `step ${step}: ${keys.join(',')}`);
        assert.deepEqual(Array.from(got.part), Array.from(want.part), `step ${step}: ${keys.join(',')}`);
      }
      if (row.grow) assert.ok(most > 40, `the row reached ${most} probes in flight, meant to pass 32`);
    });
  }

  it('widens signatures past 32 probes and reuses freed bits', () => {
    const dag = randomDag(200, 5);
    const index = DagIndex.build(dag);
    const maskOf = (k: number) => index.ancestorMask(k);
    const partitioner = new ProbePartitioner(index, maskOf);
    const same = (keys: number[]) => assert.deepEqual(Array.from(partitioner.partition(keys).part), Array.from(partitionBy(index, keys, maskOf).part), keys.join(','));
    const many = Array.from({ length: 70 }, (_, i) => i * 2 + 1);
    same(many);
    same(many.slice(0, 20));
    same([...many.slice(0, 10), ...Array.from({ length: 60 }, (_, i) => i * 3)].sort((a, b) => a - b).filter((k, i, a) => a.indexOf(k) === i));
    same([]);
    same([199, index.n]);
  });
});
