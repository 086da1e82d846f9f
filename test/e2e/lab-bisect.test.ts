/**
 * Real kernel bisections end to end: Debian's kernel under qemu (TCG when there is no KVM), a
 * lab history with a planted bug, the local farm (real nats-server, coordinator and 2 agents as
 * child processes of the CLI), submitted and read back with the CLI. The lab is set up first (it
 * installs and downloads what is missing); the tests skip only when apt cannot download.
 *
 *  - null-deref: the culprit is found, and the job's crash title is the parser's title for the
 *    real oops in the culprit's stored console log (and the log names it);
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
import { runCli, startTestFarm, type TestFarm } from '../helpers/farm.js';
import { ensureLab, labHistory, reapOnExit, reapProcessesUnder, removeDir, type LabSetup } from '../helpers/lab.js';

const lab = await ensureLab();
const skip = 'skip' in lab ? lab.skip : false;

interface JobJson {
  id: string;
  state: string;
  candidatesTotal: number;
  probesDone: number;
  culprit?: { hash: string; subject: string };
  suspects?: { hash: string; probability: number }[];
  reason?: string;
  crash?: { title: string; logKey: string };
  revisionsTested?: number;
  wallMs?: number;
  buildMs?: number;
  testMs?: number;
  log?: string;
}

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

async function cli(farm: TestFarm, args: string[], timeoutMs = 120_000): Promise<string> {
  const r = await runCli([...args, '--coordinator', farm.address], { timeoutMs });
  assert.equal(r.code, 0, `multisect ${args.join(' ')} exited ${r.code}\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** Submit with the CLI and wait for the job to end, printing its progress (time-stamped). */
async function bisect(farm: TestFarm, setup: LabSetup, h: HistoryResult, runs: number, timeoutMs: number): Promise<{ job: JobJson; log: string }> {
  const sub = JSON.parse(await cli(farm, [...labArgs(setup, h, runs), '--no-wait', '--json'])) as JobJson;
  const deadline = Date.now() + timeoutMs;
  let job = sub;
  let seen = -1;
  const t0 = Date.now();
  for (;;) {
    job = JSON.parse(await cli(farm, ['job', sub.id, '--json'])) as JobJson;
    if (job.probesDone !== seen) {
      seen = job.probesDone;
      process.stderr.write(`# ${sub.id} ${h.kind}: ${job.state}, ${job.probesDone} probes done, ${Math.round((Date.now() - t0) / 1000)} s\n`);
    }
    if (!['queued', 'running'].includes(job.state)) break;
    if (Date.now() > deadline) {
      const log = await cli(farm, ['logs', sub.id]).catch((e: unknown) => String(e));
      await runCli(['cancel', sub.id, '--coordinator', farm.address]);
      assert.fail(`job ${sub.id} did not end within ${timeoutMs / 1000} s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
  const log = await cli(farm, ['logs', sub.id]);
  process.stderr.write(log.trimEnd().split('\n').map((l) => `#   ${l}\n`).join(''));
  process.stderr.write(`# ${sub.id} ${h.kind} ended: ${job.state} in ${Math.round((job.wallMs ?? 0) / 1000)} s, ${job.revisionsTested} revisions, build ${Math.round((job.buildMs ?? 0) / 1000)} s, test ${Math.round((job.testMs ?? 0) / 1000)} s\n`);
  return { job, log };
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

  let unhook: (() => void) | undefined;

  before(async () => {
    farm = await startTestFarm({ agents: 2, leaseSeconds: 20, agentArgs: ['--accel-probe-kernel', setup.kernel] });
    // VMs and builds are children of the agents: never leave one behind, even when this process dies.
    unhook = reapOnExit(farm.stateDir);
  });
  after(async () => {
    if (farm) {
      // SIGTERM first: an agent stopping (--drain 0) kills its VMs and builds itself.
      await Promise.all([...farm.agents.values()].map((a) => a.kill('SIGTERM')));
      reapProcessesUnder(farm.stateDir);
      await farm.dispose();
      unhook?.();
    }
    // The repositories live in their own temporary directories (<tmp>/multisect-lab-*/repo).
    await Promise.all(histories.map((h) => removeDir(h.repo.replace(/\/repo$/, ''))));
  });

  it('null-deref: finds the culprit and names the crash with the parser\'s title', { timeout: 900_000 }, async () => {
    const h = await history({ kind: 'null-deref', commits: 150, seed: 21 });
    const { job, log } = await bisect(farm, setup, h, 1, 880_000);
    assert.equal(job.state, 'succeeded', log);
    assert.equal(job.culprit?.hash, h.culprit, log);
    // The title comes from the crash-report parser run over the real console.
    assert.ok(job.crash, `no crash in the result:\n${log}`);
    const consoleLog = await cli(farm, ['logs', job.id, '--key', job.crash.logKey]);
    assert.match(consoleLog, /BUG: kernel NULL pointer dereference/);
    const report = parse(consoleLog);
    assert.ok(report, 'the parser finds no report in the stored console');
    assert.equal(job.crash.title, report.title);
    assert.equal(job.crash.title, `BUG: unable to handle kernel NULL pointer dereference in ${BUG_FUNCTION['null-deref']}`);
    assert.ok(log.includes(`crash: ${job.crash.title}`), log);
    assert.ok(log.includes(`run #0: crashed: ${job.crash.title}`), log);
    assert.ok(log.includes(`first bad commit: ${h.culprit.slice(0, 12)} ${h.culpritSubject}`), log);
  });

  it('flaky race, P = 0.5, 4 runs per probe: finds the culprit', { timeout: 1_500_000 }, async () => {
    const h = await history({ kind: 'flaky', commits: 120, seed: 22, probability: 0.5 });
    const { job, log } = await bisect(farm, setup, h, 4, 1_480_000);
    assert.equal(job.state, 'succeeded', log);
    assert.equal(job.culprit?.hash, h.culprit, log);
    assert.match(job.crash?.title ?? '', new RegExp(BUG_FUNCTION.flaky));
    // Every probe ran 4 times (runs #0..#3 in the log).
    assert.match(log, /run #3: /);
  });

  it('unbuildable commits right before the culprit: the culprit, or inconclusive with a set holding it', { timeout: 900_000 }, async () => {
    const h = await history({ kind: 'gpf', commits: 120, seed: 23, unbuildable: 3, unbuildableAt: 'before' });
    assert.equal(h.unbuildable.length, 3);
    const { job, log } = await bisect(farm, setup, h, 1, 880_000);
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
