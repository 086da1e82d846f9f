import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DagIndex } from '../../../coordinator/engine/dag.js';
import { prng } from '../../../coordinator/engine/prng.js';
import { linearDag, mergeHeavyDag } from '../../../coordinator/engine/synthetic.js';
import type { CandidateDag } from '../../../coordinator/engine/types.js';
import { InvalidJobError } from '../../../shared/errors.js';
import { ancestorSets, randomDag } from './random-dag.js';

function checkSums(dag: CandidateDag, seed: number): void {
  const index = DagIndex.build(dag);
  const sets = ancestorSets(dag);
  const rand = prng(seed);
  const w = Array.from({ length: dag.hashes.length }, () => Math.floor(rand() * 100));
  const sums = index.ancestorSums(w);
  const reused = new Uint8Array(dag.hashes.length).fill(1);
  for (let x = 0; x < dag.hashes.length; x++) {
    let expect = 0;
    for (const a of sets[x]!) expect += w[a]!;
    assert.equal(sums[x], expect, `anc sum of ${x}`);
    const seen = new Set<number>();
    index.forEachAncestor(x, (v) => seen.add(v));
    assert.deepEqual([...seen].sort((a, b) => a - b), [...sets[x]!].sort((a, b) => a - b));
    // The mask, into a reused buffer that held another commit's: exactly anc(x).
    const mask = index.ancestorMask(x, reused);
    for (let v = 0; v < dag.hashes.length; v++) assert.equal(mask[v], sets[x]!.has(v) ? 1 : 0, `mask of ${x} at ${v}`);
    const { stamp, gen } = index.stampAncestors(x);
    for (let v = 0; v < dag.hashes.length; v++) assert.equal(stamp[v] === gen, sets[x]!.has(v), `stamp of ${x} at ${v}`);
  }
}

describe('DagIndex', () => {
  it('sums over ancestor sets exactly on random DAGs', () => {
    for (let seed = 1; seed <= 60; seed++) checkSums(randomDag(5 + (seed % 40), seed, { mergeRate: (seed % 5) / 8 }), seed);
  });
  it('sums exactly on kernel-like and linear histories', () => {
    checkSums(mergeHeavyDag({ commits: 400, seed: 3 }), 3);
    checkSums(mergeHeavyDag({ commits: 300, merges: 120, seed: 4, nestRate: 0.6 }), 4);
    checkSums(linearDag(50), 5);
  });
  it('keeps the sweep near 2n on a kernel-like history', () => {
    const index = DagIndex.build(mergeHeavyDag({ commits: 20_000, seed: 9 }));
    assert.ok(index.sweepSize < 3 * index.n, `sweep ${index.sweepSize} for ${index.n}`);
  });
  it('refuses malformed DAGs, naming the field', () => {
    const good = linearDag(3);
    const bad = (d: Partial<CandidateDag>, field: string) =>
      assert.throws(() => DagIndex.build({ ...good, ...d }), (e: unknown) => e instanceof InvalidJobError && e.field === field);
    bad({ hashes: [], parents: [], parentCount: [] }, 'dag.hashes');
    bad({ parents: [[], [2], [1]] }, 'dag.parents');
    bad({ parentCount: [1, 1] }, 'dag.parentCount');
    bad({ bad: 1 }, 'dag.bad');
    bad({ hashes: ['a', 'a', 'b'] }, 'dag.hashes');
    bad({ goods: [good.hashes[0]!] }, 'dag.goods');
  });
});
