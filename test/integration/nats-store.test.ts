import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectNats, ensureStore, prefixedStoreNames } from '../../shared/nats.js';
import { NatsUnavailableError } from '../../shared/errors.js';
import { startNatsServer, uniqueName, type NatsServerHandle } from '../helpers/nats-server.js';

describe('NATS store (real nats-server)', () => {
  let server: NatsServerHandle;
  before(async () => {
    server = await startNatsServer();
  });
  after(async () => {
    await server?.dispose();
  });

  it('ensureStore is idempotent', async () => {
    const nc = await connectNats({ servers: [server.url], name: 'test' });
    try {
      const names = prefixedStoreNames(uniqueName());
      await ensureStore(nc, { names });
      const store = await ensureStore(nc, { names });
      const info = await store.jsm.streams.info(names.verdictStream);
      assert.deepEqual(info.config.subjects, [`${names.verdictSubject}.>`]);
      assert.ok(info.config.duplicate_window > 0);
    } finally {
      await nc.close();
    }
  });

  it('stores a verdict published twice with the same message id once', async () => {
    const nc = await connectNats({ servers: [server.url], name: 'test' });
    try {
      const store = await ensureStore(nc, { names: prefixedStoreNames(uniqueName()) });
      const subject = store.verdictSubject('job1', 'probe-1');
      const a = await store.js.publish(subject, new TextEncoder().encode('v1'), { msgID: 'probe-1' });
      const b = await store.js.publish(subject, new TextEncoder().encode('v1'), { msgID: 'probe-1' });
      assert.equal(a.duplicate, false);
      assert.equal(b.duplicate, true);
      await store.js.publish(subject, new TextEncoder().encode('v2'), { msgID: 'probe-2' });
      const info = await store.jsm.streams.info(store.names.verdictStream);
      assert.equal(info.state.messages, 2);
    } finally {
      await nc.close();
    }
  });

  it('keeps KV and stream data across a restart on the same store', async () => {
    const names = prefixedStoreNames(uniqueName());
    let nc = await connectNats({ servers: [server.url], name: 'test' });
    let store = await ensureStore(nc, { names });
    await store.jobs.put('job-7', new TextEncoder().encode('{"state":"running"}'));
    await store.js.publish(store.verdictSubject('job-7', 'p7'), new TextEncoder().encode('verdict'), { msgID: 'p7' });
    await store.logs.putBlob({ name: 'job-7/p7/build.log' }, new TextEncoder().encode('build ok'));
    await nc.close();

    await server.restart();

    nc = await connectNats({ servers: [server.url], name: 'test' });
    try {
      store = await ensureStore(nc, { names });
      const entry = await store.jobs.get('job-7');
      assert.equal(new TextDecoder().decode(entry?.value), '{"state":"running"}');
      const info = await store.jsm.streams.info(names.verdictStream);
      assert.equal(info.state.messages, 1);
      const blob = await store.logs.getBlob('job-7/p7/build.log');
      assert.equal(new TextDecoder().decode(blob ?? new Uint8Array()), 'build ok');
    } finally {
      await nc.close();
    }
  });

  it('names the URL when NATS cannot be reached', async () => {
    await assert.rejects(
      connectNats({ servers: ['nats://127.0.0.1:1'], name: 'test', attempts: 2, retryDelayMs: 10 }),
      (err: unknown) => err instanceof NatsUnavailableError && /nats:\/\/127\.0\.0\.1:1/.test(err.message),
    );
  });
});
