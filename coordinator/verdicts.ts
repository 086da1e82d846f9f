/**
 * Verdicts: reading a job's verdicts back from the VERDICTS stream (recovery, logs), the
 * durable consumer that feeds new ones to the coordinator, and the translation of a verdict
 * into the engine's evidence.
 */
import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JsMsg } from 'nats';
import type { Logger } from 'pino';
import { Verdict } from '../shared/proto.js';
import { jobVerdictsSubject, type Store } from '../shared/nats.js';
import { Backoff } from '../shared/backoff.js';
import { isConsumerNotFound } from '../shared/nats-errors.js';

/** A verdict as evidence (pure; the job's reducer uses it too). */

/**
 * Is the verdict on its own subject? A verdict counts only for the job and probe its subject
 * names: with NATS JWT authentication only the agent holding that probe could publish there,
 * so a payload claiming another job or probe is made up.
 */
export function onItsSubject(store: Store, subject: string, v: Verdict): boolean {
  return subject === store.verdictSubject(v.jobId, v.probeId);
}

/** Every verdict stored for a job, in stream order (those on their own subject). */
export async function readJobVerdicts(store: Store, jobId: string, logger?: Logger): Promise<Verdict[]> {
  const subject = jobVerdictsSubject(store.names, jobId);
  const info = await store.jsm.streams.info(store.names.verdictStream, { subjects_filter: subject });
  const count = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
  if (count === 0) return [];
  const consumer = await store.js.consumers.get(store.names.verdictStream, { filterSubjects: subject });
  const out: Verdict[] = [];
  const messages = await consumer.consume();
  try {
    for await (const m of messages) {
      try {
        const v = Verdict.decode(m.data);
        if (onItsSubject(store, m.subject, v)) out.push(v);
        else logger?.warn({ subject: m.subject, jobId: v.jobId, probeId: v.probeId }, 'verdict on another subject than its own: ignored');
      } catch (err) {
        logger?.error({ err, subject: m.subject, seq: m.seq }, 'undecodable verdict ignored');
      }
      if (m.info.pending === 0) break;
    }
  } finally {
    messages.stop();
  }
  return out;
}

/** Verdicts awaiting their record writes at once, at most (below the consumer's max_ack_pending). */
const MAX_HANDLING = 500;

/** Waits before consuming again after the consumer broke (NATS restarting, a leader election). */
const RESUME_BACKOFF = { baseMs: 250, maxMs: 5000, jitter: 0.2 };

/**
 * The coordinator's durable consumer of all verdicts. `handler` must persist what the verdict
 * changed before it resolves; only then is the message acknowledged. A message that makes the
 * handler throw is not acknowledged and comes back after the ack wait.
 */
export class VerdictConsumer {
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  /** Verdicts applied whose records are not written yet (acknowledged once they are). */
  private readonly handling = new Set<Promise<void>>();
  private stopped = false;
  /** Ends a wait between attempts at once when the consumer is stopped. */
  private readonly stopping = new AbortController();

  constructor(
    private readonly store: Store,
    private readonly durableName: string,
    private readonly logger: Logger,
  ) {}

  async start(handler: (v: Verdict) => Promise<void>): Promise<void> {
    const { jsm, js, names } = this.store;
    const config = {
      durable_name: this.durableName,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: `${names.verdictSubject}.>`,
      ack_wait: 30_000 * 1_000_000,
      max_ack_pending: 1000,
    };
    try {
      await jsm.consumers.info(names.verdictStream, this.durableName);
    } catch (err) {
      // Only a missing consumer is created; any other error (NATS away, no permission) is
      // reported as it is rather than hidden behind a failing add.
      if (!isConsumerNotFound(err)) throw err;
      await jsm.consumers.add(names.verdictStream, config);
    }
    const consumer = await js.consumers.get(names.verdictStream, this.durableName);
    const backoff = new Backoff(RESUME_BACKOFF);
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          this.messages = await consumer.consume({ max_messages: 100 });
          for await (const m of this.messages) {
            backoff.reset();
            // Verdicts are applied in delivery order (the handler applies one before its first
            // await) and each is acknowledged once its record is written, without waiting for
            // the ones before it: one job's write no longer holds up every other job's verdicts.
            const handled = this.handle(m, handler).catch((err: unknown) => this.logger.error({ err, seq: m.seq }, 'verdict not acknowledged'));
            this.handling.add(handled);
            void handled.finally(() => this.handling.delete(handled));
            if (this.handling.size >= MAX_HANDLING) await Promise.race(this.handling);
          }
        } catch (err) {
          if (this.stopped) return;
          this.logger.warn({ err: (err as Error).message, retryInMs: backoff.nextDelayMs }, 'verdict consumer interrupted; resuming');
          await backoff.wait(this.stopping.signal);
        }
      }
    })();
  }

  private async handle(m: JsMsg, handler: (v: Verdict) => Promise<void>): Promise<void> {
    let verdict: Verdict;
    try {
      verdict = Verdict.decode(m.data);
    } catch (err) {
      this.logger.error({ err, subject: m.subject, seq: m.seq }, 'undecodable verdict dropped');
      m.term();
      return;
    }
    if (!onItsSubject(this.store, m.subject, verdict)) {
      this.logger.warn({ subject: m.subject, jobId: verdict.jobId, probeId: verdict.probeId, agentId: verdict.agentId }, 'verdict on another subject than its own: dropped');
      m.term();
      return;
    }
    try {
      await handler(verdict);
      await m.ackAck().catch(() => m.ack());
    } catch (err) {
      this.logger.error({ err, probeId: verdict.probeId }, 'verdict not applied; it will be redelivered');
      m.nak(1000);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.messages?.stop();
    await this.loop?.catch(() => undefined);
    await Promise.allSettled([...this.handling]);
  }
}
