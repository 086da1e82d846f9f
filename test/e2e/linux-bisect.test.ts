/**
 * A real Linux kernel bisected end to end: Debian's linux-source-6.1 tree with a generated history
 * (topic branches merged into a mainline; one commit plants a NULL dereference behind a prctl),
 * the kernel recipe's own build (the job's .config, `make olddefconfig`, `make bzImage` in each
 * slot's O= directory, ccache), the C reproducer compiled and packed into the initramfs, qemu
 * (TCG when KVM does not work here), on a 2-agent local farm (real nats-server, coordinator and
 * agents as processes), submitted and read back with the CLI.
 *
 * The job is submitted as a syzbot bug would be: --kernel-config, --reproducer, --cmdline and
 * --sysctl; the files travel with the job (the agents are given no path on this machine).
 * The first builds of the two slots are seeded: one builds from scratch, the other then finds its
 * objects in ccache (agent/kernel/build.ts); the figures are printed.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeLinuxHistory, LINUX_BUG_FUNCTION, type LinuxHistoryResult } from '../../deploy/lab/history/linux.js';
import { parse } from '../../shared/report/index.js';
import { startTestFarm, type TestFarm } from '../helpers/farm.js';
import { bisectToEnd, farmCli } from '../helpers/farm-jobs.js';
import { ensureLinuxLab, guardLabFarm, removeDir, type LinuxLabSetup } from '../helpers/lab.js';
import { tempDir } from '../helpers/temp-dirs.js';

const lab = await ensureLinuxLab();
const skip = 'skip' in lab ? lab.skip : false;
const REPRO = resolve(import.meta.dirname, '../../deploy/lab/linux/repro.c');

describe('bisecting a real Linux kernel on a 2-agent local farm', { skip, timeout: 2_700_000 }, () => {
  const setup = lab as LinuxLabSetup;
  let farm: TestFarm;
  let h: LinuxHistoryResult;
  let dir = '';
  let guard: { stop(): Promise<void> } | undefined;

  before(async () => {
    dir = await tempDir('linux-e2e');
    h = await makeLinuxHistory({ source: setup.source, dir: join(dir, 'repo'), kind: 'null-deref', commits: 40, seed: 11 });
    farm = await startTestFarm({ agents: 2, leaseSeconds: 30, agentArgs: ['--accel-probe-kernel', setup.kernel] });
    // Builds and VMs are children of the agents: never leave one behind, even when this process dies.
    guard = guardLabFarm(farm);
  });
  after(async () => {
    await guard?.stop();
    if (dir) await removeDir(dir);
  });

  it('finds the planted culprit and names the crash with the parser\'s title', { timeout: 2_600_000 }, async () => {
    const args = [
      'bisect', '--recipe', 'kernel', '--repo', h.repo, '--bad', h.badHash, '--good', h.goodHash,
      '--kernel-config', setup.config, '--reproducer', REPRO,
      '--cmdline', 'console=ttyS0 earlyprintk=serial oops=panic panic=-1 nokaslr',
      '--sysctl', 'kernel.panic_on_warn=1',
      '--param', `busybox=${setup.busybox}`, '--param', 'memory=256',
      '--param', 'boot_timeout=120', '--param', 'no_output_timeout=60', '--param', 'total_timeout=240',
      '--runs', '1',
    ];
    const { job, log } = await bisectToEnd(farm, args, 'linux null-deref', 2_500_000);
    assert.equal(job.state, 'succeeded', log);
    assert.equal(job.culprit?.hash, h.culprit, log);
    assert.ok(job.crash, `no crash in the result:\n${log}`);
    const consoleLog = await farmCli(farm, ['logs', job.id, '--key', job.crash.logKey]);
    assert.match(consoleLog, /RIP: 0010:multisect_lab_lookup/);
    // The sysctl came with the job and the init set it.
    assert.doesNotMatch(consoleLog, /cannot set sysctl/);
    const report = parse(consoleLog);
    assert.ok(report, 'the parser finds no report in the stored console');
    assert.equal(job.crash.title, report.title);
    assert.equal(job.crash.title, `BUG: unable to handle kernel NULL pointer dereference in ${LINUX_BUG_FUNCTION}`);
    assert.ok(log.includes(`first bad commit: ${h.culprit.slice(0, 12)} ${h.culpritSubject}`), log);

    // The job carried its files: the operator's .config and reproducer, byte for byte.
    const shown = JSON.parse(await farmCli(farm, ['job', job.id, '--json'])) as { files?: { name: string; size: number }[] };
    assert.deepEqual(shown.files?.map((f) => [f.name, f.size]), [['kernel.config', statSync(setup.config).size], ['repro.c', statSync(REPRO).size]]);
  });
});
