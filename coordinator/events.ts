/** Job events on `multisect.event.<job>` (stream EVENTS): what watchers and the CLI follow. */
import type { Logger } from 'pino';
import { JobEvent } from '../shared/proto.js';
import { withRetry, type Store } from '../shared/nats.js';

export class EventPublisher {
  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly signal?: AbortSignal,
  ) {}

  /** Publish an event; waits for JetStream to store it (retrying through outages). */
  async publish(event: Partial<JobEvent> & { jobId: string; kind: string }): Promise<void> {
    const ev = JobEvent.fromPartial({ timeMs: Date.now(), ...event });
    const data = JobEvent.encode(ev).finish();
    await withRetry('publish event', () => this.store.js.publish(this.store.eventSubject(ev.jobId), data), {
      logger: this.logger,
      signal: this.signal,
      attempts: 30,
    }).catch((err: unknown) => this.logger.warn({ err, jobId: ev.jobId, kind: ev.kind }, 'event lost'));
  }
}
