/**
 * make-history without VMs: deterministic under a seed, merges present, the bug planted exactly in
 * the culprit and its descendants, and unbuildable commits where asked.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { git } from '../../shared/git.js';
import { labHistory } from '../helpers/lab.js';

const show = async (repo: string, rev: string, path: string) => (await git(repo, ['show', `${rev}:${path}`])).stdout;

describe('lab make-history', () => {
  it('is deterministic under --seed and has merges', async () => {
    const a = await labHistory({ kind: 'gpf', commits: 120, seed: 11 });
    const b = await labHistory({ kind: 'gpf', commits: 120, seed: 11 });
    assert.equal(a.badHash, b.badHash);
    assert.equal(a.culprit, b.culprit);
    const count = (await git(a.repo, ['rev-list', '--count', 'bad'])).stdout.trim();
    assert.equal(count, '120');
    const merges = Number((await git(a.repo, ['rev-list', '--merges', '--count', 'bad'])).stdout.trim());
    assert.ok(merges >= 3, `only ${merges} merges`);
    assert.match(await readFile(join(a.repo, 'repro.sh'), 'utf8'), /walk/);
  });

  it('plants the bug in the culprit and keeps it in later commits only', async () => {
    const h = await labHistory({ kind: 'gpf', commits: 120, seed: 12 });
    const buggy = 'lab.spare ? lab.spare->node.next';
    assert.ok(!(await show(h.repo, h.culpritParent, 'lab_main.c')).includes(buggy));
    assert.ok((await show(h.repo, h.culprit, 'lab_main.c')).includes(buggy));
    assert.ok((await show(h.repo, h.badHash, 'lab_main.c')).includes(buggy));
    assert.ok(!(await show(h.repo, h.goodHash, 'lab_main.c')).includes(buggy));
    const isAnc = await git(h.repo, ['merge-base', '--is-ancestor', h.culprit, h.badHash], { check: false });
    assert.equal(isAnc.code, 0);
  });

  it('makes K commits just before the culprit unbuildable, fixed by the culprit', async () => {
    const h = await labHistory({ kind: 'flaky', commits: 100, seed: 13, unbuildable: 3, unbuildableAt: 'before', probability: 0.25 });
    assert.equal(h.unbuildable.length, 3);
    for (const c of h.unbuildable) assert.match(await show(h.repo, c, 'lab_main.c'), /lab_batch_scale/);
    assert.doesNotMatch(await show(h.repo, h.culprit, 'lab_main.c'), /lab_batch_scale/);
    assert.equal(h.unbuildable[2], h.culpritParent);
    assert.match(await show(h.repo, h.culprit, 'lab_main.c'), /get_random_u32_below\(1000\) < 250/);
  });
});
