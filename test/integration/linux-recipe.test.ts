/**
 * The kernel recipe on a real Linux tree (Debian's linux-source, deploy/lab/setup-linux): the
 * recipe's default build (the job's .config, `make olddefconfig`, `make bzImage` in the slot's O=
 * build directory, ccache when present), the C reproducer compiled statically and packed with
 * busybox into the initramfs, the VM ended by the init's reboot (a tinyconfig kernel has no ACPI),
 * and the console judged by the crash-report parser. One slot: the culprit is built from scratch,
 * its parent incrementally in the same build directory. Prints the build and boot times.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { classifyOutput } from '../../agent/classify.js';
import { KernelRecipe } from '../../agent/recipes/kernel.js';
import { makeLinuxHistory, type LinuxHistoryResult } from '../../deploy/lab/history/linux.js';
import { git } from '../../shared/git.js';
import { Policy, Recipe, RunOutcome } from '../../shared/proto.js';
import { checkout, ensureLinuxLab, fakeContext, labAccel, removeDir, type LinuxLabSetup } from '../helpers/lab.js';
import { tempDir } from '../helpers/temp-dirs.js';

const lab = await ensureLinuxLab();
const skip = 'skip' in lab ? lab.skip : false;
const REPRO = resolve(import.meta.dirname, '../../deploy/lab/linux/repro.c');

describe('kernel recipe on a real Linux tree', { skip, timeout: 2_400_000 }, () => {
  const setup = lab as LinuxLabSetup;
  const recipe = new KernelRecipe();
  const dirs: string[] = [];
  let h: LinuxHistoryResult;
  let buildDir: string;

  const spec = (reproducer = REPRO) =>
    Recipe.fromPartial({
      kind: 'kernel',
      params: {
        config: setup.config, reproducer, busybox: setup.busybox, memory: '256',
        cmdline: 'console=ttyS0 earlyprintk=serial panic_on_warn=1 oops=panic panic=-1 nokaslr',
        boot_timeout: '120', no_output_timeout: '60', total_timeout: '240',
      },
    });

  /** One worktree for the slot, as an agent keeps it: a checkout rewrites only the files that changed. */
  let wt = '';
  async function probe(commit: string, reproducer?: string) {
    if (!wt) {
      wt = await checkout(h.repo, commit);
      dirs.push(resolve(wt, '..'));
      // Beside the worktree, as in an agent's slot: ccache then shares its objects with the
      // farm's slots (agent/kernel/build.ts).
      buildDir = join(resolve(wt, '..'), 'build');
      await mkdir(buildDir);
    } else {
      await git(wt, ['checkout', '-q', '--detach', commit]);
    }
    const ctx = await fakeContext({ commit, worktree: wt, buildDir, recipe: spec(reproducer), runs: 1, vmCapacity: 1, accel: await labAccel(setup) });
    dirs.push(ctx.scratchDir);
    ctx.classify = (out) => classifyOutput(Policy.fromPartial({}), out);
    const t0 = Date.now();
    const r = await recipe.run(ctx);
    return { r, ctx, ms: Date.now() - t0 };
  }

  before(async () => {
    const dir = await tempDir('linux-history');
    dirs.push(dir);
    h = await makeLinuxHistory({ source: setup.source, dir: join(dir, 'repo'), kind: 'null-deref', commits: 30, seed: 4 });
  });
  after(async () => {
    for (const d of dirs) await removeDir(d);
  });

  it('builds the culprit from scratch, boots it, and the parser titles the real oops', async () => {
    const { r, ctx, ms } = await probe(h.culprit);
    assert.equal(r.build.ok, true, r.build.error);
    console.log(`culprit: build from scratch ${Math.round(r.build.durationMs / 1000)} s, probe ${Math.round(ms / 1000)} s`);
    const run = r.runs[0];
    assert.equal(run?.outcome, RunOutcome.RUN_OUTCOME_CRASH, ctx.logs.get('console-0.log')?.slice(-3000));
    assert.equal(run?.title, 'BUG: unable to handle kernel NULL pointer dereference in multisect_lab_lookup');
    assert.match(ctx.logs.get('console-0.log') ?? '', /RIP: 0010:multisect_lab_lookup/);
  });

  it('builds the culprit\'s parent incrementally in the same build directory, and it runs clean', async () => {
    const { r, ctx } = await probe(h.culpritParent);
    assert.equal(r.build.ok, true, r.build.error);
    console.log(`parent: incremental build ${Math.round(r.build.durationMs / 1000)} s, boot+test ${Math.round((r.runs[0]?.durationMs ?? 0) / 1000)} s`);
    assert.equal(r.runs[0]?.outcome, RunOutcome.RUN_OUTCOME_OK, ctx.logs.get('console-0.log')?.slice(-3000));
    assert.match(ctx.logs.get('console-0.log') ?? '', /repro: prctl\(lab, 1000\) = -1 \(Invalid argument\)/);
    assert.ok(r.build.durationMs < 120_000, `an incremental build took ${r.build.durationMs} ms`);
  });

  it('a C reproducer that does not compile makes the commit a skip, not a crash and not the end of the job', async () => {
    const bad = join(buildDir, 'broken-repro.c');
    await writeFile(bad, 'int main(void) { return prctl_that_does_not_exist(); }\n');
    const { r } = await probe(h.culpritParent, bad);
    assert.equal(r.build.ok, false);
    assert.match(r.build.error, /the reproducer does not compile/);
    assert.equal(r.runs.length, 0);
    assert.equal(r.abortReason, undefined);
  });
});
