/**
 * A farm with NATS JWT authentication, end to end: `multisect nats-auth init` makes the account,
 * nats-server runs with it (TLS with client certificates too), the coordinator holds the
 * account seed and mints credentials: an agent's own (logs only) at Register, and one per
 * assignment that may publish on that probe's verdict subject only. A bisection runs through it;
 * then an agent (played by the test, with a real certificate and a real assignment) tries what
 * it must not, and NATS refuses: another job's verdicts, job state, events, verdicts without an
 * assignment's credential, a credential the farm did not sign.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { credsAuthenticator, connect, type NatsConnection } from 'nats';
import { CHANNEL_OPTIONS, channelCredentials } from '../../shared/grpc.js';
import { agentStore, connectNats, ensureStore, DEFAULT_STORE_NAMES } from '../../shared/nats.js';
import { metaSubject } from '../../shared/log-objects.js';
import { accountJwt, createAccountKey, createOperatorKey, createUserKey, decodeJwt, userJwt, type KeyPair } from '../../shared/nats-jwt.js';
import { AgentMessage, AgentServiceClient, type CoordinatorMessage, RegisterRequest, type RegisterResponse, RunOutcome, Verdict } from '../../shared/proto.js';
import { makeLabCerts, startSecureFarm, startSecureNats, type LabCerts, type SecureFarm, type SecureNats } from '../helpers/certs.js';
import { runCli } from '../helpers/farm.js';
import { makeHistory, type History } from '../helpers/history.js';
import { makeTestScript } from '../helpers/scripts.js';
import { readFile } from 'node:fs/promises';

const bytes = (s: string) => new TextEncoder().encode(s);

/** Assert that NATS refuses a publish for lack of permission. */
async function refused(what: string, fn: () => Promise<unknown>): Promise<void> {
  await assert.rejects(fn(), (err: Error) => {
    assert.match(err.message, /Permissions Violation for Publish/, what);
    return true;
  });
}

