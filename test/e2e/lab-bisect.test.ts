/**
 * Real kernel bisections end to end: Debian's kernel under qemu (TCG when there is no KVM), a
 * lab history with a planted bug, the local farm (real nats-server, coordinator and 2 agents as
 * child processes of the CLI), submitted and read back with the CLI. The lab is set up first (it
 * installs and downloads what is missing); the tests skip only when apt cannot download.
 *
 *  - null-deref: the culprit is found, and the job's crash title is the parser's title for the
 *    real oops in the culprit's stored console log (and the log names it);
 *  - the same bug again: the agents boot the kernels they kept for the first job (build affinity
 *    and the kernel cache), and the job builds less;
 *  - flaky race (P = 0.5, 4 runs per probe): the culprit is found;
 *  - unbuildable commits right before the culprit: the culprit, or "inconclusive" with a set that
 *    holds it, never a wrong single commit.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parse } from '../../shared/report/index.js';
import { labRecipe, LAB_DIR } from '../../deploy/lab/job.js';
import { BUG_FUNCTION } from '../../deploy/lab/history/bugs.js';
import type { HistoryResult } from '../../deploy/lab/history/generate.js';
import { git } from '../../shared/git.js';
import { startTestFarm, type TestFarm } from '../helpers/farm.js';
import { bisectToEnd, farmCli, type JobJson } from '../helpers/farm-jobs.js';
import { ensureLab, labHistory, guardLabFarm, removeDir, type LabSetup } from '../helpers/lab.js';

const lab = await ensureLab();
const skip = 'skip' in lab ? lab.skip : false;

/**
 * `multisect bisect` arguments for a lab job: the lab's build step and the kernel recipe's params
 * (from deploy/lab/job.ts), with short timeouts and a small VM so that a run is a boot and a
 * few seconds of reproducer.
 */
function labArgs(setup: LabSetup, h: HistoryResult, runs: number): string[] {
  const recipe = labRecipe({ kernel: setup.kernel, cache: setup.cache, memoryMb: 256, bootTimeoutS: 90, noOutputTimeoutS: 45, totalTimeoutS: 150 });
  const params = Object.entries(recipe.params).flatMap(([k, v]) => ['--param', `${k}=${v}`]);
  return ['bisect', '--repo', h.repo, '--bad', h.badHash, '--good', h.goodHash, '--recipe', 'kernel', '--build', `bash ${LAB_DIR}/build.sh`, ...params, '--runs', String(runs)];
}

