/**
 * A farm as a lab runs it, end to end: nats-server with TLS and certificate-mapped role users
 * (deploy/nats/permissions.conf through make-lab-certs' nats-auth.conf), the coordinator and an
 * agent with mutual TLS, the CLI with an operator certificate. A bisection runs through it; then
 * NATS refuses an agent what its role does not allow.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { agentStore, connectNats, DEFAULT_STORE_NAMES, ensureStore } from '../../shared/nats.js';
import { metaSubject } from '../../shared/log-objects.js';
import { AGENT_ROLE_INBOX, READER_ROLE_INBOX } from '../../shared/nats-permissions.js';
import { makeLabCerts, startSecureFarm, startSecureNats, type LabCerts, type SecureFarm, type SecureNats } from '../helpers/certs.js';
import { runCli } from '../helpers/farm.js';
import { makeHistory, type History } from '../helpers/history.js';
import { makeTestScript } from '../helpers/scripts.js';

describe('a TLS farm with NATS role users', { timeout: 300_000 }, () => {
  let lab: LabCerts;
  let nats: SecureNats;
  let history: History;
  let farm: SecureFarm;
  let address: string;
  let jobId = '';
  let operatorEnv: NodeJS.ProcessEnv;

  before(async () => {
    [lab, history] = await Promise.all([makeLabCerts({ agents: ['agent-1'], operators: ['alice'] }), makeHistory({ commits: 80, seed: 3 })]);
    nats = await startSecureNats(lab);
    farm = await startSecureFarm(lab, nats, { agentId: 'agent-1', operator: 'alice' });
    ({ address, operatorEnv } = farm);
  });
  after(async () => {
    await farm?.dispose();
    await nats?.dispose();
    await history?.dispose();
    await lab?.dispose();
  });

  it('bisects through mutual TLS, with agents bound to the streams and putting their logs', async () => {
    const script = await makeTestScript({ sleepSeconds: 0.1 });
    const r = await runCli(['bisect', '--repo', history.dir, '--bad', history.bad, '--good', history.good, '--test', script.command, '--json', '--coordinator', address], { env: operatorEnv, timeoutMs: 240_000 });
    assert.equal(r.code, 0, r.stderr + r.stdout + farm.agent?.output().slice(-3000));
    const job = JSON.parse(r.stdout) as { id: string; state: string; culprit?: { hash: string } };
    assert.equal(job.culprit?.hash, history.culprit);
    jobId = job.id;
    const agents = await runCli(['agents', '--json', '--coordinator', address], { env: operatorEnv });
    assert.equal((JSON.parse(agents.stdout) as Array<{ agentId: string }>)[0]?.agentId, 'agent-1');
  });

  it('an operator command without a certificate is refused', async () => {
    const r = await runCli(['jobs', '--coordinator', address], { env: { MULTISECT_TLS_CA: '', MULTISECT_TLS_CERT: '', MULTISECT_TLS_KEY: '' } });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no coordinator answers/);
  });

  it('NATS refuses an agent writing job state, publishing events, managing streams or reading logs', async () => {
    assert.ok(jobId, 'the bisection ran');
    const nc = await connectNats({ servers: [nats.url], name: 'rogue-agent', attempts: 1, tls: lab.agent('agent-1'), inboxPrefix: AGENT_ROLE_INBOX });
    try {
      const store = agentStore(nc, DEFAULT_STORE_NAMES);
      // No API check: an agent may not even ask for account info.
      const jsm = await nc.jetstreamManager({ checkAPI: false });
      const refused = async (what: string, fn: () => Promise<unknown>) => {
        await assert.rejects(fn(), (err: Error) => {
          assert.match(err.message, /Permissions Violation for Publish/, what);
          return true;
        });
      };
      await refused('job state', () => store.js.publish(`$KV.jobs.${jobId}`, new Uint8Array([1]), { timeout: 3000 }));
      await refused("another job's events", () => store.js.publish('multisect.event.jother', new Uint8Array([1]), { timeout: 3000 }));
      await refused('stream creation', () => jsm.streams.add({ name: 'ROGUE', subjects: ['rogue.>'] }));
      await refused('deleting the verdicts', () => jsm.streams.purge('VERDICTS'));
      await refused('account info', () => jsm.getAccountInfo());
      await refused("reading a job's logs", () => jsm.streams.getMessage('OBJ_logs', { last_by_subj: metaSubject('logs', `${jobId}/probe/extra.log`) }));
      // What it needs is allowed: its verdict subject space and writing log objects.
      await store.putLog(`${jobId}/probe/extra.log`, new TextEncoder().encode('log'));
    } finally {
      await nc.close();
    }
    // The job's state is unchanged.
    const r = await runCli(['job', jobId, '--json', '--coordinator', address], { env: operatorEnv });
    assert.equal((JSON.parse(r.stdout) as { state: string }).state, 'succeeded');
  });

  it('NATS lets an operator read events and logs but publish nothing', async () => {
    const nc = await connectNats({ servers: [nats.url], name: 'operator', attempts: 1, tls: lab.operator('alice'), inboxPrefix: READER_ROLE_INBOX });
    try {
      const store = await ensureStore(nc, { bindOnly: true });
      const c = await store.js.consumers.get('EVENTS', { filterSubjects: `multisect.event.${jobId}` });
      const m = await c.next({ expires: 3000 });
      assert.ok(m, 'an event of the job');
      // The agent's blind write is a proper object (nats.js reads it and checks its digest).
      assert.equal(new TextDecoder().decode((await store.logs.getBlob(`${jobId}/probe/extra.log`))!), 'log');
      await assert.rejects(store.js.publish(`multisect.verdict.${jobId}.x`, new Uint8Array([1]), { timeout: 3000 }), /Permissions Violation/);
    } finally {
      await nc.close();
    }
  });
});
