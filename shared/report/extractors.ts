/**
 * Frame extractors for reports whose top frame is a victim rather than the culprit.
 * An extractor returns the index of the guilty frame and, optionally, the name to use
 * for it (a bucket such as "synchronize_rcu"); -1 when none fits.
 */
import { FRAME_RULES } from './frame-rules.js';

export interface Pick {
  index: number;
  /** Replaces the frame name in the title (the raw name becomes an alternative title). */
  name?: string;
}

/**
 * Task hung: hangs show up at random victims waiting on a broken subsystem, so the usual
 * buckets (RCU grace periods, rtnl) are grouped first, then waiting primitives are skipped.
 */
const HANG_ANCHORS: readonly [string, string | undefined][] = [
  ['rtnl_lock', undefined],
  ['synchronize_rcu', 'synchronize_rcu'],
  ['synchronize_srcu', 'synchronize_rcu'],
  ['synchronize_net', 'synchronize_rcu'],
  ['synchronize_sched', 'synchronize_rcu'],
];
const HANG_SKIP: readonly string[] = [
  'sched', '_lock', '_slowlock', 'down', 'rwsem', 'completion', 'kthread', 'wait', 'synchronize',
  'context_switch', '__switch_to', 'cancel_delayed_work', 'rcu_barrier',
];

export function hangFrame(frames: readonly string[]): Pick {
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i]!;
    for (const [anchor, bucket] of HANG_ANCHORS) {
      if (frame.includes(anchor)) return bucket === undefined ? { index: i } : { index: i, name: bucket };
    }
  }
  const index = frames.findIndex((f) => !HANG_SKIP.some((s) => f.includes(s)));
  return { index };
}

/** Stalls: the dispatchers are data, explained one by one in frame-rules.ts. */
const STALL_ANCHORS: readonly RegExp[] = FRAME_RULES.stall.stop.map((r) => new RegExp(r.re));

/**
 * `frames` are raw names (before syscall-wrapper stripping), so dispatchers are recognized
 * whatever a kernel calls them.
 */
export function stallFrame(frames: readonly string[]): Pick {
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i]!;
    if (!STALL_ANCHORS.some((a) => a.test(frame))) continue;
    // The dispatcher itself names the bug here: its callees vary.
    if (frame.startsWith('smp_call_function')) return { index: i, name: 'smp_call_function' };
    if (i > 0) return { index: i - 1 };
  }
  return { index: -1 };
}
