/**
 * Faults, end to end with real processes: three nats-server processes clustered on loopback
 * (streams and KV replicated 3x), coordinators and agents as CLI child processes.
 * - a NATS server killed mid-job: the job finishes and no verdict is lost;
 * - the active coordinator killed: the standby takes over within 15 s (leader election through
 *   the KV bucket) and the job finishes with the right culprit;
 * - an agent paused (SIGSTOP) for longer than its lease: the probe runs elsewhere, and the first
 *   agent's late verdict changes nothing.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from 'nats';
import { makeHistory, type History } from '../helpers/history.js';
import { runCli, startProc, startTestFarm, type TestFarm } from '../helpers/farm.js';
import { startNatsCluster, type NatsCluster } from '../helpers/nats-cluster.js';
import { makeTestScript, type TestScript } from '../helpers/scripts.js';

interface JobJson {
  id: string;
  state: string;
  culprit?: { hash: string };
  probesDone: number;
}

interface EventJson {
  kind: string;
  probeId?: string;
  commit?: string;
  agentId?: string;
  message?: string;
}

async function jobJson(farm: TestFarm, id: string): Promise<JobJson> {
  const r = await runCli(['job', id, '--json', '--coordinator', farm.address]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  return JSON.parse(r.stdout) as JobJson;
}

async function submit(farm: TestFarm, h: History, script: TestScript): Promise<string> {
  const r = await runCli(['bisect', '--repo', h.dir, '--bad', h.bad, '--good', h.good, '--test', script.command, '--no-wait', '--json', '--coordinator', farm.address]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  return (JSON.parse(r.stdout) as JobJson).id;
}

async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs = 120_000, stepMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

async function waitDone(farm: TestFarm, id: string): Promise<JobJson> {
  let job: JobJson | undefined;
  await waitFor(`job ${id} to end`, async () => {
    job = await jobJson(farm, id).catch(() => undefined);
    return job !== undefined && !['running', 'queued'].includes(job.state);
  }, 300_000, 500);
  return job!;
}

async function events(farm: TestFarm, id: string): Promise<EventJson[]> {
  const r = await runCli(['watch', id, '--json', '--coordinator', farm.address]);
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as EventJson);
}

/** The test's own NATS credential (the cluster runs NATS JWT authentication). */
let natsAuth: NatsCluster['natsAuth'] = {};

/** Verdicts stored in the VERDICTS stream for a job. */
async function storedVerdicts(farm: TestFarm, id: string): Promise<number> {
  const nc = await connect({ servers: farm.natsUrls, ...natsAuth });
  try {
    const subject = `${farm.namespace}.verdict.${id}.>`;
    const info = await (await nc.jetstreamManager()).streams.info(`${farm.namespace}_VERDICTS`, { subjects_filter: subject });
    return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
  } finally {
    await nc.close();
  }
}

/** Verdicts agents still hold unpublished (their outboxes). */
async function unpublished(farm: TestFarm): Promise<string[]> {
  const out: string[] = [];
  for (const id of farm.agents.keys()) {
    const files = await readdir(join(farm.stateDir, 'agents', id, 'outbox')).catch(() => [] as string[]);
    out.push(...files.filter((f) => f.endsWith('.verdict')).map((f) => `${id}/${f}`));
  }
  return out;
}

