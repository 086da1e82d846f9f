/**
 * The accelerator is proven, not assumed (agent/kernel/accel.ts). Real qemu throughout; the broken
 * hosts are qemu wrappers that fail the two ways seen on real machines: a guest that prints
 * "Probing EDD" and hangs, and qemu aborting on an MSR. A device path that opens proves nothing.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bootProofGuest, decideAccel, proveKvm } from '../../agent/kernel/accel.js';
import { runVm } from '../../agent/kernel/vm.js';
import { ensureLab, type LabSetup } from '../helpers/lab.js';
import { registerChild } from '../helpers/processes.js';

const lab = await ensureLab();
const skip = 'skip' in lab ? lab.skip : false;

describe('accelerator detection', { skip }, () => {
  const setup = lab as LabSetup;
  let dir = '';
  /** A file that opens read-write: all a /dev/kvm check used to look at. */
  let fakeDevice = '';
  const onSpawn = (c: import('node:child_process').ChildProcess) => void registerChild(c);

  async function script(name: string, body: string): Promise<string> {
    const p = join(dir, name);
    await writeFile(p, `#!/bin/sh\n${body}\n`);
    await chmod(p, 0o755);
    return p;
  }

  /** A qemu that runs under TCG whatever it is asked: what a host with working KVM would run. */
  const EMULATE_KVM =
    'for a in "$@"; do shift; case "$a" in -enable-kvm) set -- "$@" -accel tcg ;; host) set -- "$@" max ;; *) set -- "$@" "$a" ;; esac; done\n' +
    'exec qemu-system-x86_64 "$@"';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'multisect-accel-'));
    fakeDevice = join(dir, 'kvm');
    await writeFile(fakeDevice, '');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('the proof guest itself is sound: it prints its marker under TCG', async () => {
    const r = await bootProofGuest('tcg', dir, { onSpawn, guestTimeoutMs: 30_000 });
    assert.equal(r.seen, true, `no marker; console: ${r.output} stderr: ${r.stderr}`);
  });

  it('a missing device means TCG, with the reason', async () => {
    const d = await decideAccel('auto', { device: join(dir, 'no-such-kvm'), onSpawn });
    assert.equal(d.accel, 'tcg');
    assert.equal(d.how, 'unusable');
    assert.match(d.reason, /no-such-kvm does not exist/);
  });

  it('a device that opens but whose guest hangs after "Probing EDD" means TCG, with the reason', async () => {
    const qemu = await script('qemu-hangs', 'echo "Probing EDD (edd=off to disable)... ok"\nexec sleep 600');
    const started = Date.now();
    const d = await decideAccel('auto', { device: fakeDevice, qemu, guestTimeoutMs: 1500, kernel: '', onSpawn });
    assert.equal(d.accel, 'tcg');
    assert.match(d.reason, /opens, but a KVM guest did not get through its boot within 1.5 s; its last line: "Probing EDD/);
    assert.ok(Date.now() - started < 10_000, 'the proof must give up on its own time limit');
  });

  it('a device that opens but whose qemu aborts means TCG, with qemu\'s words', async () => {
    const qemu = await script('qemu-aborts', 'echo "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69" >&2\nexit 134');
    const d = await decideAccel('auto', { device: fakeDevice, qemu, kernel: '', onSpawn });
    assert.equal(d.accel, 'tcg');
    assert.match(d.reason, /stopped with status 134 before its marker \(qemu: .*failed to set MSR/);
  });

  it('a tiny guest that runs is not enough when the kernel then hangs', async () => {
    // Runs the real guest (under TCG in place of KVM), but any kernel hangs after its real-mode setup.
    const qemu = await script(
      'qemu-kernel-hangs',
      'case "$*" in *guest.bin*) ;; *) echo "Probing EDD (edd=off to disable)... ok"; exec sleep 600 ;; esac\n' +
        EMULATE_KVM,
    );
    const d = await decideAccel('auto', { device: fakeDevice, qemu, kernel: setup.kernel, kernelTimeoutMs: 3000, guestTimeoutMs: 30_000, onSpawn });
    assert.equal(d.accel, 'tcg', d.reason);
    assert.match(d.reason, /a tiny guest runs, but the kernel .* did not get through its boot within 3 s/);
  });

  it('KVM is proved when the guest and the kernel run (a qemu that emulates what KVM would run)', async () => {
    const qemu = await script('qemu-works', EMULATE_KVM);
    const d = await decideAccel('auto', { device: fakeDevice, qemu, kernel: setup.kernel, guestTimeoutMs: 30_000, kernelTimeoutMs: 120_000, onSpawn });
    assert.equal(d.accel, 'kvm', d.reason);
    assert.equal(d.how, 'proved');
    assert.match(d.reason, /a KVM guest ran in \d+ ms and .* started in \d+ ms/);
  });

  it('--accel kvm and --accel tcg are taken as given', async () => {
    assert.deepEqual(await decideAccel('tcg'), { accel: 'tcg', how: 'forced', reason: 'tcg forced (--accel tcg)' });
    assert.equal((await decideAccel('kvm', { device: join(dir, 'none') })).accel, 'kvm');
  });

  it('on this host, the decision boots: the lab kernel under the chosen accelerator gets to its first line', async () => {
    const d = await decideAccel('auto', { kernel: setup.kernel, onSpawn });
    const opens = await open('/dev/kvm', 'r+').then(async (f) => (await f.close(), true), () => false);
    console.log(`this host: /dev/kvm ${opens ? 'opens' : 'does not open'}; decided ${d.accel} (${d.how}): ${d.reason}`);
    if (!opens) assert.equal(d.accel, 'tcg');
    const vm = await runVm({
      kernel: setup.kernel, cmdline: 'console=ttyS0 earlyprintk=serial panic=-1', consoleLog: join(dir, 'console.log'), memoryMb: 256,
      accel: d.accel, bootMarker: /Linux version \d/, bootTimeoutMs: 120_000, totalTimeoutMs: 180_000, onSpawn,
      onBoot: () => undefined,
    }).catch((err: unknown) => err as Error);
    assert.ok(!(vm instanceof Error), String(vm));
    assert.equal(vm.booted, true, `the kernel did not start under ${d.accel}: ${vm.console.slice(-500)}`);
  });

  it('proveKvm never leaves qemu running after a failed proof', async () => {
    const qemu = await script('qemu-hangs-2', 'exec sleep 600');
    let pid = 0;
    await proveKvm({ device: fakeDevice, qemu, guestTimeoutMs: 500, kernel: '', onSpawn: (c) => { onSpawn(c); pid = c.pid ?? 0; } });
    assert.ok(pid > 0);
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
  });
});
