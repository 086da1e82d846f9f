/**
 * The kernel recipe against a lab history, with a fake ProbeContext (a small classifier stands in
 * for the crash-report parser): the culprit's parent is ok, the culprit crashes in every run (two
 * VMs in parallel), an unbuildable commit is a skip with the compiler's error, a missing kernel
 * image or lab cache is an InfraError, and cancellation ends the probe at once.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { CancelledError, InfraError } from '../../shared/errors.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Recipe, RunOutcome } from '../../shared/proto.js';
import { KernelRecipe } from '../../agent/recipes/kernel.js';
import { labRecipe } from '../../deploy/lab/job.js';
import type { HistoryResult } from '../../deploy/lab/history/generate.js';
import { checkout, ensureLab, fakeContext, labAccel, labHistory, type LabSetup } from '../helpers/lab.js';
import { tempDir } from '../helpers/temp-dirs.js';
import { KernelCache, type KernelFiles } from '../../agent/kernel-cache.js';
import { git } from '../../shared/git.js';
import { silentLogger } from '../../shared/logger.js';

const lab = await ensureLab();
const skip = 'skip' in lab ? lab.skip : false;

describe('kernel recipe on a lab history', { skip }, () => {
  const setup = lab as LabSetup;
  const recipe = new KernelRecipe();
  let h: HistoryResult;
  let buildDir: string;

  before(async () => {
    h = await labHistory({ kind: 'null-deref', commits: 60, seed: 7, unbuildable: 2, unbuildableAt: 'after' });
    buildDir = await tempDir('slot-build'); // one slot: the build directory is kept between probes
  });

  const probe = async (commit: string, runs = 1, vmCapacity = 1, spec = labRecipe({ kernel: setup.kernel, cache: setup.cache })) =>
    fakeContext({ commit, worktree: await checkout(h.repo, commit), buildDir, recipe: spec, runs, vmCapacity, accel: await labAccel(setup) });

  it('says ok for the commit before the culprit', async () => {
    const ctx = await probe(h.culpritParent);
    const r = await recipe.run(ctx);
    assert.equal(r.build.ok, true, r.build.error);
    assert.match(r.build.artifactHash, /^[0-9a-f]{64}$/);
    assert.equal(r.runs.length, 1);
    assert.equal(r.runs[0]?.outcome, RunOutcome.RUN_OUTCOME_OK, ctx.logs.get('console-0.log')?.slice(-2000));
    assert.deepEqual(ctx.phases, ['building', 'booting:1', 'testing:1']);
    assert.ok(ctx.logs.has('build.log'));
  });

  it('says crash, with the title, in every run for the culprit', async () => {
    const ctx = await probe(h.culprit, 2, 2);
    const r = await recipe.run(ctx);
    assert.equal(r.build.ok, true, r.build.error);
    assert.equal(r.runs.length, 2);
    for (const run of r.runs) {
      assert.equal(run.outcome, RunOutcome.RUN_OUTCOME_CRASH);
      assert.match(run.title, /^BUG: kernel NULL pointer dereference/);
      assert.equal(run.matches, true);
      assert.ok(run.durationMs > 0);
    }
    assert.deepEqual(r.runs.map((x) => x.index), [0, 1]);
    assert.match(ctx.logs.get('console-1.log') ?? '', /multisect_lab_lookup/);
  });

  it('a kept initramfs boots again with nothing built, and crashes the same (the kernel cache)', async () => {
    const kernels = await KernelCache.open({ dir: await tempDir('kernels'), maxBytes: 64 * 1024 * 1024, minFreeBytes: 0, logger: silentLogger() });
    const tree = (await git(h.repo, ['rev-parse', `${h.culprit}^{tree}`])).stdout.trim();
    const bound = (commit: string, scratch: () => string) => ({
      take: () => kernels.take('lab', tree, scratch()),
      put: (files: KernelFiles) => kernels.put('lab', tree, commit, files),
    });
    let scratch = '';
    const first = await fakeContext({ commit: h.culprit, worktree: await checkout(h.repo, h.culprit), buildDir, recipe: labRecipe({ kernel: setup.kernel, cache: setup.cache }), runs: 1, vmCapacity: 1, accel: await labAccel(setup), kernels: bound(h.culprit, () => scratch) });
    scratch = first.scratchDir;
    const built = await recipe.run(first);
    assert.equal(built.build.cached, false);
    assert.deepEqual(kernels.list(), [{ buildKey: 'lab', commit: h.culprit }]);
    const again = await fakeContext({ commit: h.culprit, worktree: await checkout(h.repo, h.culprit), buildDir, recipe: labRecipe({ kernel: setup.kernel, cache: setup.cache }), runs: 1, vmCapacity: 1, accel: await labAccel(setup), kernels: bound(h.culprit, () => scratch) });
    scratch = again.scratchDir;
    const kept = await recipe.run(again);
    assert.equal(kept.build.cached, true);
    assert.equal(again.phases.includes('building'), false, 'nothing was built');
    assert.equal(kept.build.artifactHash, built.build.artifactHash, 'the same files boot');
    assert.equal(kept.runs[0]?.outcome, RunOutcome.RUN_OUTCOME_CRASH);
  });

  it('says skip (no runs, the compiler error) for an unbuildable commit', async () => {
    assert.equal(h.unbuildable.length, 2);
    const ctx = await probe(h.unbuildable[0] as string);
    const r = await recipe.run(ctx);
    assert.equal(r.build.ok, false);
    assert.match(r.build.error, /lab_batch_scale/);
    assert.deepEqual(r.runs, []);
    assert.equal(r.abortReason, undefined);
  });

  it('throws InfraError for a missing kernel image and for a lab that is not set up', async () => {
    await assert.rejects(recipe.run(await probe(h.culpritParent, 1, 1, labRecipe({ kernel: '/nonexistent/vmlinuz', cache: setup.cache }))), InfraError);
    const empty = await tempDir('empty-cache');
    await assert.rejects(recipe.run(await probe(h.culpritParent, 1, 1, labRecipe({ kernel: setup.kernel, cache: empty }))), InfraError);
  });

  it('stops at once when cancelled while the VM boots', async () => {
    const ctx = await probe(h.culpritParent);
    const progress = ctx.progress;
    let abortedAt = 0;
    ctx.progress = (phase, run) => {
      progress(phase, run);
      if (phase === 'booting') setTimeout(() => { abortedAt = Date.now(); ctx.abort.abort(new CancelledError('test cancels')); }, 1000);
    };
    const outcome = await recipe.run(ctx).then((r) => r, (e: unknown) => e);
    assert.ok(outcome instanceof CancelledError, `expected a CancelledError, got ${JSON.stringify(outcome)} after ${JSON.stringify(ctx.phases)}`);
    assert.ok(abortedAt > 0 && Date.now() - abortedAt < 3000, 'cancellation took too long');
  });

  it('packs its own initramfs around a shell reproducer when the job gives no initrd', async () => {
    const dir = await tempDir('own-initrd');
    await writeFile(join(dir, 'repro.sh'), 'echo "repro: hello from the guest"\n');
    const spec = Recipe.fromPartial({
      kind: 'kernel',
      build: { argv: ['true'] },
      params: { kernel: setup.kernel, reproducer: join(dir, 'repro.sh'), busybox: setup.busybox, cmdline: 'console=ttyS0 panic=-1', memory: '512', no_output_timeout: '60' },
    });
    const ctx = await fakeContext({ commit: h.goodHash, worktree: dir, buildDir: dir, recipe: spec, runs: 1, vmCapacity: 1, accel: await labAccel(setup) });
    const r = await new KernelRecipe().run(ctx);
    assert.equal(r.runs[0]?.outcome, RunOutcome.RUN_OUTCOME_OK, ctx.logs.get('console-0.log')?.slice(-2000));
    assert.match(ctx.logs.get('console-0.log') ?? '', /repro: hello from the guest/);
  });
});
