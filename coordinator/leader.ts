/**
 * Leader election between coordinators through a JetStream KV bucket.
 *
 * One key (`leader`) holds {id, address, term}. Every write is a compare-and-set on the key's
 * revision, so two coordinators can never both believe a write of theirs won:
 * - the leader renews by `update(key, value, myRevision)` every ttl/3;
 * - a standby polls the key; when the revision has not changed for a whole ttl *on its own
 *   clock* (no cross-host clock comparison), it takes the lease with `update(key, value,
 *   thatRevision)`; if the leader renewed meanwhile, the update fails and it keeps waiting;
 * - the leader steps down when it could not renew for 0.8 ttl (measured from when it *sent* its
 *   last successful renewal, which is before the standby could have seen that revision), so it
 *   has stopped serving before any standby can take over; and at once when a renewal fails with a
 *   revision mismatch (someone else holds the lease, e.g. after this process was paused).
 * - a coordinator restarted with the same instance id takes its own lease back at once (the
 *   previous process is dead: ids are per host and listen address), so a plain restart costs no
 *   ttl wait.
 * - a clean shutdown deletes the key (compare-and-set too), so a standby takes over at its next
 *   poll.
 *
 * The bucket is separate from `jobs`: the job store lists every key of its bucket as a job.
 */
import type { KV, KvEntry } from 'nats';
import type { Logger } from 'pino';
import { CancelledError } from '../shared/errors.js';
import { isRevisionConflict } from '../shared/nats-errors.js';
import { sleep } from '../shared/sleep.js';

export interface LeaderLeaseOptions {
  kv: KV;
  /** This coordinator's instance id (stable across restarts of the same instance). */
  id: string;
  /** The gRPC address it serves on once leader (shown to operators and standbys). */
  address: string;
  /** Lease time to live. */
  ttlMs: number;
  logger: Logger;
  /** Stop waiting (a standby being shut down). */
  signal?: AbortSignal;
  /** Called once when this process starts waiting as a standby (who holds the lease). */
  onStandby?: (holder: LeaderRecord) => void;
}

export interface LeaderRecord {
  id: string;
  address: string;
  term: number;
  acquiredMs: number;
}

export const LEADER_KEY = 'leader';

const enc = new TextEncoder();
const dec = new TextDecoder();

function parse(e: KvEntry | null): LeaderRecord | undefined {
  if (!e || e.operation !== 'PUT' || e.value.length === 0) return undefined;
  try {
    return JSON.parse(dec.decode(e.value)) as LeaderRecord;
  } catch {
    return undefined;
  }
}

export class LeaderLease {
  private revision: number;
  private lastRenewSentMs: number;
  private timer: NodeJS.Timeout | undefined;
  private renewing = false;
  private done = false;
  private resolveLost!: (reason: string) => void;
  /** Resolves with the reason when leadership is lost (not on release()). */
  readonly lost: Promise<string>;

  private constructor(
    private readonly o: LeaderLeaseOptions,
    readonly record: LeaderRecord,
    revision: number,
    sentMs: number,
  ) {
    this.revision = revision;
    this.lastRenewSentMs = sentMs;
    this.lost = new Promise((r) => (this.resolveLost = r));
    const renewEvery = Math.max(100, Math.floor(o.ttlMs / 3));
    this.timer = setInterval(() => void this.tick(), Math.min(renewEvery, 1000));
  }

  /** Wait until this coordinator holds the lease. Rejects with CancelledError when `signal` aborts. */
  static async acquire(o: LeaderLeaseOptions): Promise<LeaderLease> {
    const logger = o.logger;
    const pollMs = Math.max(100, Math.min(1000, Math.floor(o.ttlMs / 5)));
    let observed: { revision: number; sinceMs: number } | undefined;
    let announced = false;
    while (!o.signal?.aborted) {
      const now = Date.now();
      try {
        const entry = await o.kv.get(LEADER_KEY);
        const holder = parse(entry);
        const record: LeaderRecord = { id: o.id, address: o.address, term: (holder?.term ?? 0) + 1, acquiredMs: now };
        const value = enc.encode(JSON.stringify(record));
        let takeover: string | undefined;
        if (!entry) takeover = 'no leader yet';
        else if (!holder) takeover = 'the previous leader stepped down';
        else if (holder.id === o.id) takeover = 'restarted instance takes its own lease back';
        else if (observed?.revision === entry.revision && now - observed.sinceMs >= o.ttlMs) {
          takeover = `lease of ${holder.id} not renewed for ${now - observed.sinceMs} ms`;
        }
        if (takeover) {
          const revision = entry ? await o.kv.update(LEADER_KEY, value, entry.revision) : await o.kv.create(LEADER_KEY, value);
          logger.info({ term: record.term, reason: takeover, previous: holder?.id }, 'leader lease acquired');
          return new LeaderLease(o, record, revision, now);
        }
        if (observed?.revision !== entry!.revision) observed = { revision: entry!.revision, sinceMs: now };
        if (!announced && holder) {
          announced = true;
          logger.info({ leader: holder.id, leaderAddress: holder.address, ttlMs: o.ttlMs }, 'coordinator standing by');
          o.onStandby?.(holder);
        }
      } catch (err) {
        if (!isRevisionConflict(err)) logger.warn({ err: (err as Error).message }, 'leader election: NATS error; retrying');
        observed = undefined;
      }
      // A fixed poll, not a back-off: a standby must notice a silent leader within its ttl
      // however long it has waited already.
      await sleep(pollMs, o.signal);
    }
    throw new CancelledError('stopped while standing by for the leader lease');
  }

  private async tick(): Promise<void> {
    if (this.done) return;
    const now = Date.now();
    if (now - this.lastRenewSentMs > this.o.ttlMs * 0.8) {
      this.step(`lease not renewed for ${now - this.lastRenewSentMs} ms (ttl ${this.o.ttlMs} ms)`);
      return;
    }
    if (this.renewing || now - this.lastRenewSentMs < this.o.ttlMs / 3) return;
    this.renewing = true;
    const sent = Date.now();
    try {
      this.revision = await this.o.kv.update(LEADER_KEY, enc.encode(JSON.stringify(this.record)), this.revision);
      this.lastRenewSentMs = sent;
    } catch (err) {
      if (isRevisionConflict(err)) this.step('another coordinator holds the lease');
      else this.o.logger.warn({ err: (err as Error).message }, 'leader lease renewal failed; retrying');
    } finally {
      this.renewing = false;
    }
  }

  private step(reason: string): void {
    if (this.done) return;
    this.done = true;
    clearInterval(this.timer);
    this.o.logger.error({ reason }, 'leadership lost');
    this.resolveLost(reason);
  }

  /** Give the lease up (clean shutdown): a standby takes over at its next poll. Safe twice. */
  async release(): Promise<void> {
    if (this.done) return;
    this.done = true;
    clearInterval(this.timer);
    await this.o.kv.delete(LEADER_KEY, { previousSeq: this.revision }).catch((err: unknown) => {
      this.o.logger.warn({ err: (err as Error).message }, 'leader lease not released; a standby waits for its ttl');
    });
  }
}
