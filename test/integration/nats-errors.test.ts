/**
 * The codes shared/nats-errors.ts reads are the ones a real nats-server (Debian's 2.9.10) and
 * nats.js send: every case is produced against the server, not built by hand.
 */
import assert from 'node:assert/strict';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { connectNats, ensureStore, prefixedStoreNames } from '../../shared/nats.js';
import { JsErrCode, jsErrCode, natsErrorKind } from '../../shared/nats-errors.js';
import { startNatsServer, uniqueName, type NatsServerHandle } from '../helpers/nats-server.js';

/** The error `p` rejects with (fails the test when it resolves). */
async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail('expected the operation to fail');
}

describe('NATS error codes from a real nats-server', { timeout: 60_000 }, () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let confDir: string;
  before(async () => {
    // Anonymous clients are user `full` (the helper's readiness check connects without
    // credentials); user `mute` may publish nowhere.
    confDir = await mkdtemp(join(tmpdir(), 'multisect-nats-conf-'));
    const conf = join(confDir, 'server.conf');
    await writeFile(
      conf,
      'authorization {\n  users = [\n    { user: full, password: fullpw }\n    { user: mute, password: mutepw, permissions: { publish: { deny: ">" } } }\n  ]\n}\nno_auth_user: full\n',
    );
    server = await startNatsServer({ extraArgs: ['-c', conf] });
    nc = await connectNats({ servers: [server.url], name: 'nats-errors-test' });
  });
  after(async () => {
    await nc?.close().catch(() => undefined);
    await server?.dispose();
    if (confDir) await rm(confDir, { recursive: true, force: true });
  });

  it('stream not found: 10059', async () => {
    const jsm = await nc.jetstreamManager();
    const err = await failure(jsm.streams.info(uniqueName('missing')));
    assert.equal(jsErrCode(err), JsErrCode.StreamNotFound);
    assert.equal(natsErrorKind(err), 'stream-not-found');
  });

  it('consumer not found: 10014', async () => {
    const store = await ensureStore(nc, { names: prefixedStoreNames(uniqueName()) });
    const err = await failure(store.jsm.consumers.info(store.names.verdictStream, 'nobody'));
    assert.equal(jsErrCode(err), JsErrCode.ConsumerNotFound);
    assert.equal(natsErrorKind(err), 'consumer-not-found');
  });

  it('no message found: 10037', async () => {
    const store = await ensureStore(nc, { names: prefixedStoreNames(uniqueName()) });
    const err = await failure(store.jsm.streams.getMessage(store.names.verdictStream, { seq: 42 }));
    assert.equal(jsErrCode(err), JsErrCode.NoMessageFound);
    assert.equal(natsErrorKind(err), 'no-message');
  });

  it('stream name in use with another configuration: 10058', async () => {
    const jsm = await nc.jetstreamManager();
    const name = uniqueName('S');
    await jsm.streams.add({ name, subjects: [`${name}.a`] });
    const err = await failure(jsm.streams.add({ name, subjects: [`${name}.b`] }));
    assert.equal(jsErrCode(err), JsErrCode.StreamNameInUse);
    assert.equal(natsErrorKind(err), 'stream-name-in-use');
  });

  it('a KV update on a stale revision, and a create of an existing key: 10071', async () => {
    const kv = await nc.jetstream().views.kv(uniqueName('kv'), { history: 1 });
    const first = await kv.create('leader', new TextEncoder().encode('a'));
    await kv.update('leader', new TextEncoder().encode('b'), first);
    const stale = await failure(kv.update('leader', new TextEncoder().encode('c'), first));
    assert.equal(jsErrCode(stale), JsErrCode.WrongLastSequence);
    assert.equal(natsErrorKind(stale), 'wrong-last-sequence');
    const exists = await failure(kv.create('leader', new TextEncoder().encode('d')));
    assert.equal(natsErrorKind(exists), 'wrong-last-sequence');
  });

  it('no responders: 503', async () => {
    const err = await failure(nc.request(uniqueName('nobody.home'), new Uint8Array(), { timeout: 2000 }));
    assert.equal(natsErrorKind(err), 'no-responders');
  });

  it('a publish the user may not make: refused', async () => {
    const mute = await connect({ servers: server.url, user: 'mute', pass: 'mutepw' });
    try {
      const err = await failure(mute.request(uniqueName('denied'), new Uint8Array(), { timeout: 2000 }));
      assert.equal(natsErrorKind(err), 'refused');
    } finally {
      await mute.close().catch(() => undefined);
    }
  });

  it('a wrong password: refused, also through NatsUnavailableError', async () => {
    const err = await failure(connectNats({ servers: [server.url], name: 'wrong', user: 'full', pass: 'nope', attempts: 1 }));
    assert.equal((err as Error).name, 'NatsUnavailableError');
    assert.equal(natsErrorKind(err), 'refused');
  });

  it('nothing listening: connection', async () => {
    const err = await failure(connectNats({ servers: ['nats://127.0.0.1:1'], name: 'nowhere', attempts: 1 }));
    assert.equal(natsErrorKind(err), 'connection');
  });
});
