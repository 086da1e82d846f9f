/**
 * Writing an object into the logs object store by publishing only: chunks, then the metadata
 * record, in the format nats.js's ObjectStore reads (get, getBlob, list). nats.js's own put
 * first reads the object's current metadata and may purge old chunks; that needs the right to
 * read the stream (every job's logs) and to purge it. An agent needs neither: its log names are
 * new each time (job/probe/file), so it writes blind, and its NATS user may publish on
 * `$O.<bucket>.C.>` and `$O.<bucket>.M.>` and read nothing.
 */
import { createHash } from 'node:crypto';
import { headers, nuid, type JetStreamClient, type NatsConnection } from 'nats';

export interface PutLogOptions {
  /** Chunk size in bytes. Default 128 KiB (nats.js's default), at most the server's max payload. */
  chunkBytes?: number;
  /** JetStream acknowledgement timeout per message. Default 10 s. */
  timeoutMs?: number;
}

/** The subject of an object's metadata: base64url of the name, padded (as nats.js names it). */
export function metaSubject(bucket: string, name: string): string {
  return `$O.${bucket}.M.${Buffer.from(name, 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_')}`;
}

export async function putLogObject(nc: NatsConnection, js: JetStreamClient, bucket: string, name: string, data: Uint8Array, options: PutLogOptions = {}): Promise<void> {
  if (!name) throw new Error('a log object needs a name');
  const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
  const chunk = Math.max(1, Math.min(options.chunkBytes ?? 128 * 1024, maxPayload));
  const timeout = options.timeoutMs ?? 10_000;
  const id = nuid.next();
  let chunks = 0;
  const acks: Promise<unknown>[] = [];
  for (let off = 0; off < data.length; off += chunk) {
    acks.push(js.publish(`$O.${bucket}.C.${id}`, data.subarray(off, off + chunk), { timeout }));
    chunks += 1;
  }
  await Promise.all(acks);
  const info = {
    name,
    description: '',
    options: { max_chunk_size: chunk },
    bucket,
    nuid: id,
    size: data.length,
    chunks,
    mtime: new Date().toISOString(),
    digest: `SHA-256=${createHash('sha256').update(data).digest('base64').replace(/\+/g, '-').replace(/\//g, '_')}`,
    deleted: false,
  };
  // Rollup: the new metadata replaces any earlier record of the name (a retried put).
  const h = headers();
  h.set('Nats-Rollup', 'sub');
  await js.publish(metaSubject(bucket, name), new TextEncoder().encode(JSON.stringify(info)), { headers: h, timeout });
}
