/**
 * What the scale benchmark reads out of the simulated agents' records (sim-agents.ts): the
 * verdict-to-next-assignment latency of each freed slot, and assignments per second.
 *
 * A latency sample: a slot's verdict, from the moment the agent starts publishing it to
 * JetStream (so the sample includes the store and the coordinator's consumer), to the next
 * assignment arriving on that same slot. `fromAck` measures from the JetStream ack instead.
 *
 * A slot can also wait because no job wants more work (a job verifying its culprit wants 2 or 3
 * probes; a 1-job farm of 500 slots is mostly idle after the first round), and then the next
 * assignment on it says nothing about the coordinator's speed. So samples are split: "busy"
 * samples are those taken while no other slot of the farm had been idle for more than
 * IDLE_MS (the farm was using all its slots: the freed slot's next assignment is scheduling
 * latency), the others are reported apart. A coordinator so slow that slots wait longer than
 * IDLE_MS for work that exists shows in the all-samples p99 and in the busy share.
 */
import type { SimRecord, SlotEvent } from './sim-agents.js';

export const IDLE_MS = 1000;

export interface Latency {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function latency(xs: number[]): Latency {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]! : NaN);
  return { count: s.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s.length ? s[s.length - 1]! : NaN };
}

export interface SlotMetrics {
  /** Samples while the farm used all its slots. */
  busy: Latency;
  /** Every verdict whose slot was given work again before the end. */
  all: Latency;
  /** The same as `busy`, measured from the JetStream ack. */
  busyFromAck: Latency;
  /** Verdicts after which the slot got no more work before the run ended. */
  leftIdle: number;
  assignments: number;
  verdicts: number;
  cancels: number;
  crashedVerdicts: number;
  handBacks: number;
  publishFailures: number;
  streamErrors: number;
  slots: number;
}

export function slotMetrics(records: readonly SimRecord[], window: { start: number; end: number }): SlotMetrics {
  const slots: { connected: number; events: SlotEvent[] }[] = records.flatMap((r) => Object.values(r.slots));
  const span = Math.max(1, window.end - window.start);
  const BUCKET = 10;
  const buckets = Math.ceil(span / BUCKET) + 1;
  // longIdle[b]: slots idle for more than IDLE_MS at the start of bucket b.
  const longIdle = new Int32Array(buckets);
  const samples: { t: number; ack: number; next: number | undefined }[] = [];
  let assignments = 0;
  let verdicts = 0;
  let cancels = 0;
  let crashed = 0;
  const markIdle = (from: number, to: number) => {
    const a = Math.max(0, Math.ceil((from + IDLE_MS - window.start) / BUCKET));
    const b = Math.min(buckets, Math.ceil((to - window.start) / BUCKET));
    for (let i = a; i < b; i++) longIdle[i]!++;
  };
  for (const s of slots) {
    const ev = [...s.events].sort((x, y) => x.t - y.t);
    let idleSince: number | undefined = Math.max(s.connected, window.start);
    let pending: { t: number; ack: number } | undefined;
    for (const e of ev) {
      if (e.k === 'assign') {
        if (e.t >= window.start && e.t <= window.end) assignments++;
        if (idleSince !== undefined) markIdle(idleSince, e.t);
        idleSince = undefined;
        if (pending) samples.push({ ...pending, next: e.t });
        pending = undefined;
      } else if (e.k === 'verdict') {
        verdicts++;
        if (e.crashed) crashed++;
        pending = { t: e.t, ack: e.ack };
        idleSince = e.t;
      } else {
        cancels++;
        idleSince = e.t;
      }
    }
    if (idleSince !== undefined) markIdle(idleSince, window.end);
    if (pending) samples.push({ ...pending, next: undefined });
  }
  const busy: number[] = [];
  const busyAck: number[] = [];
  const all: number[] = [];
  let leftIdle = 0;
  for (const x of samples) {
    if (x.next === undefined) {
      leftIdle++;
      continue;
    }
    all.push(x.next - x.t);
    const b = Math.floor((x.t - window.start) / BUCKET);
    if (b >= 0 && b < buckets && longIdle[b] === 0) {
      busy.push(x.next - x.t);
      busyAck.push(x.next - x.ack);
    }
  }
  return {
    busy: latency(busy),
    all: latency(all),
    busyFromAck: latency(busyAck),
    leftIdle,
    assignments,
    verdicts,
    cancels,
    crashedVerdicts: crashed,
    handBacks: records.reduce((n, r) => n + r.handBacks, 0),
    publishFailures: records.reduce((n, r) => n + r.publishFailures, 0),
    streamErrors: records.reduce((n, r) => n + r.streamErrors, 0),
    slots: slots.length,
  };
}
