/** The lease of an agent's Work stream, as the agent sees it (agent/agent.ts). */
import { MultisectError } from '../shared/errors.js';

/** No LeaseRenewal covered this agent's lease: the Work stream is given up and opened again. */
export class LeaseLapsedError extends MultisectError {
  readonly code = 'UNAVAILABLE' as const;
  constructor(
    readonly leaseMs: number,
    /** The probes running here when it lapsed (the next Hello reports them). */
    readonly probeIds: string[],
  ) {
    super(`no lease renewal from the coordinator for ${leaseMs} ms; reconnecting`);
  }
}

/**
 * The agent's view of its lease: until when the coordinator surely still counts this agent's
 * assignments as its own.
 *
 * The coordinator judges every lease of an agent from the last message it heard from it (a
 * heartbeat, a Hello), and answers each heartbeat with a LeaseRenewal. Its `lease_deadline_ms`
 * is on the coordinator's wall clock, which the agent's need not agree with, so the agent does
 * not compare it with its own clock: it takes a renewal as the answer to the oldest heartbeat not
 * answered yet (the Work stream keeps order) and counts the lease from when *it sent* that
 * heartbeat, on its own monotonic clock. The coordinator received it later than that, so the
 * agent's deadline is never later than the coordinator's.
 */
export class LeaseClock {
  /** Send times of the heartbeats not answered yet, oldest first. */
  private readonly unanswered: number[] = [];
  private coveredUntil: number;
  /** The deadline of the last renewal, on the coordinator's clock (shown, never compared). */
  lastDeadlineMs = 0;

  /**
   * @param leaseMs the lease the coordinator announced at registration; 0 (a coordinator that
   *   announces none) disables the clock: `lapsed()` is then always false.
   * @param startedAt when the Hello was sent (monotonic ms): it starts the first lease.
   */
  constructor(
    readonly leaseMs: number,
    startedAt: number,
  ) {
    this.coveredUntil = startedAt + leaseMs;
  }

  /** A heartbeat went out at `at` (monotonic ms). */
  sent(at: number): void {
    this.unanswered.push(at);
    // Bounded: a coordinator that never answers must not make us keep every send time.
    if (this.unanswered.length > 1024) this.unanswered.shift();
  }

  /** A LeaseRenewal arrived. */
  renewed(deadlineMs: number): void {
    this.lastDeadlineMs = deadlineMs;
    const sentAt = this.unanswered.shift();
    if (sentAt !== undefined) this.coveredUntil = Math.max(this.coveredUntil, sentAt + this.leaseMs);
  }

  /** How long the lease surely lasts from `now` (negative once lapsed). */
  remainingMs(now: number): number {
    return this.coveredUntil - now;
  }

  /** No renewal covers `now`: the coordinator may have given this agent's probes to others. */
  lapsed(now: number): boolean {
    return this.leaseMs > 0 && now > this.coveredUntil;
  }
}
