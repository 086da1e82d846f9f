/**
 * Which frame names a crash, per oops kind, as data (syzkaller keeps the same lists in
 * pkg/report/linux.go). Every kind has frames to SKIP (helpers the crash passes through but
 * that are never its cause) and frames to STOP at (entry points and dispatchers: the walk for
 * the guilty frame ends there, frames below them belong to whoever called in).
 *
 * A pattern is a regexp source matched against the frame's name, demangled and without
 * clone suffixes, after syscall-wrapper stripping (skip) or before it (stop). `example` is
 * a frame as printed: test/unit/report/frame-rules.test.ts builds a console of the kind
 * around it and checks that the title names the crash's own frame instead, and that no
 * other list already covers the example (so the entry is needed).
 *
 * Stop frames bound the search: the extractor never looks below the first one (an anchor
 * there belongs to the caller). When no candidate is above it, the search goes on below, as
 * before: a kthread's own loop is named by the kthread function.
 */

export interface FrameRule {
  readonly re: string;
  /** Why the frame is not the culprit (one line). */
  readonly why: string;
  /** A frame name the rule applies to, for its test. */
  readonly example: string;
}

export interface FrameRuleSet {
  readonly skip: readonly FrameRule[];
  readonly stop?: readonly FrameRule[];
}

const rule = (re: string, why: string, example: string): FrameRule => ({ re, why, example });

/** Kernel entry: below these frames, nothing is the crash's own code. */
const ENTRY_STOPS: readonly FrameRule[] = [
  rule('^entry_SYS', 'x86 syscall entry', 'entry_SYSCALL_64_after_hwframe'),
  rule('^(?:__)?(?:x64|ia32|x32)_sys_call$', 'the 6.x syscall table switch', 'x64_sys_call'),
  rule('^do_syscall_(?:64|32|x64|x32)', 'x86 syscall dispatch', 'do_syscall_64'),
  rule('^(?:do_)?el0_svc', 'arm64 syscall entry', 'el0_svc_common'),
  rule('^invoke_syscall', 'arm64 syscall dispatch', 'invoke_syscall'),
  rule('^ret_from_fork', 'a new task starts here', 'ret_from_fork_asm'),
  rule('^ret_from_except', 'powerpc exception return', 'ret_from_except_lite'),
  rule('^kthread$', 'every kernel thread starts here', 'kthread'),
  rule('^worker_thread$', 'the workqueue loop: the work item above it is the code', 'worker_thread'),
];

/**
 * Stalls: the CPU loops below a dispatcher, and the traceback catches a random spot of the
 * loop; the frame just above the first dispatcher names the loop (extractors.ts). Matched on
 * raw names, before syscall-wrapper stripping.
 */
const STALL_STOPS: readonly FrameRule[] = [
  rule('^(?:__)?run_timers|^run_timer_softirq|^call_timer_fn|^expire_timers|^__hrtimer_run_queues', 'timer dispatch: the callback above it loops', 'call_timer_fn'),
  rule('^(?:__)?do_softirq|^handle_softirqs|^(?:__)?irq_exit|^tasklet_action', 'softirq dispatch', 'handle_softirqs'),
  rule('^process_one_work|^worker_thread|^kthread$|^ret_from_fork', 'workqueue and kthread loops: the work function above names it', 'process_one_work'),
  rule('^rcu_core|^rcu_do_batch', 'RCU callback dispatch', 'rcu_do_batch'),
  rule('^smp_call_function', 'cross-CPU calls: the dispatcher itself names the stall', 'smp_call_function_many_cond'),
  rule('^task_work_run|^exit_to_usermode_loop|^exit_to_user_mode|^syscall_exit_to_user_mode', 'work run on the way back to user space', 'task_work_run'),
  rule('^net_rx_action|^process_backlog|^__netif_receive_skb|^netif_receive_skb|^__napi_poll|^napi_poll', 'network receive dispatch', 'net_rx_action'),
  rule('^do_syscall_|^do_fast_syscall_|^entry_SYS|^el0_svc|^do_el0_svc|^invoke_syscall|^sysenter_dispatch|^system_call_fastpath', 'syscall entry: the syscall above it is named', 'do_syscall_64'),
  rule('^do_vfs_ioctl$|^vfs_ioctl$|^(?:__)?vfs_write$|^(?:__)?vfs_read$|^new_sync_(?:read|write)$', 'VFS dispatch to the file operations', 'vfs_write'),
  rule('^sock_sendmsg|^sock_recvmsg|^sock_write_iter$|^sock_read_iter$|^sock_do_ioctl$|^sock_ioctl$', 'socket dispatch to the protocol', 'sock_sendmsg'),
  rule('^rtnetlink_rcv_msg$|^nfnetlink_rcv_msg$', 'netlink dispatch to the handler', 'rtnetlink_rcv_msg'),
  rule('^(?:compat_)?blkdev_ioctl$|_compat_ioctl$', 'ioctl dispatch to the driver', 'blkdev_ioctl'),
  rule('^(?:__x64_|__ia32_|__arm64_|compat_|__se_|__do_|k)?(?:sys|SyS)_ioctl$|^(?:__)?sys_(?:set|get)sockopt$', 'multiplexing syscalls say nothing: name what they dispatched to', '__x64_sys_ioctl'),
];

