/**
 * The mesh end to end: real nats-server, coordinator and 3 agents as child processes, the CLI as
 * a child process, a generated repository of 500+ commits with merges.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeHistory, type History } from '../helpers/history.js';
import { runCli, startProc, startTestFarm, type TestFarm } from '../helpers/farm.js';
import { makeTestScript, type TestScript } from '../helpers/scripts.js';

interface JobJson {
  id: string;
  state: string;
  culprit?: { hash: string };
  probesDone: number;
  log?: string;
}

async function jobJson(farm: TestFarm, id: string): Promise<JobJson> {
  const r = await runCli(['job', id, '--json', '--coordinator', farm.address]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  return JSON.parse(r.stdout) as JobJson;
}

async function submit(farm: TestFarm, h: History, script: TestScript, extra: string[] = []): Promise<string> {
  const r = await runCli(['bisect', '--repo', h.dir, '--bad', h.bad, '--good', h.good, '--test', script.command, '--no-wait', '--json', '--coordinator', farm.address, ...extra]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  return (JSON.parse(r.stdout) as JobJson).id;
}

async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function waitDone(farm: TestFarm, id: string): Promise<JobJson> {
  let job: JobJson | undefined;
  await waitFor(`job ${id} to end`, async () => {
    job = await jobJson(farm, id).catch(() => undefined);
    return job !== undefined && !['running', 'queued'].includes(job.state);
  }, 240_000);
  return job!;
}

/**
 * No verdict lost or counted twice: the log shows one "building at" line per verdict the job
 * counted, and the job counted no more verdicts than test runs really finished.
 */
async function assertEachProbeOnce(log: string, probesDone: number, script: TestScript): Promise<void> {
  const building = log.split('\n').filter((l) => l.startsWith('building at')).length;
  assert.equal(building, probesDone, log);
  const tested = (await readFile(join(script.marksDir, 'tested'), 'utf8')).split('\n').filter(Boolean).length;
  assert.ok(probesDone <= tested, `${probesDone} verdicts counted for ${tested} test runs`);
}

describe('the mesh, end to end', { timeout: 600_000 }, () => {
  let history: History;
  before(async () => {
    history = await makeHistory({ commits: 520, seed: 11 });
  });
  after(async () => {
    await history?.dispose();
  });

  it('finds the culprit with 3 agents, 3 probes at once', async () => {
    const farm = await startTestFarm({ agents: 3 });
    try {
      const script = await makeTestScript({ sleepSeconds: 0.5 });
      const r = await runCli(['bisect', '--repo', history.dir, '--bad', history.bad, '--good', history.good, '--test', script.command, '--json', '--coordinator', farm.address]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const job = JSON.parse(r.stdout) as JobJson;
      assert.equal(job.state, 'succeeded');
      assert.equal(job.culprit?.hash, history.culprit);
      assert.ok((await script.maxConcurrency()) >= 3, `at most ${await script.maxConcurrency()} probes ran at once`);
      assert.match(job.log ?? '', /first bad commit: [0-9a-f]{12} /);
    } finally {
      await farm.dispose();
    }
  });

  it('survives kill -9 of an agent mid-probe', async () => {
    const farm = await startTestFarm({ agents: 3, leaseSeconds: 3 });
    try {
      const script = await makeTestScript({ sleepSeconds: 1.5 });
      const id = await submit(farm, history, script);
      await waitFor('a probe running', async () => (await script.maxConcurrency()) >= 1);
      await farm.agents.get('agent-2')!.kill('SIGKILL');
      const job = await waitDone(farm, id);
      assert.equal(job.state, 'succeeded');
      assert.equal(job.culprit?.hash, history.culprit);
    } finally {
      await farm.dispose();
    }
  });

  it('survives kill -9 of the coordinator and a restart, counting every verdict once', async () => {
    const farm = await startTestFarm({ agents: 3, leaseSeconds: 5 });
    try {
      const script = await makeTestScript({ sleepSeconds: 1 });
      // The CLI follows the job across the restart.
      const follower = startProc(['bisect', '--repo', history.dir, '--bad', history.bad, '--good', history.good, '--test', script.command, '--json', '--coordinator', farm.address]);
      let id = '';
      await waitFor('the job to have verdicts', async () => {
        const list = await runCli(['jobs', '--json', '--coordinator', farm.address]);
        const jobs = list.code === 0 ? (JSON.parse(list.stdout) as JobJson[]) : [];
        id = jobs[0]?.id ?? '';
        return (jobs[0]?.probesDone ?? 0) >= 2;
      });
      await farm.coordinator.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 1500));
      await farm.startCoordinator();
      const code = await follower.exited;
      assert.equal(code, 0, follower.output());
      const job = JSON.parse(follower.output().slice(follower.output().indexOf('{'))) as JobJson;
      assert.equal(job.culprit?.hash, history.culprit);
      const log = (await runCli(['logs', id, '--json', '--coordinator', farm.address])).stdout;
      const text = (JSON.parse(log) as { text: string }).text;
      const done = await jobJson(farm, id);
      await assertEachProbeOnce(text, done.probesDone, script);
    } finally {
      await farm.dispose();
    }
  });

  it('survives a nats-server restart on the same store, longer than the leader lease', async () => {
    // The coordinator loses its leader lease while NATS is away (ttl 2 s, outage 4 s) and must
    // stand by and take it back by itself.
    const farm = await startTestFarm({ agents: 3, leaderTtlSeconds: 2 });
    try {
      const script = await makeTestScript({ sleepSeconds: 1 });
      const id = await submit(farm, history, script);
      await waitFor('verdicts', async () => (await jobJson(farm, id)).probesDone >= 2);
      await farm.nats.stop();
      await new Promise((r) => setTimeout(r, 4000));
      await farm.nats.restart();
      const job = await waitDone(farm, id);
      assert.equal(job.state, 'succeeded');
      assert.equal(job.culprit?.hash, history.culprit);
      assert.match(farm.coordinator.output(), /leadership lost \(.*\); standing by to take it back/);
    } finally {
      await farm.dispose();
    }
  });

  it('runs two jobs at once on the same agents', async () => {
    const farm = await startTestFarm({ agents: 3 });
    const other = await makeHistory({ commits: 300, seed: 5, culprit: 111 });
    try {
      const script = await makeTestScript({ sleepSeconds: 0.5 });
      const a = await submit(farm, history, script);
      const b = await runCli(['bisect', '--repo', other.dir, '--bad', other.bad, '--good', other.good, '--test', script.command, '--no-wait', '--json', '--coordinator', farm.address]);
      const bId = (JSON.parse(b.stdout) as JobJson).id;
      // Both make progress before either ends.
      await waitFor('both jobs to have verdicts', async () => {
        const [ja, jb] = await Promise.all([jobJson(farm, a), jobJson(farm, bId)]);
        assert.ok(ja.state === 'running' || jb.probesDone > 0, 'job A ended before job B got any verdict');
        return ja.probesDone > 0 && jb.probesDone > 0;
      });
      const [ja, jb] = await Promise.all([waitDone(farm, a), waitDone(farm, bId)]);
      assert.equal(ja.culprit?.hash, history.culprit);
      assert.equal(jb.culprit?.hash, other.culprit);
    } finally {
      await farm.dispose();
      await other.dispose();
    }
  });
});
