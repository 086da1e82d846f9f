/**
 * Stack frames: how a frame line looks, which frames are infrastructure (never the culprit),
 * and how syscall wrappers are named back to the syscall.
 */
import { demangle } from './demangle.js';
import { FRAME_RULES } from './frame-rules.js';
import { re } from './patterns.js';

/** A stack frame line; capture 1 (and 2 on arm) is the function. */
export const FRAME_LINES: readonly RegExp[] = [
  re(String.raw`^ *(?:{{PC}} ){0,2}{{FUNC}}`),
  // Symbolized inline frames: " __dump_stack lib/dump_stack.c:17 [inline]".
  re(String.raw`^ *([a-zA-Z0-9_]+) {{SRC}} \[inline\]`),
  // arm: "[<c0123>] (foo) from [<c0456>] (bar)": both the current and the calling frame.
  re(String.raw`^ *{{PC}} \(([a-zA-Z0-9_.]+)\) from {{PC}} \(([a-zA-Z0-9_.]+)(?:\+0x[0-9a-f]+\/0x[0-9a-f]+)?\)`),
  // powerpc: the frame that took an exception ("--- interrupt: 700 at foo+0x2c/0x70").
  re(String.raw`^ *--- interrupt: [0-9a-f]+ at {{FUNC}}`),
];

/** Lines that start a new stack: the current one ends there. */
export const STACK_STARTS: readonly RegExp[] = [
  /Call ?[Tt]race/,
  /Allocated:/,
  /Allocated by task [0-9]+:/,
  /Freed:/,
  /Freed by task [0-9]+:/,
  // "backtrace:" but not lockdep's "stack backtrace:"; kmemleak adds a crc.
  /[^k] backtrace(?: \(crc [0-9a-f]{1,16}\))?:/,
  /Backtrace:/,
  /Uninit was stored to memory at/,
  /Uninit was created at/,
];

/** Fault-injection stacks interleave with reports: a report containing them is corrupted. */
export const CORRUPTED_LINES: readonly RegExp[] = [
  /^( \[<?(?:0x)?[0-9a-f]+>?\])? should_fail(slab)?(\.[a-z0-9.]+)?\+0x/,
];

/**
 * Infrastructure frames: allocators, locking, sanitizers, printing, string and list helpers,
 * entry code. Substring regexps, joined into one; a title never names them.
 */
export const SKIP_FRAMES: readonly string[] = [
  '__sanitizer', '__asan', 'kasan', 'hwasan', '__msan', 'kmsan', 'kcsan_setup_watchpoint',
  'check_memory_region', 'check_heap_object', 'check_object', 'read_word_at_a_time',
  '(read|write)_once_.*nocheck', 'print_address_description', 'panic', 'invalid_op',
  'report_bug', 'fixup_bug', 'do_error', '^_trap', 'dump_stack', 'warn_slowpath', 'warn_alloc',
  'warn_bogus', '__warn', 'debug_object', 'print_tainted', 'check_panic_on_warn',
  'debug_print_object', 'debug_check_no_obj_freed', 'timer_is_static_object', 'work_is_static_object',
  '__might_fault', 'print_unlock', 'imbalance_bug', 'lockdep', 'bh_enable', 'bh_disable',
  'perf_trace', 'lock_acquire', 'lock_release', 'lock_class', 'mark_lock',
  '(reacquire|mark)_held_locks', 'raw_spin_rq', 'spin_lock', 'spin_trylock', 'spin_unlock',
  'read_lock', 'read_trylock', 'write_lock', 'write_trylock', 'read_unlock', 'write_unlock',
  '^down$', 'down_read', 'down_write', 'down_read_trylock', 'down_write_trylock', 'down_trylock',
  'up_read', 'up_write', '^mutex_', '^__mutex_', '^rt_mutex_', 'owner_on_cpu', 'osq_lock',
  'osq_unlock', 'atomic(64)?_(dec|inc|read|set|or|xor|and|add|sub|fetch|xchg|cmpxchg|try)',
  '(set|clear|change|test)_bit', '__wake_up', '^refcount_', '^kref_', 'ref_tracker',
  'seqprop_assert', 'memcpy', 'memcmp', 'memset', 'memchr', 'memmove', 'memdup', 'strcmp',
  'strncmp', 'strcpy', 'strlcpy', 'strncpy', 'strscpy', 'strlen', 'strstr', 'strnstr', 'strnlen',
  'strchr', 'strdup', 'strndup', 'copy_to_user', 'copy_from_user', 'copy_to_iter',
  'copy_from_iter', 'copy_page_to_iter', 'copy_page_from_iter', 'copy_folio_to_iter',
  '^copyin$', '^copyout$', 'put_user', 'get_user', 'might_fault', 'might_sleep', 'list_add',
  'list_del', 'list_replace', 'list_move', 'list_splice', '^rb_', '^__rb_', '_indirect_thunk_',
  'string', 'pointer', 'snprintf', 'scnprintf', 'kasprintf', 'kvasprintf', 'printk',
  'va_format', 'dev_info', 'dev_notice', 'dev_warn', 'dev_err', 'dev_alert', 'dev_crit',
  'dev_emerg', 'program_check_exception', 'program_check_common', 'del_timer', 'flush_work',
  '__cancel_work_timer', 'cancel_work_sync', 'try_to_grab_pending', 'flush_workqueue',
  'drain_workqueue', 'destroy_workqueue', 'queue_work', 'finish_wait', 'kthread_stop',
  'kobject_', 'add_uevent_var', 'get_device_parent', 'device_add', 'device_del',
  'device_unregister', 'device_destroy', 'device_release', 'devres_release_all',
  'hwrng_unregister', 'i2c_del_adapter', '__unregister_client', 'device_for_each_child',
  'rollback_registered', 'unregister_netdev', 'sysfs_remove', 'sysfs_create_file', '__devm_',
  'release_nodes', '_rcu_barrier', 'rcu_barrier', '^kfree$', '^kvfree$', 'kfree_skb',
  '^vfree$', 'slab_free', 'slab_alloc', '__slab_', 'kmem_cache_', 'kmalloc', 'kzalloc', 'kcalloc',
  'krealloc', 'kvmalloc', 'kvzalloc', '__kmalloc', '__vmalloc', 'vmalloc', 'alloc_pages',
  '__alloc_pages', 'get_page_from_freelist', 'prep_new_page', '^free_pages', '__free_pages',
  'free_unref', 'entry_SYSCALL', 'entry_SYSENTER', 'ret_from_fork', 'asm_exc_', 'asm_sysvec_',
  'exc_page_fault', 'do_page_fault', 'page_fault', 'handle_mm_fault', '^do_user_addr_fault',
  'do_kern_addr_fault', 'no_context', 'bad_area', 'kernelmode_fixup_or_oops', 'page_fault_oops',
  '__do_kernel_fault', 'do_translation_fault', 'do_mem_abort', 'el1_abort', 'el1_da', 'el1h_64_sync',
  'do_general_protection', 'exc_general_protection', 'general_protection', 'do_invalid_op',
  'exc_invalid_op', 'handle_bug', 'do_trap', 'do_divide_error', 'exc_divide_error',
  'native_write_msr', 'instrument_', 'ubsan', '__ubsan', 'check_preemption_disabled',
  'preempt_count', 'kcov', 'fortify', '__fortify', 'usercopy_abort', '__check_object_size',
  'check_stack_object', 'print_report', 'dump_backtrace', 'show_stack', 'walk_stackframe',
  'save_stack', 'stack_trace_', 'arch_stack_walk', '^unwind_', 'noprof', '^skb_put$', '^skb_push$',
  '^skb_pull$', '__skb_put', '__skb_push', 'usb_kill_urb', 'usb_poison_urb', 'tty_unregister_device',
  'wait_for_completion', 'assertfail', '^klist_', 'vzalloc', '^crc', '^xa_', '^xas_', 'drop_nlink',
  'inc_nlink', 'clear_nlink', 'set_nlink', '^dput$', 'fast_dput', 'mark_buffer_dirty',
  '^folio_unlock$', 'lock_timer_base', '^__mod_timer$', '^mod_timer$', '^add_timer',
  '^__raw_(?:read|write)', '^logic_(?:in|out)', 'trace_hardirqs', 'insert_work', 'queue_delayed_work',
  '^iput$', 'find_lock_entries', 'truncate_inode_pages',
  // Explained one by one in frame-rules.ts.
  ...FRAME_RULES.generic.skip.map((r) => r.re),
];