/** Frames that wait, switch or sleep: a stalled or hung task shows them all on top. */
const SCHEDULER_SKIPS: readonly FrameRule[] = [
  rule('^__schedule$|^schedule(?:_[a-z_]+)?$|^preempt_schedule', 'the scheduler: where every sleeper is', 'schedule_preempt_disabled'),
  rule('^io_schedule', 'sleeping on I/O, not the cause', 'io_schedule_timeout'),
  rule('^finish_task_switch', 'the context switch itself', 'finish_task_switch'),
  rule('^(?:__)?wait_for_common|^wait_on_|_wait_bit', 'waiting primitives', 'folio_wait_bit_common'),
];

/** RCU machinery a waiter passes through (not for soft lockups: rcu_core is a stall anchor). */
const RCU_SKIPS: readonly FrameRule[] = [
  rule('^rcu_|^__rcu_', 'RCU grace-period machinery', 'rcu_preempt_deferred_qs'),
];

/** The file release path: it runs the file's own release, which names the bug. */
const FPUT_SKIPS: readonly FrameRule[] = [
  rule('^____fput$|^__fput$|^fput$|^__fput_sync$', "file release runs the file's own release: name that", '____fput'),
];

/**
 * Helpers under a syscall that a stall loops through for every file or mapping: the frame
 * above them (or the syscall, see extractors.ts) names the stall.
 */
const WRAPPER_SKIPS: readonly FrameRule[] = [
  rule('^do_sys_open(?:at2)?$|^do_filp_open$|^path_openat$', 'the open(2) path, the same for every file', 'do_sys_openat2'),
  rule('^(?:ksys|vm)_mmap_pgoff$|^do_mmap$|^mmap_region$', 'the mmap(2) path, the same for every mapping', 'vm_mmap_pgoff'),
];

/** Helpers that access memory on a caller's behalf: KASAN/KMSAN blame the caller. */
const SANITIZER_SKIPS: readonly FrameRule[] = [
  rule('^crypto_(?:shash|ahash|skcipher|aead)_|^sha[0-9]+_(?:update|final|base)|^chacha|^poly1305', "generic crypto helpers work on the caller's buffer", 'crypto_shash_update'),
  rule('^rht_|^__rhashtable_|^rhashtable_(?:insert|lookup|remove)', "hash table helpers walk the caller's table", 'rhashtable_insert_fast'),
];

/** Reports about locks and references taken on behalf of a caller. */
const LOCK_SKIPS: readonly FrameRule[] = [
  rule('^release_sock$|^lock_sock(?:_nested)?$|^__release_sock$', 'socket lock helpers, taken for the protocol', 'release_sock'),
  rule('^__refcount_', 'refcount helpers (the generic list has refcount_* only)', '__refcount_sub_and_test'),
];

const BAD_PAGE_SKIPS: readonly FrameRule[] = [
  rule('^folios?_put|^release_pages$|^put_page$|^__put_page$', 'page freeing: the page was broken before', 'folios_put_refs'),
  rule('^skb_release_|^sk_skb_reason_drop$|^consume_skb$|^skb_free_head$|^napi_consume_skb|^page_pool_', 'skb freeing releases pages the skb owner broke', 'skb_release_data'),
  rule('netif_receive_skb|^process_backlog$|^net_rx_action$|^__napi_poll$', 'the receive path frees the skb for whoever injected it', '__netif_receive_skb_core'),
];

