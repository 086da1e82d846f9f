/**
 * The agent's side of NATS JWT authentication against a real nats-server in operator mode
 * (accounts from `natsAuthInit`, the action behind `multisect nats-auth init`): its NATS key
 * survives a restart, a verdict in the outbox keeps the credential of its assignment and is
 * published with it (again after a restart), a credential for another job is refused by NATS
 * (the verdict stays), and an expired one drops the verdict (its probe was re-run long ago).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadNatsUserKey } from '../../agent/nats-key.js';
import { Outbox } from '../../agent/outbox.js';
import { verdictPublisher } from '../../agent/verdict-publisher.js';
import { natsAuthInit } from '../../cli/actions/nats-auth.js';
import { NatsCredentials } from '../../coordinator/nats-credentials.js';
import { silentLogger } from '../../shared/logger.js';
import { agentStore, connectNats, ensureStore, jobVerdictsSubject, storeNamesFor, type Store } from '../../shared/nats.js';
import { inboxPrefixFor } from '../../shared/nats-permissions.js';
import { RunOutcome, Verdict } from '../../shared/proto.js';
import { startNatsServer, uniqueName, type NatsServerHandle } from '../helpers/nats-server.js';

describe('verdicts under assignment credentials (real nats-server, JWT mode)', { timeout: 60_000 }, () => {
  let dir: string;
  let server: NatsServerHandle;
  let credentials: NatsCredentials;
  let store: Store;
  const names = storeNamesFor(uniqueName('vc'));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'multisect-vc-'));
    await natsAuthInit({ out: join(dir, 'auth'), readers: [] });
    await writeFile(join(dir, 'auth', 'server.conf'), 'include nats-jwt-auth.conf\n');
    credentials = new NatsCredentials(await readFile(join(dir, 'auth', 'account.seed'), 'utf8'), names, 3600_000);
    const coordinator = credentials.forCoordinator('test');
    server = await startNatsServer({ extraArgs: ['-c', join(dir, 'auth', 'server.conf')], credentials: coordinator });
    const nc = await connectNats({ servers: [server.url], name: 'coordinator', attempts: 1, credentials: coordinator });
    store = await ensureStore(nc, { names });
  });
  after(async () => {
    await store?.nc.close();
    await server?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const verdict = (probeId: string, jobId: string) =>
    Verdict.fromPartial({ probeId, jobId, commit: 'c0ffee', agentId: 'agent-1', runs: [{ index: 1, outcome: RunOutcome.RUN_OUTCOME_OK }] });

  async function stored(jobId: string): Promise<number> {
    const info = await store.jsm.streams.info(names.verdictStream, { subjects_filter: jobVerdictsSubject(names, jobId) } as never);
    return Object.values((info.state.subjects as Record<string, number> | undefined) ?? {}).reduce((a, b) => a + b, 0);
  }

  it('keeps the agent key, and publishes an outbox verdict with its credential after a restart', async () => {
    const stateDir = join(dir, 'agent');
    const key = await loadNatsUserKey(stateDir);
    assert.equal((await loadNatsUserKey(stateDir)).getPublicKey(), key.getPublicKey(), 'the same key after a restart');
    const outbox = new Outbox(join(stateDir, 'outbox'), silentLogger());
    await outbox.put({ verdict: verdict('ja-b-1', 'ja'), jwt: credentials.forVerdicts('agent-1', key.getPublicKey(), 'ja', 'ja-b-1') });
    await outbox.put({ verdict: verdict('ja-b-2', 'ja'), jwt: credentials.forVerdicts('agent-1', key.getPublicKey(), 'ja', 'ja-b-3') });

    // "Restart": a new key object from the same state directory, and the outbox read back.
    const restarted = await loadNatsUserKey(stateDir);
    const publish = verdictPublisher({ store: () => agentStore(store.nc, names), connection: () => ({ servers: [server.url], inboxPrefix: inboxPrefixFor(restarted.getPublicKey()) }), key: () => restarted, name: 't' });
    const pending = await outbox.pending();
    assert.equal(pending.length, 2);
    const signal = new AbortController().signal;
    const [good, wrongJob] = pending;
    assert.equal(await outbox.publish(publish, good!, signal), true);
    assert.equal(await stored('ja'), 1);
    // The credential of another probe (ja-b-3) carries the verdict of ja-b-2: NATS refuses, the verdict stays.
    assert.equal(await outbox.publish(publish, wrongJob!, signal), false);
    assert.equal(await stored('ja'), 1);
    assert.deepEqual((await readdir(join(stateDir, 'outbox'))).sort(), ['ja-b-2.jwt', 'ja-b-2.verdict']);
  });

  it('drops a verdict whose credential expired, without publishing it', async () => {
    const stateDir = join(dir, 'agent2');
    const key = await loadNatsUserKey(stateDir);
    const outbox = new Outbox(join(stateDir, 'outbox'), silentLogger());
    const expired = new NatsCredentials(await readFile(join(dir, 'auth', 'account.seed'), 'utf8'), names, 60_000);
    // A credential minted an hour ago with a one-minute life.
    const realNow = Date.now;
    Date.now = () => realNow() - 3600_000;
    const jwt = expired.forVerdicts('agent-1', key.getPublicKey(), 'jc', 'jc-b-1');
    Date.now = realNow;
    await outbox.put({ verdict: verdict('jc-b-1', 'jc'), jwt });
    const publish = verdictPublisher({ store: () => agentStore(store.nc, names), connection: () => ({ servers: [server.url], inboxPrefix: inboxPrefixFor(key.getPublicKey()) }), key: () => key, name: 't' });
    assert.equal(await outbox.publish(publish, (await outbox.pending())[0]!, new AbortController().signal), false);
    assert.equal(await stored('jc'), 0);
    assert.deepEqual(await readdir(join(stateDir, 'outbox')), []);
  });
});