/** Frames at which every walk for the guilty frame stops (frame-rules.ts). */
export const STOP_FRAMES: readonly string[] = FRAME_RULES.generic.stop.map((r) => r.re);

/**
 * Compiler clones: "foo.isra.0", "foo.part.3", "foo.constprop.0.cold" are foo. Applied to
 * frame names and titles.
 */
export const CLONE_SUFFIX = /\.(?:part|isra|constprop|cold|llvm|lto_priv|localalias|specialized)(?:\.[0-9a-z]+)*(?![a-zA-Z0-9_])/g;

/**
 * Syscall wrappers renamed back to the syscall, applied in order, each once:
 * __se_sys_foo -> sys_foo -> foo; __x64_sys_foo -> sys_foo (kept, it names the syscall entry).
 * Every intermediate name becomes an alternative title.
 */
export const STRIP_FRAME_PREFIXES: readonly string[] = [
  'compat_SYSC_', 'compat_SyS_', '__se_compat_sys_', '__se_', '____sys_', '___sys_', '__sys_',
  'SYSC_', 'SyS_', 'sys_', '__do_compat_sys_', '__do_sys_', 'ksys_', '__x64_', '__ia32_',
  '__arm64_', '__riscv_', '__s390x_', '__s390_',
];

/**
 * Demangle, drop clone suffixes, then strip syscall-wrapper prefixes; returns every name along
 * the way (the demangled one first, final last).
 */
export function canonicalFrame(raw: string): string[] {
  // Demangled and without clone suffixes from the start: the raw spelling names nothing new.
  let name = demangle(raw.replace(CLONE_SUFFIX, ''));
  const names = [name];
  for (const prefix of STRIP_FRAME_PREFIXES) {
    if (name.startsWith(prefix) && name.length > prefix.length) {
      name = name.slice(prefix.length);
      names.push(name);
    }
  }
  return names;
}

/** Build the skip regexp of a stack format: generic patterns plus its own. */
export function skipRegexp(extra: readonly string[] | undefined): RegExp {
  const key = extra?.join('\n') ?? '';
  let r = SKIP_CACHE.get(key);
  if (!r) {
    r = new RegExp([...SKIP_FRAMES, ...(extra ?? [])].join('|'));
    SKIP_CACHE.set(key, r);
  }
  return r;
}
const SKIP_CACHE = new Map<string, RegExp>();

/** The stop regexp: generic stop frames (frame-rules.ts). */
export const STOP_REGEXP = new RegExp(STOP_FRAMES.join('|'));