/** Helpers any report passes through (added to syzkaller's generic list in frames.ts). */
const GENERIC_SKIPS: readonly FrameRule[] = [
  rule('^usb_(?:control|bulk|interrupt)_msg|^usb_start_wait_urb$|^usb_submit_urb$|^usb_hcd_submit_urb$', 'URB transport: the driver that sent it is the culprit', 'usb_control_msg'),
  rule('^usb_kill_anchored_urbs$|^usb_unlink_anchored_urbs$', 'URB cancelling on behalf of the driver', 'usb_kill_anchored_urbs'),
  rule('^dummy_urb_enqueue$|^dummy_timer$', 'the dummy HCD used by the fuzzer, not a driver', 'dummy_urb_enqueue'),
  rule('^hex_dump_to_buffer$|^print_hex_dump', 'hex dumping reads whatever buffer it is given', 'hex_dump_to_buffer'),
  rule('^(?:__)?timer_delete(?:_sync)?$|^sk_stop_timer|^sk_reset_timer$', "timer helpers touch the caller's timer", '__timer_delete_sync'),
  rule('^rhashtable_lookup', "hash table lookup walks the caller's table", 'rhashtable_lookup_fast'),
  rule('^extract_(?:user|iter)_to_sg', "iov helpers copy the caller's data", 'extract_iter_to_sg'),
  rule('^__phys_addr$', "address conversion on the caller's pointer", '__phys_addr'),
  rule('^get_taint$', 'prints the taint flags in the report', 'get_taint'),
  rule('^device_remove_file$|^device_create_file$', 'sysfs attribute helper called for a driver', 'device_remove_file'),
  rule('^ida_free$|^ida_alloc', 'id allocator called for a driver', 'ida_free'),
  rule('^cleanup_srcu_struct$|^init_srcu_struct$', 'SRCU teardown called for a subsystem', 'cleanup_srcu_struct'),
  rule('^put_device$|^get_device$', 'device refcounting for a driver', 'put_device'),
  rule('^iput_final$|^ihold$', 'inode refcounting for a filesystem', 'iput_final'),
  rule('^(?:x64|ia32|x32)_sys_call$', 'the 6.x syscall table switch, one frame below the syscall', 'x64_sys_call'),
  rule('rust_begin_unwind$|^rust_helper_', 'Rust panic entry and the C helpers Rust code calls', '_RNvCscSpY9Juk0HT_7___rustc17rust_begin_unwind'),
  rule('^core::(?:panicking|result::unwrap_failed|option::expect_failed)', 'Rust core panic machinery', '_ZN4core6result13unwrap_failed17h0123456789abcdefE'),
];

/** The rule sets by oops kind. `generic` applies to every kind. */
export const FRAME_RULES = {
  generic: { skip: GENERIC_SKIPS, stop: ENTRY_STOPS },
  /** RCU stalls, soft lockups: the frame above the first dispatcher (see extractors.ts). */
  stall: { skip: [...SCHEDULER_SKIPS, ...FPUT_SKIPS, ...WRAPPER_SKIPS], stop: STALL_STOPS },
  /** RCU stalls also skip RCU's own frames (and use the stall dispatchers above). */
  rcuStall: { skip: [...SCHEDULER_SKIPS, ...RCU_SKIPS, ...FPUT_SKIPS, ...WRAPPER_SKIPS] },
  /** Task hangs (hangFrame in extractors.ts adds syzkaller's waiting-word list). */
  hang: { skip: [...SCHEDULER_SKIPS, ...RCU_SKIPS, ...FPUT_SKIPS] },
  /** KASAN, KMSAN, KFENCE reports on a helper's access. */
  sanitizer: { skip: SANITIZER_SKIPS },
  /** Lockdep, refcount and lock-usage reports. */
  lock: { skip: LOCK_SKIPS },
  /** BUG: Bad page state. */
  badPage: { skip: BAD_PAGE_SKIPS },
} as const satisfies Record<string, FrameRuleSet>;

export type FrameKind = keyof typeof FRAME_RULES;

/** The skip patterns of a kind (generic ones excluded: frames.ts adds them). */
export const skipsOf = (kind: FrameKind): string[] => FRAME_RULES[kind].skip.map((r) => r.re);
