/**
 * Finished verdicts are written to disk before they are published and deleted only once
 * JetStream acknowledged them, so a verdict survives an agent crash, a NATS outage and a
 * restart. The message id is the probe id: a verdict published twice is stored once.
 *
 * With NATS JWT authentication a verdict is kept with the credential of its assignment (the
 * only one NATS accepts it with), in `<probe>.jwt` next to `<probe>.verdict`.
 */
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { writeFileAtomic } from './files.js';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { retryWithBackoff } from '../shared/backoff.js';
import { MultisectError } from '../shared/errors.js';
import { decodeJwt } from '../shared/nats-jwt.js';
import { isRefused } from '../shared/nats-errors.js';
import { Verdict } from '../shared/proto.js';

export interface PendingVerdict {
  verdict: Verdict;
  /** The assignment's NATS credential; '' when the farm uses none. */
  jwt: string;
}

/** Publishes one verdict and resolves once JetStream acknowledged it. */
export type VerdictPublisher = (p: PendingVerdict) => Promise<{ seq: number; duplicate: boolean }>;

/** Waits between attempts to publish a verdict (the outbox keeps it meanwhile). */
const PUBLISH_BACKOFF = { baseMs: 200, maxMs: 3000 };

/** The assignment's verdict credential has expired: NATS would refuse the verdict for good. */
export class CredentialExpiredError extends MultisectError {
  readonly code = 'PERMISSION_DENIED' as const;
  constructor(readonly probeId: string) {
    super(`the verdict credential of probe ${probeId} has expired`);
  }
}

export class Outbox {
  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
  ) {}

  async put(p: PendingVerdict): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const file = join(this.dir, `${p.verdict.probeId}.verdict`);
    // The credential first: a verdict file is only ever seen complete with it.
    if (p.jwt) await writeFileAtomic(join(this.dir, `${p.verdict.probeId}.jwt`), p.jwt);
    await writeFileAtomic(file, Verdict.encode(p.verdict).finish());
    return file;
  }

  async pending(): Promise<PendingVerdict[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const out: PendingVerdict[] = [];
    for (const n of names.filter((x) => x.endsWith('.verdict')).sort()) {
      try {
        const verdict = Verdict.decode(await readFile(join(this.dir, n)));
        const jwt = await readFile(join(this.dir, n.replace(/\.verdict$/, '.jwt')), 'utf8').catch(() => '');
        out.push({ verdict, jwt });
      } catch (err) {
        this.logger.error({ err, file: n }, 'unreadable verdict in the outbox');
      }
    }
    return out;
  }

  /**
   * Publish until JetStream acknowledges (or `signal` aborts), then forget. Returns false when
   * it gave up: aborted, or refused by NATS (the verdict stays in the outbox for the next
   * connection, unless its credential has expired: then the probe was long re-run elsewhere).
   */
  async publish(publisher: VerdictPublisher, p: PendingVerdict, signal: AbortSignal): Promise<boolean> {
    const probeId = p.verdict.probeId;
    if (signal.aborted) return false;
    try {
      await retryWithBackoff(
        async () => {
          // Checked before every attempt: a credential may run out while NATS is away.
          if (p.jwt && credentialExpired(p.jwt)) throw new CredentialExpiredError(probeId);
          const ack = await publisher(p);
          this.logger.debug({ probeId, seq: ack.seq, duplicate: ack.duplicate }, 'verdict published');
        },
        {
          ...PUBLISH_BACKOFF,
          signal,
          retryable: (err) => !(err instanceof CredentialExpiredError) && !isRefused(err),
          onRetry: (err, attempt) => this.logger.warn({ probeId, attempt, err: (err as Error).message }, 'verdict not acknowledged yet; retrying'),
        },
      );
    } catch (err) {
      if (err instanceof CredentialExpiredError) {
        this.logger.warn({ probeId }, 'verdict credential expired: the verdict is dropped (its probe was given to another agent long ago)');
        await this.forget(probeId);
      } else if (isRefused(err)) {
        this.logger.error({ probeId, jobId: p.verdict.jobId, err: (err as Error).message }, 'NATS refused the verdict; kept in the outbox');
      }
      // Otherwise aborted (the agent is closing): the verdict stays for the next start.
      return false;
    }
    await this.forget(probeId);
    return true;
  }

  private async forget(probeId: string): Promise<void> {
    await unlink(join(this.dir, `${probeId}.verdict`)).catch(() => undefined);
    await unlink(join(this.dir, `${probeId}.jwt`)).catch(() => undefined);
  }
}

function credentialExpired(jwt: string): boolean {
  try {
    const exp = decodeJwt(jwt).exp;
    return exp !== undefined && exp * 1000 < Date.now();
  } catch {
    return false;
  }
}