describe('faults on a 3-server NATS cluster', { timeout: 900_000 }, () => {
  let cluster: NatsCluster;
  let history: History;
  before(async () => {
    // NATS JWT authentication, as a lab that does not trust its agent hosts runs it: agents
    // publish every verdict with the credential of its assignment, through kills and failovers.
    [cluster, history] = await Promise.all([startNatsCluster(3, { jwt: true }), makeHistory({ commits: 300, seed: 23 })]);
    natsAuth = cluster.natsAuth;
  });
  after(async () => {
    await cluster?.dispose();
    await history?.dispose();
  });

  it('one NATS server killed mid-job: the job finishes and no verdict is lost', async () => {
    const farm = await startTestFarm({ agents: 3, external: { nats: cluster.nodes[0]!, urls: cluster.urls, replicas: 3 }, natsAccountSeedFile: cluster.accountSeedFile });
    try {
      const script = await makeTestScript({ sleepSeconds: 1 });
      const id = await submit(farm, history, script);
      await waitFor('verdicts', async () => (await jobJson(farm, id)).probesDone >= 2);
      const killedAt = Date.now();
      await cluster.nodes[1]!.kill();
      const job = await waitDone(farm, id);
      assert.equal(job.state, 'succeeded');
      assert.equal(job.culprit?.hash, history.culprit);
      // Every verdict an agent produced reached JetStream (no outbox left), and the job counted
      // every verdict stored while it ran (late ones of probes cancelled at the end excepted).
      await waitFor('outboxes to drain', async () => (await unpublished(farm)).length === 0, 30_000);
      const stored = await storedVerdicts(farm, id);
      const tested = (await readFile(join(script.marksDir, 'tested'), 'utf8')).split('\n').filter(Boolean).length;
      assert.ok(stored >= job.probesDone, `${stored} stored, ${job.probesDone} counted`);
      assert.ok(stored - job.probesDone <= 3, `${stored - job.probesDone} stored verdicts not counted`);
      assert.ok(job.probesDone <= tested);
      console.log(`# nats kill: ${job.probesDone} verdicts counted, ${stored} stored, ${tested} test runs; finished ${Date.now() - killedAt} ms after the kill`);
    } finally {
      if (process.env.DEBUG_FAULTS) console.log(farm.coordinator.output().split('\n').filter((l) => !/probe-progress|verdict applied/.test(l)).slice(-60).join('\n'));
      await farm.dispose();
      await cluster.nodes[1]!.restart();
      await cluster.waitReady();
    }
  });

  it('the active coordinator killed: the standby takes over within 15 s and the job finishes with the right culprit', async () => {
    const farm = await startTestFarm({ agents: 3, coordinators: 2, leaderTtlSeconds: 5, external: { nats: cluster.nodes[0]!, urls: cluster.urls, replicas: 3 }, natsAccountSeedFile: cluster.accountSeedFile });
    try {
      const standby = farm.coordinators[1]!;
      assert.match(standby.output(), /coordinator standing by/);
      assert.doesNotMatch(standby.output(), /coordinator serving/);
      // The standby does not listen: operator calls at its address alone fail.
      const direct = await runCli(['jobs', '--coordinator', farm.addresses[1]!]);
      assert.notEqual(direct.code, 0);
      const script = await makeTestScript({ sleepSeconds: 1 });
      // The CLI is given both addresses and follows the job across the failover.
      const follower = startProc(['bisect', '--repo', history.dir, '--bad', history.bad, '--good', history.good, '--test', script.command, '--json', '--coordinator', farm.address]);
      let id = '';
      await waitFor('the job to have verdicts', async () => {
        const list = await runCli(['jobs', '--json', '--coordinator', farm.address]);
        const jobs = list.code === 0 ? (JSON.parse(list.stdout) as JobJson[]) : [];
        id = jobs[0]?.id ?? '';
        return (jobs[0]?.probesDone ?? 0) >= 2;
      });
      assert.doesNotMatch(standby.output(), /verdict applied|job recovered/);
      const killedAt = Date.now();
      await farm.coordinators[0]!.kill('SIGKILL');
      await waitFor('the standby to serve', async () => /coordinator serving/.test(standby.output()), 20_000, 50);
      const servingMs = Date.now() - killedAt;
      await waitFor('an operator call to succeed', async () => (await runCli(['jobs', '--coordinator', farm.address])).code === 0, 20_000, 100);
      const answeringMs = Date.now() - killedAt;
      console.log(`# failover: standby serving ${servingMs} ms after kill -9 of the leader, answering the CLI after ${answeringMs} ms`);
      assert.ok(servingMs <= 15_000, `takeover took ${servingMs} ms`);
      const code = await follower.exited;
      assert.equal(code, 0, follower.output());
      const job = await jobJson(farm, id);
      assert.equal(job.state, 'succeeded');
      assert.equal(job.culprit?.hash, history.culprit);
      assert.match(standby.output(), /leader lease acquired/);
    } finally {
      await farm.dispose();
    }
  });

  it('an agent paused longer than its lease: the probe runs elsewhere, and its late verdict changes nothing', async () => {
    const farm = await startTestFarm({ agents: 1, leaseSeconds: 3, external: { nats: cluster.nodes[0]!, urls: cluster.urls, replicas: 3 }, natsAccountSeedFile: cluster.accountSeedFile });
    try {
      const script = await makeTestScript({ sleepSeconds: 2 });
      const id = await submit(farm, history, script);
      // The first test run on agent-1 has started: pause the agent (not its test command).
      await waitFor('a test run', async () => (await readdir(join(script.marksDir, 'running')).catch(() => [])).length > 0, 120_000, 50);
      const paused = farm.agents.get('agent-1')!;
      paused.child.kill('SIGSTOP');
      const pausedAt = Date.now();
      // Past the lease (3 s after the last heartbeat), a second agent arrives: the probe is
      // proposed again, to it (no evidence has changed, so the engine proposes the same commit).
      await new Promise((r) => setTimeout(r, 5000));
      const second = farm.startAgent('agent-2');
      // Keep agent-1 paused until agent-2 is connected and has had time to start the probe.
      await waitFor('agent-2 to connect', async () => /connected to the coordinator/.test(second.output()), 60_000, 100);
      await new Promise((r) => setTimeout(r, 3000));
      paused.child.kill('SIGCONT');
      console.log(`# agent-1 paused for ${Date.now() - pausedAt} ms`);
      const job = await waitDone(farm, id);
      assert.equal(job.state, 'succeeded');
      assert.equal(job.culprit?.hash, history.culprit);
      const evs = await events(farm, id);
      const firstStart = evs.find((e) => e.kind === 'probe-started')!;
      assert.equal(firstStart.agentId, 'agent-1');
      const expired = evs.find((e) => e.kind === 'probe-cancelled' && e.probeId === firstStart.probeId);
      assert.ok(expired, 'the lease of the paused agent expired');
      assert.match(expired.message ?? '', /agent-1.*lease expired|lease of agent-1 .* expired/);
      const elsewhere = evs.find((e) => e.kind === 'probe-started' && e.commit === firstStart.commit && e.agentId === 'agent-2');
      assert.ok(elsewhere, `commit ${firstStart.commit} was not run on agent-2:\n${evs.map((e) => `${e.kind} ${e.agentId ?? ''} ${e.message ?? ''}`).join('\n')}`);
      const late = evs.filter((e) => e.kind === 'verdict' && e.probeId === firstStart.probeId);
      const again = evs.filter((e) => e.kind === 'verdict' && e.probeId === elsewhere.probeId);
      // Each probe's verdict counts at most once; the commit's outcome is known at least once.
      assert.ok(late.length <= 1 && again.length <= 1, 'a verdict was counted twice');
      assert.ok(late.length + again.length >= 1, 'no verdict for the commit');
      // The late verdict is either ignored (the probe was cancelled before its run ended) or
      // counted as one more run on the same commit (then agent-2's copy may be cancelled as no
      // longer useful): the same outcome either way, so the same culprit.
      const how = late.length === 0 ? 'not counted' : `counted harmlessly (${late[0]!.message?.split('\n').join(' | ')})`;
      console.log(`# late verdict of the paused agent: ${how}; agent-2's verdict on the same commit: ${again.length ? 'counted' : 'cancelled as no longer useful'}`);
      if (late.length > 0) assert.equal(late[0]!.commit, firstStart.commit);
    } finally {
      await farm.dispose();
    }
  });
});
