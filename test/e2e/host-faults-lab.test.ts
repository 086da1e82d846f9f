/**
 * Host faults with real kernels: the kernel lab (Debian's kernel under qemu, a lab history with a
 * planted null-deref) on a 2-agent local farm (real nats-server, coordinator and agents, the CLI).
 *  - agent-2 is forced onto a broken accelerator: `--accel kvm` with a qemu that hangs right after
 *    "Probing EDD", as this machine's KVM does. It is marked unhealthy with the reason, none of its
 *    failures counts, and agent-1 finishes the job with the planted culprit.
 *  - a job whose bad commit cannot boot fails at once, naming the commit, the agents, the step and
 *    the logs, after trying it on both agents, instead of bisecting on skips.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { labRecipe, LAB_DIR } from '../../deploy/lab/job.js';
import type { HistoryResult } from '../../deploy/lab/history/generate.js';
import { runCli, startTestFarm, type TestFarm } from '../helpers/farm.js';
import { ensureLab, labHistory, guardLabFarm, removeDir, type LabSetup } from '../helpers/lab.js';

const lab = await ensureLab();
const skip = 'skip' in lab ? lab.skip : false;

interface JobJson {
  id: string;
  state: string;
  probesDone: number;
  culprit?: { hash: string };
  reason?: string;
  crash?: { title: string };
}

interface AgentJson {
  agentId: string;
  accel: string;
  health: string;
  problem: string;
}

describe('host faults with real kernels on a 2-agent farm', { skip, timeout: 1_800_000 }, () => {
  const setup = lab as LabSetup;
  let farm: TestFarm;
  let dir = '';
  let h: HistoryResult;
  let guard: { stop(): Promise<void> } | undefined;

  function labArgs(extra: Record<string, string> = {}): string[] {
    const recipe = labRecipe({ kernel: setup.kernel, cache: setup.cache, memoryMb: 256, bootTimeoutS: 90, noOutputTimeoutS: 30, totalTimeoutS: 150 });
    const params = Object.entries({ ...recipe.params, ...extra }).flatMap(([k, v]) => ['--param', `${k}=${v}`]);
    return ['bisect', '--repo', h.repo, '--bad', h.badHash, '--good', h.goodHash, '--recipe', 'kernel', '--build', `bash ${LAB_DIR}/build.sh`, ...params, '--runs', '1'];
  }

  async function cli<T>(args: string[], timeoutMs = 120_000): Promise<T> {
    const r = await runCli([...args, '--json', '--coordinator', farm.address], { timeoutMs });
    assert.ok(r.stdout.trim().startsWith('{') || r.stdout.trim().startsWith('['), `multisect ${args[0]} (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
    return JSON.parse(r.stdout) as T;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'multisect-host-faults-lab-'));
    // What this machine's KVM does: the guest prints its real-mode banner, then nothing, for ever.
    const hangs = join(dir, 'qemu-kvm-hangs');
    await writeFile(hangs, '#!/bin/sh\necho "Probing EDD (edd=off to disable)... ok"\nexec sleep 3600\n');
    await chmod(hangs, 0o755);
    h = await labHistory({ kind: 'null-deref', commits: 40, seed: 8 });
    farm = await startTestFarm({ agents: 1, leaseSeconds: 20, agentArgs: ['--accel-probe-kernel', setup.kernel] });
    farm.startAgent('agent-2', 1, ['--accel', 'kvm', '--qemu', hangs]);
    guard = guardLabFarm(farm);
    const deadline = Date.now() + 60_000;
    while ((await cli<AgentJson[]>(['agents'])).filter((a) => a.accel).length < 2) {
      if (Date.now() > deadline) assert.fail('the agents did not connect');
      await new Promise((r) => setTimeout(r, 300));
    }
  });
  after(async () => {
    await guard?.stop();
    if (h) await removeDir(h.repo.replace(/\/repo$/, ''));
    if (dir) await removeDir(dir);
  });

  it('an agent on a broken accelerator is marked unhealthy; the other finishes the job with the right culprit', { timeout: 1_200_000 }, async () => {
    const job = await cli<JobJson>(labArgs(), 1_100_000);
    const log = await runCli(['logs', job.id, '--coordinator', farm.address]);
    process.stderr.write(log.stdout.split('\n').map((l) => `#   ${l}\n`).join(''));
    assert.equal(job.state, 'succeeded', `${JSON.stringify(job, null, 2)}\n${log.stdout}`);
    assert.equal(job.culprit?.hash, h.culprit);
    const agents = await cli<AgentJson[]>(['agents']);
    const broken = agents.find((a) => a.agentId === 'agent-2')!;
    assert.equal(broken.accel, 'kvm');
    assert.notEqual(broken.health, 'healthy', JSON.stringify(broken));
    assert.match(broken.problem, /could not boot [0-9a-f]{12} .*which booted on agent-1/);
    assert.equal(agents.find((a) => a.agentId === 'agent-1')?.health, 'healthy');
    const text = await runCli(['agents', '--coordinator', farm.address]);
    assert.match(text.stdout, /agent-2 .*(unhealthy|probation)/);
  });

  it('a job whose bad commit cannot boot fails at once with the commit, the agents, the step and the logs', { timeout: 600_000 }, async () => {
    // A boot marker the kernel never prints: no commit boots, on any agent.
    const job = await cli<JobJson>(labArgs({ boot_marker: 'MULTISECT-NEVER-PRINTED', boot_timeout: '60' }), 500_000);
    assert.equal(job.state, 'failed', JSON.stringify(job, null, 2));
    assert.match(job.reason ?? '', new RegExp(`the bad commit ${h.badHash.slice(0, 12)} cannot be tested \\(agents? agent-[12].*, step: boot: could not boot: .*\\); logs: multisect logs ${job.id} --probe `));
    assert.ok(job.probesDone <= 6, `${job.probesDone} probes: it went on bisecting`);
  });
});
