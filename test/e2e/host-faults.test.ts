/**
 * Host faults are never taken for commits, end to end with the `script` recipe: real
 * nats-server, coordinator and agents as processes, the CLI as a process, a generated repository.
 * - a test that reports INFRA on one agent: the other agent finishes the job, right;
 * - INFRA on every agent: the job fails with an infrastructure error naming the reason;
 * - a bad commit that cannot be built: the job fails at once, naming commit, agent, step, log;
 * - a run of skips after the bad commit is confirmed: inconclusive with the reason (--max-skips).
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeHistory, type History } from '../helpers/history.js';
import { runCli, startTestFarm, type TestFarm } from '../helpers/farm.js';

interface JobJson {
  id: string;
  state: string;
  culprit?: { hash: string };
  probesDone: number;
  reason?: string;
  suspects?: { hash: string }[];
  log?: string;
}

describe('host faults, end to end (script recipe)', { timeout: 900_000 }, () => {
  let history: History;
  let dir: string;
  let farm: TestFarm;

  /** A shell script in the test's folder; `$0`-independent, run in the probe's worktree. */
  async function script(name: string, body: string): Promise<string> {
    const p = join(dir, name);
    await writeFile(p, `#!/bin/sh\n${body}\n`);
    await chmod(p, 0o755);
    return p;
  }

  async function bisect(args: string[]): Promise<JobJson> {
    const r = await runCli(['bisect', '--repo', history.dir, '--bad', history.bad, '--good', history.good, '--json', '--coordinator', farm.address, ...args], { timeoutMs: 300_000 });
    assert.ok(r.stdout.trim().startsWith('{'), `no JSON from multisect bisect (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
    return JSON.parse(r.stdout) as JobJson;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'multisect-host-faults-'));
    history = await makeHistory({ commits: 120, seed: 5 });
    farm = await startTestFarm({ agents: 2 });
  });
  after(async () => {
    await farm?.dispose();
    await history?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('a test that reports INFRA on one agent: the other agent finishes the job with the right culprit', async () => {
    // Agent-2's host "has no loop devices": every run there is the host's fault, never the commit's.
    const test = await script('infra-on-agent-2.sh', 'case "$MULTISECT_WORKTREE" in */agents/agent-2/*) echo "INFRA: no loop devices on this host"; exit 1 ;; esac\n[ -e BUG ] && { echo "CRASH: general protection fault in fast_path"; exit 1; }\nexit 0');
    const job = await bisect(['--test', test]);
    assert.equal(job.state, 'succeeded', JSON.stringify(job, null, 2));
    assert.equal(job.culprit?.hash, history.culprit);
    const log = await runCli(['logs', job.id, '--coordinator', farm.address]);
    assert.doesNotMatch(log.stdout, /first bad commit: .*\n[\s\S]*infrastructure/, 'infra runs are not part of the answer');
    const events = await runCli(['agents', '--json', '--coordinator', farm.address]);
    const agents = JSON.parse(events.stdout) as { agentId: string; problem: string }[];
    assert.match(agents.find((a) => a.agentId === 'agent-2')?.problem ?? '', /no loop devices/);
  });

  it('INFRA on every agent: the job fails with an infrastructure error naming the reason', async () => {
    const test = await script('infra-everywhere.sh', 'echo "INFRA: the test rig is unplugged"; exit 1');
    const job = await bisect(['--test', test]);
    assert.equal(job.state, 'failed', JSON.stringify(job, null, 2));
    assert.match(job.reason ?? '', /infrastructure failure on every agent .*the test rig is unplugged/);
  });

  it('a bad commit that cannot be built fails the job at once, naming the commit, the agent, the step and the log', async () => {
    const build = await script('build-fails-at-bad.sh', `[ "$MULTISECT_COMMIT" = "${history.bad}" ] && { echo "error: fast_path.c:12: expected ';'"; exit 2; }\nexit 0`);
    const test = await script('plain.sh', '[ -e BUG ] && exit 1; exit 0');
    const job = await bisect(['--build', build, '--test', test]);
    assert.equal(job.state, 'failed', JSON.stringify(job, null, 2));
    assert.match(job.reason ?? '', new RegExp(`the bad commit ${history.bad.slice(0, 12)} cannot be built \\(agent agent-[12], step: build: error: fast_path.c:12: expected ';'\\); build log: multisect logs ${job.id} --probe ${job.id}-`));
    assert.ok(job.probesDone <= 2, `${job.probesDone} probes: it went on bisecting`);
  });

  it('skips in a row after the bad commit is confirmed end the job inconclusive (--max-skips)', async () => {
    const build = await script('only-ends-build.sh', `case "$MULTISECT_COMMIT" in ${history.bad}|${history.good}) exit 0 ;; esac\necho "error: does not build"; exit 2`);
    const test = await script('plain2.sh', '[ -e BUG ] && exit 1; exit 0');
    const job = await bisect(['--build', build, '--test', test, '--max-skips', '4']);
    assert.equal(job.state, 'inconclusive', JSON.stringify(job, null, 2));
    assert.match(job.reason ?? '', /\d+ probes in a row could not be tested \(last: [0-9a-f]{12}: .*\).*--max-skips/);
    assert.ok(job.probesDone <= 4 + 2 + 2, `${job.probesDone} probes`);
    assert.ok((job.suspects ?? []).length > 0);
  });
});
