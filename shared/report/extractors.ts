/**
 * Frame extractors for reports whose top frame is a victim rather than the culprit.
 * An extractor returns the index of the guilty frame and, optionally, the name to use
 * for it (a bucket such as "synchronize_rcu"); -1 when none fits.
 */

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

/**
 * Stalls: the CPU loops somewhere below an entry point, and the traceback catches a random
 * spot of the loop. The frame just above the first dispatcher (syscall entry, softirq,
 * timer, workqueue...) names the loop stably.
 */
const STALL_ANCHORS: readonly RegExp[] = [
  // Generic dispatchers of deferred work.
  /^(?:__)?run_timers/, /^run_timer_softirq/, /^call_timer_fn/, /^expire_timers/,
  /^__hrtimer_run_queues/, /^(?:__)?do_softirq/, /^handle_softirqs/, /^(?:__)?irq_exit/,
  /^tasklet_action/, /^process_one_work/, /^worker_thread/, /^kthread$/, /^ret_from_fork/,
  /^rcu_core/, /^rcu_do_batch/, /^smp_call_function/, /^task_work_run/, /^exit_to_usermode_loop/,
  /^exit_to_user_mode/, /^syscall_exit_to_user_mode/,
  // Network receive paths.
  /^net_rx_action/, /^process_backlog/, /^__netif_receive_skb/, /^netif_receive_skb/,
  /^__napi_poll/, /^napi_poll/,
  // Syscall entry (so the syscall itself is named) and generic dispatchers below it.
  /^do_syscall_/, /^do_fast_syscall_/, /^entry_SYS/, /^el0_svc/, /^do_el0_svc/, /^invoke_syscall/,
  /^sysenter_dispatch/, /^system_call_fastpath/,
  /^do_vfs_ioctl$/, /^vfs_ioctl$/, /^(?:__)?vfs_write$/, /^(?:__)?vfs_read$/, /^new_sync_(?:read|write)$/,
  /^sock_sendmsg/, /^sock_recvmsg/, /^sock_write_iter$/, /^sock_read_iter$/, /^sock_do_ioctl$/,
  /^sock_ioctl$/, /^rtnetlink_rcv_msg$/, /^nfnetlink_rcv_msg$/, /^(?:compat_)?blkdev_ioctl$/,
  /_compat_ioctl$/,
  // Multiplexing syscalls say nothing by themselves: name what they dispatched to.
  /^(?:__x64_|__ia32_|__arm64_|compat_|__se_|__do_|k)?(?:sys|SyS)_ioctl$/, /^(?:__)?sys_(?:set|get)sockopt$/,
];

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
