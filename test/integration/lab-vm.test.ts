/**
 * The kernel lab end to end at the VM level: for each bug kind, generate a history, build its tip
 * with deploy/lab/build.sh, boot Debian's kernel with that initramfs under qemu (TCG here) and
 * check the real oops; the first commit boots clean to the completion marker; a silent hang ends
 * as "no-output"; cancelling kills qemu at once. One VM at a time (each boot costs ~6 s).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { CancelledError, InfraError } from '../../shared/errors.js';
import { runVm, type VmOptions } from '../../agent/kernel/vm.js';
import { LAB_CMDLINE, LAB_DONE_MARKER } from '../../deploy/lab/job.js';
import type { BugKind } from '../../deploy/lab/history/bugs.js';
import { checkout, ensureLab, labAccel, labBuild, labHistory, type LabSetup } from '../helpers/lab.js';
import { tempDir } from '../helpers/temp-dirs.js';
import { registerChild } from '../helpers/processes.js';

const lab = await ensureLab();
const skip = 'skip' in lab ? lab.skip : false;

/** What each kind prints (checked on the real console) and the function it names. */
const EXPECTED: Record<BugKind, RegExp> = {
  'null-deref': /BUG: kernel NULL pointer dereference[\s\S]*RIP: 0010:multisect_lab_lookup/,
  warning: /WARNING: CPU: \d+ PID: \d+ at .* multisect_lab_reserve[\s\S]*Kernel panic - not syncing: kernel: panic_on_warn set/,
  gpf: /general protection fault, probably for non-canonical address 0xdead[\s\S]*RIP: 0010:multisect_lab_walk/,
  'list-corruption': /list_add double add[\s\S]*kernel BUG at lib\/list_debug\.c[\s\S]*multisect_lab_requeue/,
  hang: /INFO: task sh:\d+ blocked for more than \d+ seconds[\s\S]*multisect_lab_drain[\s\S]*Kernel panic - not syncing: hung_task/,
  flaky: /BUG: kernel NULL pointer dereference[\s\S]*RIP: 0010:multisect_lab_race/,
};

async function buildAt(repo: string, commit: string): Promise<string> {
  const wt = await checkout(repo, commit);
  const out = await tempDir('build');
  const b = await labBuild(wt, out);
  assert.equal(b.code, 0, `build.sh failed:\n${b.output.slice(-3000)}`);
  return join(out, 'initramfs.cpio.gz');
}

function vm(setup: LabSetup, initrd: string, extra: Partial<VmOptions> = {}): Promise<Awaited<ReturnType<typeof runVm>>> {
  return Promise.all([tempDir('console'), labAccel(setup)]).then(([d, accel]) =>
    runVm({
      accel,
      kernel: setup.kernel, initrd, cmdline: LAB_CMDLINE, consoleLog: join(d, 'console.log'), memoryMb: 512,
      bootTimeoutMs: 120_000, noOutputTimeoutMs: 60_000, totalTimeoutMs: 240_000,
      onSpawn: (c) => registerChild(c), ...extra,
    }),
  );
}

describe('kernel lab VMs', { skip }, () => {
  const setup = lab as LabSetup;
  let cleanInitrd = '';

  before(async () => {
    const h = await labHistory({ kind: 'null-deref', commits: 20, seed: 3 });
    cleanInitrd = await buildAt(h.repo, h.goodHash);
  });

  it('boots the clean module to the completion marker and powers off', async () => {
    const r = await vm(setup, cleanInitrd);
    assert.equal(r.end, 'poweroff', r.console.slice(-2000));
    assert.ok(r.booted);
    assert.match(r.console, new RegExp(LAB_DONE_MARKER));
    assert.doesNotMatch(r.console, /BUG:|WARNING:|Kernel panic/);
    console.log(`clean boot under ${r.accel}: ${r.durationMs} ms`);
  });

  for (const kind of Object.keys(EXPECTED) as BugKind[]) {
    it(`crashes with the planted ${kind}`, async () => {
      const h = await labHistory({ kind, commits: 20, seed: 5, probability: 1 });
      const r = await vm(setup, await buildAt(h.repo, h.badHash));
      assert.equal(r.end, 'panic', r.console.slice(-3000));
      assert.ok(r.booted);
      assert.match(r.console, EXPECTED[kind]);
      assert.doesNotMatch(r.console, new RegExp(LAB_DONE_MARKER));
      console.log(`${kind} under ${r.accel}: ${r.durationMs} ms`);
    });
  }

  it('ends a silent hang as no-output', async () => {
    const h = await labHistory({ kind: 'hang', commits: 20, seed: 5 });
    // Without the hung-task detector's short timeout the blocked reproducer prints nothing more.
    // (20 s: a TCG boot on a loaded 2-core machine can itself be silent for 8 s.)
    const r = await vm(setup, await buildAt(h.repo, h.badHash), { cmdline: 'console=ttyS0 panic=-1', noOutputTimeoutMs: 20_000 });
    assert.equal(r.end, 'no-output');
    assert.ok(r.booted);
    assert.match(r.console, /repro: drain/);
  });

  it('kills qemu at once when cancelled', async () => {
    const ac = new AbortController();
    let pid = 0;
    const started = Date.now();
    const p = vm(setup, cleanInitrd, { signal: ac.signal, onSpawn: (c) => { registerChild(c); pid = c.pid ?? 0; setTimeout(() => ac.abort(), 1000); } });
    await assert.rejects(p, CancelledError);
    assert.ok(Date.now() - started < 5000, 'cancellation took too long');
    assert.throws(() => process.kill(pid, 0), 'qemu is still alive');
  });

  it('says InfraError for a missing kernel image or qemu', async () => {
    await assert.rejects(vm(setup, cleanInitrd, { kernel: '/nonexistent/vmlinuz' }), InfraError);
    await assert.rejects(vm(setup, cleanInitrd, { qemu: 'qemu-system-does-not-exist' }), InfraError);
  });
});