describe('a farm with NATS JWT authentication (per-job verdict credentials)', { timeout: 300_000 }, () => {
  let lab: LabCerts;
  let nats: SecureNats;
  let history: History;
  let farm: SecureFarm;
  let address: string;
  let authDir: string;
  let jobA = '';
  let operatorEnv: NodeJS.ProcessEnv;

  before(async () => {
    [lab, history] = await Promise.all([makeLabCerts({ agents: ['agent-1', 'agent-2'], operators: ['alice'] }), makeHistory({ commits: 60, seed: 5 })]);
    authDir = join(lab.dir, 'nats-jwt');
    const init = await runCli(['nats-auth', 'init', '--out', authDir, '--reader', 'alice', '--json']);
    assert.equal(init.code, 0, init.stderr);
    nats = await startSecureNats(lab, { jwtAuth: authDir });
    farm = await startSecureFarm(lab, nats, { agentId: 'agent-1', operator: 'alice', natsAccountSeedFile: join(authDir, 'account.seed') });
    ({ address, operatorEnv } = farm);
  });
  after(async () => {
    await farm?.dispose();
    await nats?.dispose();
    await history?.dispose();
    await lab?.dispose();
  });

  it('bisects with verdicts published under per-assignment credentials', async () => {
    const script = await makeTestScript({ sleepSeconds: 0.1 });
    const r = await runCli(['bisect', '--repo', history.dir, '--bad', history.bad, '--good', history.good, '--test', script.command, '--json', '--coordinator', address], { env: operatorEnv, timeoutMs: 240_000 });
    assert.equal(r.code, 0, r.stderr + r.stdout + farm.agent?.output().slice(-3000));
    const job = JSON.parse(r.stdout) as { id: string; culprit?: { hash: string } };
    assert.equal(job.culprit?.hash, history.culprit);
    jobA = job.id;
    // Every verdict was accepted: nothing left in the agent's outbox.
    const left = await readdir(join(farm.stateDir, 'a', 'outbox')).catch(() => [] as string[]);
    assert.deepEqual(left.filter((f) => f.endsWith('.verdict')), []);
  });

  it('refuses an agent that sends no NATS key', async () => {
    const client = new AgentServiceClient(address, channelCredentials({ kind: 'tls', files: lab.agent('agent-2') }), CHANNEL_OPTIONS);
    const req = RegisterRequest.fromPartial({ agentId: 'agent-2', host: 'h', slots: 1, cpus: 1, vmCapacity: 1, recipeKinds: ['script'] });
    const err = await new Promise<ServiceError | undefined>((resolve) => client.register(req, new Metadata(), { deadline: Date.now() + 5000 }, (e) => resolve(e ?? undefined)));
    client.close();
    assert.equal(err?.code, status.INVALID_ARGUMENT, err?.details);
    assert.match(err?.details ?? '', /nats_user_key/);
  });

  it('NATS refuses what the credentials of an agent and of its assignment do not allow', async () => {
    assert.ok(jobA, 'the first bisection ran');
    // The real agent goes away, so the test (as agent-2) gets the next job's probe.
    await farm.agent?.kill('SIGTERM');
    farm.agent = undefined;
    const key = createUserKey();
    const client = new AgentServiceClient(address, channelCredentials({ kind: 'tls', files: lab.agent('agent-2') }), CHANNEL_OPTIONS);
    const stream = client.work();
    let base: NatsConnection | undefined;
    let scoped: NatsConnection | undefined;
    let jobB = '';
    try {
      const req = RegisterRequest.fromPartial({ agentId: 'agent-2', host: 'h', slots: 1, cpus: 1, vmCapacity: 1, recipeKinds: ['script'], natsUserKey: key.getPublicKey() });
      const reg = await new Promise<RegisterResponse>((resolve, reject) => client.register(req, new Metadata(), { deadline: Date.now() + 5000 }, (e, res) => (e ? reject(e) : resolve(res!))));
      assert.ok(reg.natsJwt, 'an agent credential');
      assert.equal(decodeJwt(reg.natsJwt).sub, key.getPublicKey());

      const assignment = new Promise<{ probeId: string; jobId: string; commit: string; jwt: string }>((resolve, reject) => {
        stream.on('data', (m: CoordinatorMessage) => {
          if (m.msg?.$case === 'assign') resolve({ probeId: m.msg.value.probe!.id, jobId: m.msg.value.probe!.jobId, commit: m.msg.value.probe!.commit, jwt: m.msg.value.verdictJwt });
        });
        stream.on('error', reject);
      });
      stream.on('error', () => undefined);
      stream.write(AgentMessage.fromPartial({ msg: { $case: 'hello', value: { agentId: 'agent-2', runningProbeIds: [] } } }));
      const beat = setInterval(() => stream.write(AgentMessage.fromPartial({ msg: { $case: 'heartbeat', value: { timeMs: Date.now(), freeSlots: 0 } } })), 500);
      try {
        const script = await makeTestScript({ sleepSeconds: 0.1 });
        const submit = await runCli(['bisect', '--repo', history.dir, '--bad', history.bad, '--good', history.good, '--test', script.command, '--no-wait', '--json', '--coordinator', address], { env: operatorEnv });
        assert.equal(submit.code, 0, submit.stderr);
        jobB = (JSON.parse(submit.stdout) as { id: string }).id;
        const a = await assignment;
        assert.equal(a.jobId, jobB);
        assert.deepEqual((decodeJwt(a.jwt).nats as { pub: { allow: string[] } }).pub.allow, [`multisect.verdict.${jobB}.${a.probeId}`]);

        const servers = [nats.url];
        const tls = lab.agent('agent-2');
        // Its own inbox prefix, as the coordinator said: NATS lets it subscribe nowhere else.
        assert.equal(reg.natsInboxPrefix, `_INBOX_${key.getPublicKey()}`);
        const inboxPrefix = reg.natsInboxPrefix;
        base = await connectNats({ servers, name: 'agent-2', attempts: 1, tls, inboxPrefix, credentials: { jwt: reg.natsJwt, seed: key.getSeed() } });
        scoped = await connectNats({ servers, name: 'agent-2-verdict', attempts: 1, tls, inboxPrefix, credentials: { jwt: a.jwt, seed: key.getSeed() } });
        const js = scoped.jetstream();
        const verdict = (jobId: string) => Verdict.encode(Verdict.fromPartial({ probeId: a.probeId, jobId, commit: a.commit, agentId: 'agent-2', runs: [{ index: 1, outcome: RunOutcome.RUN_OUTCOME_CRASH, title: 'made up' }] })).finish();
        await refused("a verdict for another job (the finished one)", () => js.publish(`multisect.verdict.${jobA}.${a.probeId}`, verdict(jobA), { timeout: 3000 }));
        await refused('the verdict of another probe of the same job', () => js.publish(`multisect.verdict.${jobB}.${jobB}-b-0123456789abcdef`, verdict(jobB), { timeout: 3000 }));
        await refused('job state', () => js.publish(`$KV.jobs.${jobB}`, bytes('{}'), { timeout: 3000 }));
        await refused('events', () => js.publish(`multisect.event.${jobB}`, bytes('{}'), { timeout: 3000 }));
        // Its own connection may write logs, but publish no verdict at all, and read nothing.
        const store = agentStore(base, DEFAULT_STORE_NAMES);
        await store.putLog(`${jobB}/${a.probeId}/run-1.log`, bytes('console'));
        await refused('a verdict on the agent connection', () => store.js.publish(`multisect.verdict.${jobB}.${a.probeId}`, verdict(jobB), { timeout: 3000 }));
        const jsm = await base.jetstreamManager({ checkAPI: false });
        await refused("reading another job's logs", () => jsm.streams.getMessage('OBJ_logs', { last_by_subj: metaSubject('logs', `${jobA}/x`) }));
        await refused('job state, read', () => jsm.streams.getMessage('KV_jobs', { last_by_subj: `$KV.jobs.${jobA}` }));
        // The assignment's own job is open to it: the verdict is stored.
        const ack = await js.publish(`multisect.verdict.${jobB}.${a.probeId}`, verdict(jobB), { msgID: a.probeId, timeout: 5000 });
        assert.ok(ack.seq > 0);
      } finally {
        clearInterval(beat);
      }
    } finally {
      await scoped?.close();
      await base?.close();
      stream.cancel();
      client.close();
      if (jobB) await runCli(['cancel', jobB, '--coordinator', address], { env: operatorEnv });
    }
  });

  it('NATS refuses a credential the farm did not sign', async () => {
    // A look-alike: same permissions, signed by an account of another operator.
    const other: KeyPair = createAccountKey();
    accountJwt(createOperatorKey(), other, 'impostor', { jetstream: true });
    const key = createUserKey();
    const jwt = userJwt(other, { userKey: key.getPublicKey(), name: 'impostor', permissions: { pub: { allow: ['>'] }, sub: { allow: ['>'] } } });
    await assert.rejects(connectNats({ servers: [nats.url], name: 'impostor', attempts: 1, tls: lab.agent('agent-2'), credentials: { jwt, seed: key.getSeed() } }), /Authorization Violation|cannot connect/);
  });

  it('a reader credential reads events and logs and publishes nothing', async () => {
    const creds = await readFile(join(authDir, 'readers', 'alice.creds'));
    const t = lab.operator('alice');
    const nc = await connect({ servers: [nats.url], authenticator: credsAuthenticator(creds), inboxPrefix: '_INBOX_reader_alice', tls: { caFile: t.ca, certFile: t.cert, keyFile: t.key } });
    try {
      const store = await ensureStore(nc, { bindOnly: true, names: DEFAULT_STORE_NAMES });
      const c = await store.js.consumers.get('EVENTS', { filterSubjects: `multisect.event.${jobA}` });
      assert.ok(await c.next({ expires: 3000 }), 'an event of the job');
      assert.ok((await store.logs.list()).some((e) => e.name.startsWith(`${jobA}/`)), "the job's logs");
      await refused('a verdict', () => store.js.publish(`multisect.verdict.${jobA}.x`, bytes('x'), { timeout: 3000 }));
    } finally {
      await nc.close();
    }
  });
});