describe('bisecting real kernel crashes on a 2-agent local farm', { skip, timeout: 3_300_000 }, () => {
  const setup = lab as LabSetup;
  let farm: TestFarm;
  const histories: HistoryResult[] = [];
  const history = async (o: Parameters<typeof labHistory>[0]): Promise<HistoryResult> => {
    const h = await labHistory(o);
    histories.push(h);
    const merges = Number((await git(h.repo, ['rev-list', '--merges', '--count', h.badHash])).stdout.trim());
    assert.ok(merges >= 2, `the history has only ${merges} merges`);
    return h;
  };

  let guard: { stop(): Promise<void> } | undefined;

  before(async () => {
    farm = await startTestFarm({ agents: 2, leaseSeconds: 20, agentArgs: ['--accel-probe-kernel', setup.kernel] });
    // VMs and builds are children of the agents: never leave one behind, even when this process dies.
    guard = guardLabFarm(farm);
  });
  after(async () => {
    await guard?.stop();
    // The repositories live in their own temporary directories (<tmp>/multisect-lab-*/repo).
    await Promise.all(histories.map((h) => removeDir(h.repo.replace(/\/repo$/, ''))));
  });

  let nullDeref: { h: HistoryResult; job: JobJson; log: string } | undefined;

  it('null-deref: finds the culprit and names the crash with the parser\'s title', { timeout: 900_000 }, async () => {
    const h = await history({ kind: 'null-deref', commits: 150, seed: 21 });
    const { job, log } = await bisectToEnd(farm, labArgs(setup, h, 1), h.kind, 880_000);
    nullDeref = { h, job, log };
    assert.equal(job.state, 'succeeded', log);
    assert.equal(job.culprit?.hash, h.culprit, log);
    // The title comes from the crash-report parser run over the real console.
    assert.ok(job.crash, `no crash in the result:\n${log}`);
    const consoleLog = await farmCli(farm, ['logs', job.id, '--key', job.crash.logKey]);
    assert.match(consoleLog, /BUG: kernel NULL pointer dereference/);
    const report = parse(consoleLog);
    assert.ok(report, 'the parser finds no report in the stored console');
    assert.equal(job.crash.title, report.title);
    assert.equal(job.crash.title, `BUG: unable to handle kernel NULL pointer dereference in ${BUG_FUNCTION['null-deref']}`);
    assert.ok(log.includes(`crash: ${job.crash.title}`), log);
    assert.ok(log.includes(`run #0: crashed: ${job.crash.title}`), log);
    assert.ok(log.includes(`first bad commit: ${h.culprit.slice(0, 12)} ${h.culpritSubject}`), log);
  });

  it('the same bug again: the agents boot the kernels they kept, and build less', { timeout: 900_000 }, async (t) => {
    if (!nullDeref || nullDeref.job.state !== 'succeeded') return t.skip('the null-deref job did not succeed');
    const { h, log: firstLog } = nullDeref;
    const { job, log } = await bisectToEnd(farm, labArgs(setup, h, 1), `${h.kind} again`, 880_000);
    assert.equal(job.state, 'succeeded', log);
    assert.equal(job.culprit?.hash, h.culprit, log);
    const kept = log.split('\n').filter((l) => l.includes('with the kernel it kept (nothing built)'));
    // The second job asks for the same commits (same evidence, same seed): most boot a kernel
    // the agent built for the first job, wherever the scheduler can give it to that agent.
    assert.ok(kept.length * 2 >= job.probesDone, `${kept.length} of ${job.probesDone} probes booted a kept kernel:\n${log}`);
    // Build seconds of the module lab are noise on a loaded host: count the builds instead.
    const builds = (l: string) => l.split('\n').filter((x) => x.trim().startsWith('building at ')).length;
    assert.ok(builds(log) < builds(firstLog), `${builds(log)} builds, the first job's ${builds(firstLog)}`);
    // And the operator sees what each agent keeps: its kernels, and what each slot last built.
    const agents = JSON.parse(await farmCli(farm, ['agents', '--json'])) as { agentId: string; keptKernels: number; slotStatus: { lastBuilt: string[] }[] }[];
    const said = JSON.stringify(agents.map((a) => [a.agentId, a.keptKernels, a.slotStatus.map((s) => s.lastBuilt)]));
    assert.ok(agents.some((a) => a.keptKernels > 0), said);
    // An agent that built keeps what it built (the lab's disk has room for it).
    assert.ok(agents.every((a) => a.keptKernels > 0 || a.slotStatus.every((s) => s.lastBuilt.length === 0)), said);
    const table = await farmCli(farm, ['agents']);
    assert.match(table.split('\n')[0] ?? '', /\bKEPT\b/);
  });

  it('flaky race, P = 0.5, 4 runs per probe: finds the culprit', { timeout: 1_500_000 }, async () => {
    const h = await history({ kind: 'flaky', commits: 120, seed: 22, probability: 0.5 });
    const { job, log } = await bisectToEnd(farm, labArgs(setup, h, 4), h.kind, 1_480_000);
    assert.equal(job.state, 'succeeded', log);
    assert.equal(job.culprit?.hash, h.culprit, log);
    assert.match(job.crash?.title ?? '', new RegExp(BUG_FUNCTION.flaky));
    // Every probe ran 4 times (runs #0..#3 in the log).
    assert.match(log, /run #3: /);
  });

  it('unbuildable commits right before the culprit: the culprit, or inconclusive with a set holding it', { timeout: 900_000 }, async () => {
    const h = await history({ kind: 'gpf', commits: 120, seed: 23, unbuildable: 3, unbuildableAt: 'before' });
    assert.equal(h.unbuildable.length, 3);
    const { job, log } = await bisectToEnd(farm, labArgs(setup, h, 1), h.kind, 880_000);
    if (job.state === 'succeeded') {
      assert.equal(job.culprit?.hash, h.culprit, `a wrong single commit:\n${log}`);
    } else {
      assert.equal(job.state, 'inconclusive', log);
      const set = (job.suspects ?? []).map((s) => s.hash);
      assert.ok(set.includes(h.culprit), `the set ${set.join(' ')} misses the culprit ${h.culprit}:\n${log}`);
      assert.ok(set.length > 1, log);
    }
    assert.match(log, /build failed: skipping/);
  });
});
