/**
 * Finished verdicts are written to disk before they are published and deleted only once
 * JetStream acknowledged them, so a verdict survives an agent crash, a NATS outage and a
 * restart. The message id is the probe id: a verdict published twice is stored once.
 */
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Verdict } from '../shared/proto.js';
import type { Store } from '../shared/nats.js';

export class Outbox {
  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
  ) {}

  async put(v: Verdict): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const file = join(this.dir, `${v.probeId}.verdict`);
    await writeFile(`${file}.tmp`, Verdict.encode(v).finish());
    await rename(`${file}.tmp`, file);
    return file;
  }

  async pending(): Promise<Verdict[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const out: Verdict[] = [];
    for (const n of names.filter((x) => x.endsWith('.verdict')).sort()) {
      try {
        out.push(Verdict.decode(await readFile(join(this.dir, n))));
      } catch (err) {
        this.logger.error({ err, file: n }, 'unreadable verdict in the outbox');
      }
    }
    return out;
  }

  /** Publish until JetStream acknowledges (or `signal` aborts), then forget. */
  async publish(store: () => Store | undefined, v: Verdict, signal: AbortSignal): Promise<boolean> {
    let delay = 200;
    for (let attempt = 1; !signal.aborted; attempt++) {
      const s = store();
      if (s) {
        try {
          const ack = await s.js.publish(s.verdictSubject(v.jobId), Verdict.encode(v).finish(), { msgID: v.probeId, timeout: 5000 });
          this.logger.debug({ probeId: v.probeId, seq: ack.seq, duplicate: ack.duplicate }, 'verdict published');
          await unlink(join(this.dir, `${v.probeId}.verdict`)).catch(() => undefined);
          return true;
        } catch (err) {
          this.logger.warn({ probeId: v.probeId, attempt, err: (err as Error).message }, 'verdict not acknowledged yet; retrying');
        }
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 3000);
    }
    return false;
  }
}
