/**
 * Log objects written blind (shared/log-objects.ts: publish only, as an agent whose NATS user
 * may read nothing) are proper objects to nats.js's ObjectStore on a real nats-server: get
 * checks their digest, list shows them, several chunks come back in order, an empty log and a
 * rewritten name work.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from 'nats';
import { putLogObject } from '../../shared/log-objects.js';
import { connectNats, ensureStore, storeNamesFor, type Store } from '../../shared/nats.js';
import { startNatsServer, uniqueName, type NatsServerHandle } from '../helpers/nats-server.js';

describe('log objects written without reading', { timeout: 60_000 }, () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let store: Store;

  before(async () => {
    server = await startNatsServer();
    nc = await connectNats({ servers: [server.url], name: 't', attempts: 1 });
    store = await ensureStore(nc, { names: storeNamesFor(uniqueName('lo')) });
  });
  after(async () => {
    await nc?.close();
    await server?.dispose();
  });

  const put = (name: string, data: Uint8Array, chunkBytes?: number) => putLogObject(nc, store.js, store.names.logsBucket, name, data, chunkBytes ? { chunkBytes } : {});

  it('reads back through nats.js, digest checked, over several chunks', async () => {
    const data = randomBytes(10_000);
    await put('j1/p1/console.log', data, 1000);
    const info = await store.logs.info('j1/p1/console.log');
    assert.equal(info?.chunks, 10);
    assert.equal(info?.size, 10_000);
    assert.deepEqual(Buffer.from((await store.logs.getBlob('j1/p1/console.log'))!), data);
  });

  it('an uneven last chunk, an empty log, and a name with every kind of character', async () => {
    const data = randomBytes(2500);
    await put('j1/p1/run-2 (tcg).log', data, 1000);
    assert.deepEqual(Buffer.from((await store.logs.getBlob('j1/p1/run-2 (tcg).log'))!), data);
    await put('j1/p1/empty.log', new Uint8Array());
    assert.equal((await store.logs.getBlob('j1/p1/empty.log'))?.length, 0);
    const names = (await store.logs.list()).map((e) => e.name).sort();
    assert.deepEqual(names, ['j1/p1/console.log', 'j1/p1/empty.log', 'j1/p1/run-2 (tcg).log']);
  });

  it('a name written again (a retried put) reads as the last write', async () => {
    await put('j1/p2/build.log', new TextEncoder().encode('first'));
    await put('j1/p2/build.log', new TextEncoder().encode('second'));
    assert.equal(new TextDecoder().decode((await store.logs.getBlob('j1/p2/build.log'))!), 'second');
  });
});
