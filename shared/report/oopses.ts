/**
 * The oops table: every way a Linux kernel announces a crash, one entry per format. To teach
 * the parser a new crash, add a format to its family (or a family with its header).
 *
 * Within a family, the format whose title rule matches earliest in the report wins; on a
 * tie, the first in table order. `report` rules must then match on following lines, in
 * order, or the next format is tried. Titles are formatted from the captures ({1}, {2}...)
 * and the guilty frame ({FRAME}) picked from the stack the `stack` rules walk.
 */
import { CALL_TRACE, re, RIP_FRAME } from './patterns.js';
import { hangFrame, stallFrame } from './extractors.js';
import { skipsOf } from './frame-rules.js';
import { STACK, type Oops, type OopsFormat, type StackFormat } from './types.js';

/** Stack after "Call Trace:". */
const callTrace = (skip?: readonly string[]): StackFormat => ({ parts: [CALL_TRACE, STACK], skip });
/**
 * The faulting instruction first, then the frames after it ("Call Trace:" may head them or,
 * on old kernels, not).
 */
const ripThenTrace = (skip?: readonly string[]): StackFormat => ({
  parts: [RIP_FRAME, STACK],
  // Old kernels print no RIP line for WARNINGs: the call trace alone.
  parts2: [CALL_TRACE, STACK],
  skip,
});

const UNABLE_TO_HANDLE_SKIP = ['^el1_', 'do_mem_abort', '__do_kernel_fault'];
/** Per-kind frame lists (frame-rules.ts). */
const SANITIZER = skipsOf('sanitizer');
const LOCK = skipsOf('lock');

/** Lockdep reports share a shape whether printed as BUG:, WARNING: or INFO:. */
function lockdepFormats(prefix: string): OopsFormat[] {
  const lockAt = re(String.raw`at: (?:{{PC}} +)?{{FUNC}}`);
  return [
    {
      title: re(`${prefix}: possible circular locking dependency detected`),
      report: [/is trying to acquire lock/],
      fmt: 'possible deadlock in {FRAME}',
      stack: {
        parts: [lockAt, lockAt, STACK],
        // Workqueue functions take locks of the work items: not the culprit.
        skip: ['process_one_work', 'flush_workqueue', 'drain_workqueue', 'destroy_workqueue', ...LOCK],
      },
    },
    {
      title: re(`${prefix}: possible irq lock inversion dependency detected`),
      report: [/just changed the state of lock/, lockAt],
      fmt: 'possible deadlock in {1}',
    },
    {
      title: re(`${prefix}: [A-Z]{1,12}-safe -> [A-Z]{1,12}-unsafe lock order detected`),
      // The culprit took the lock in interrupt context: name where.
      fmt: 'possible deadlock in {FRAME}',
      stack: { parts: [/which became [A-Z]{1,12}-irq-safe at:/, STACK], skip: LOCK },
    },
    {
      title: re(`${prefix}: possible recursive locking detected`),
      report: [/is trying to acquire lock/, lockAt],
      fmt: 'possible deadlock in {1}',
    },
    {
      title: re(`${prefix}: inconsistent lock state`),
      report: [/takes/, lockAt],
      fmt: 'inconsistent lock state in {1}',
      stack: { parts: [lockAt, STACK], skip: LOCK },
    },
  ];
}

const BUG_FORMATS: OopsFormat[] = [
  {
    title: re('BUG: KASAN: ([a-z\\-]+) in {{FUNC}}'),
    report: [/(Read|Write) (?:of size|at addr) (?:[0-9a-f]+)/],
    fmt: 'KASAN: {1} {3} in {FRAME}',
    alt: ['bad-access in {FRAME}'],
    stack: {
      parts: [re('BUG: KASAN: (?:[a-z\\-]+) in {{FUNC}}'), CALL_TRACE, STACK],
      // KASAN_HW_TAGS reports go through the fault handler.
      skip: ['kernel_fault', 'tag_check', 'mem_abort', '^el1_', '^el1h_', ...SANITIZER],
    },
  },
  {
    title: re('BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in {{FUNC}}'),
    fmt: 'KASAN: invalid-free in {FRAME}',
    alt: ['invalid-free in {FRAME}'],
    stack: {
      parts: [re('BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in {{FUNC}}'), CALL_TRACE, STACK],
      skip: ['slab_', 'kfree', 'vunmap', 'vfree', ...SANITIZER],
    },
  },
  {
    // Old KASAN: "BUG: KASAN: slab-out-of-bounds in foo+0x1/0x2 at addr ffff...".
    title: re('BUG: KASAN: ([a-z\\-]+) in {{FUNC}}(?:[^ ]* )?at addr ([0-9a-f]+)'),
    fmt: 'KASAN: {1} in {2} at addr {3}',
    stack: callTrace(),
  },
  {
    title: re('BUG: KASAN: ([a-z\\-]+) on address'),
    report: [/(Read|Write) of size [0-9]+/],
    fmt: 'KASAN: {1} {2}',
  },
  {
    // KASAN always prints the access ("Read of size 8"): without it the report was cut or
    // interleaved. Name the function of the header, without the access, and flag it.
    title: re('BUG: KASAN: ([a-z\\-]+) in {{FUNC}}'),
    fmt: 'KASAN: {1} in {2}',
    corrupted: true,
  },
  { title: /BUG: KASAN: (.*)/, fmt: 'KASAN: {1}', corrupted: true },
  {
    title: re('BUG: KMSAN: kernel-usb-infoleak in {{FUNC}}'),
    fmt: 'KMSAN: kernel-usb-infoleak in {FRAME}',
    alt: ['bad-access in {FRAME}'],
    stack: {
      parts: [re('BUG: KMSAN:'), STACK],
      skip: ['usb_submit_urb', 'usb_start_wait_urb', 'usb_bulk_msg', 'usb_interrupt_msg', 'usb_control_msg', ...SANITIZER],
    },
  },
  {
    title: re('BUG: KMSAN: ([a-z\\-]+) in {{FUNC}}'),
    fmt: 'KMSAN: {1} in {FRAME}',
    alt: ['bad-access in {FRAME}'],
    stack: { parts: [re('BUG: KMSAN: (?:[a-z\\-]+) in {{FUNC}}'), STACK], skip: ['alloc_skb', 'netlink_ack', 'netlink_rcv_skb', ...SANITIZER] },
  },
  {
    title: /BUG: KCSAN: data-race in ([a-zA-Z0-9_]+) \/ ([a-zA-Z0-9_]+)/,
    fmt: 'KCSAN: data-race in {1} / {2}',
    noStackTrace: true,
  },
  { title: /BUG: KCSAN: (.*)/, fmt: 'KCSAN: {1}', noStackTrace: true },
  {
    title: re('BUG: KFENCE: (use-after-free|out-of-bounds) (read|write) in {{FUNC}}'),
    fmt: 'KFENCE: {1} {2} in {FRAME}',
    alt: ['bad-access in {FRAME}'],
    stack: { parts: [re('BUG: KFENCE: (?:[a-z\\- ]+) in {{FUNC}}'), STACK], skip: ['kfence', ...SANITIZER] },
    // KFENCE prints its stacks without a "Call Trace:" header.
    noStackTrace: true,
  },
  {
    title: re('BUG: KFENCE: invalid free in {{FUNC}}'),
    fmt: 'KFENCE: invalid free in {FRAME}',
    alt: ['invalid-free in {FRAME}'],
    stack: { parts: [re('BUG: KFENCE: (?:[a-z\\- ]+) in {{FUNC}}'), STACK], skip: ['kfence', ...SANITIZER] },
    // KFENCE prints its stacks without a "Call Trace:" header.
    noStackTrace: true,
  },
  {
    title: re('BUG: KFENCE: invalid (read|write) in {{FUNC}}'),
    fmt: 'KFENCE: invalid {1} in {FRAME}',
    alt: ['bad-access in {FRAME}'],
    stack: { parts: [re('BUG: KFENCE: (?:[a-z\\- ]+) in {{FUNC}}'), STACK], skip: ['kfence', ...SANITIZER] },
    // KFENCE prints its stacks without a "Call Trace:" header.
    noStackTrace: true,
  },
  {
    title: re('BUG: KFENCE: memory corruption in {{FUNC}}'),
    fmt: 'KFENCE: memory corruption in {FRAME}',
    stack: { parts: [re('BUG: KFENCE: (?:[a-z\\- ]+) in {{FUNC}}'), STACK], skip: ['kfence', ...SANITIZER] },
    // KFENCE prints its stacks without a "Call Trace:" header.
    noStackTrace: true,
  },
  {
    title: /BUG: (?:unable to handle kernel paging request|unable to handle page fault for address|Unable to handle kernel data access on read|Unable to handle kernel paging request)/,
    fmt: 'BUG: unable to handle kernel paging request in {FRAME}',
    alt: ['bad-access in {FRAME}'],
    stack: ripThenTrace(UNABLE_TO_HANDLE_SKIP),
  },
  {
    title: /BUG: (?:unable to handle kernel NULL pointer dereference|kernel NULL pointer dereference|Kernel NULL pointer dereference)/,
    fmt: 'BUG: unable to handle kernel NULL pointer dereference in {FRAME}',
    alt: ['bad-access in {FRAME}'],
    stack: ripThenTrace(UNABLE_TO_HANDLE_SKIP),
  },
  {
    // The second half of the header is a separate printk and sometimes lost.
    title: /BUG: (?:unable to handle kernel|Unable to handle kernel)/,
    fmt: 'BUG: unable to handle kernel',
    corrupted: true,
  },
  {
    title: /BUG: (spinlock|rwlock) (lockup suspected|already unlocked|recursion|cpu recursion|bad magic|wrong owner|wrong CPU|trylock failure on UP)/,
    fmt: 'BUG: {1} {2} in {FRAME}',
    stack: callTrace(['spin_', '_lock', '_unlock', ...LOCK]),
  },
  {
    title: /BUG: soft lockup/,
    fmt: 'BUG: soft lockup in {FRAME}',
    alt: ['stall in {FRAME}'],
    stack: { parts: [RIP_FRAME, STACK], parts2: [CALL_TRACE, STACK], skip: skipsOf('stall'), extractor: stallFrame, noStop: true },
  },
  {
    title: /BUG: .{0,64}still has locks held!/,
    report: [re('at: (?:{{PC}} +)?{{FUNC}}')],
    fmt: 'BUG: still has locks held in {1}',
  },
  {
    title: /BUG: scheduling while atomic/,
    fmt: 'BUG: scheduling while atomic in {FRAME}',
    stack: callTrace(['schedule']),
  },
  {
    title: /BUG: lock held when returning to user space/,
    report: [/leaving the kernel with locks still held/, re('at: (?:{{PC}} +)?{{FUNC}}')],
    fmt: 'BUG: lock held when returning to user space in {1}',
    noStackTrace: true,
  },
  {
    title: /BUG: bad unlock balance detected!/,
    fmt: 'BUG: bad unlock balance in {FRAME}',
    stack: { parts: [/is trying to release lock/, re('{{PC}} +{{FUNC}}'), STACK], skip: LOCK },
  },
  {
    title: /BUG: held lock freed!/,
    report: [re('{{PC}} +{{FUNC}}')],
    fmt: 'BUG: held lock freed in {1}',
  },
  { title: /BUG: Bad rss-counter state/, fmt: 'BUG: Bad rss-counter state', noStackTrace: true },
  { title: /BUG: non-zero nr_ptes on freeing mm/, fmt: 'BUG: non-zero nr_ptes on freeing mm', noStackTrace: true },
  { title: /BUG: non-zero nr_pmds on freeing mm/, fmt: 'BUG: non-zero nr_pmds on freeing mm', noStackTrace: true },
  {
    // Block device names (loop0, loop1...) would split one bug into many: left out.
    title: /BUG: Dentry .{0,256} still in use \([0-9]+\) \[(unmount) of ([^\]]+)\]/,
    fmt: 'BUG: Dentry still in use in {1}',
    alt: ['BUG: Dentry still in use [{1} of {2}]'],
  },
  {
    title: /BUG: Bad page state in process/,
    fmt: 'BUG: Bad page state in {FRAME}',
    stack: callTrace(['free_', 'page', 'bad_page', ...skipsOf('badPage')]),
  },
  { title: /BUG: Bad page map/, fmt: 'BUG: Bad page map' },
  { title: /BUG: workqueue lockup/, fmt: 'BUG: workqueue lockup', noStackTrace: true },
  {
    title: /BUG: sleeping function called from invalid context at/,
    fmt: 'BUG: sleeping function called from invalid context in {FRAME}',
    stack: callTrace(['__might_resched', '__might_sleep', 'might_sleep', 'might_fault', '__might_fault']),
  },
  {
    title: /BUG: using __this_cpu_([a-z_]+)\(\) in preemptible/,
    fmt: 'BUG: using __this_cpu_{1}() in preemptible code in {FRAME}',
    stack: callTrace(['dump_stack', 'preemption', 'preempt', 'debug_', 'processor_id', 'this_cpu']),
  },
  {
    title: /BUG: using smp_processor_id\(\) in preemptible/,
    fmt: 'BUG: using smp_processor_id() in preemptible code in {FRAME}',
    stack: callTrace(['dump_stack', 'preemption', 'preempt', 'debug_', 'processor_id', 'this_cpu']),
  },
  {
    title: /BUG: workqueue leaked lock or atomic/,
    report: [/last function: ([a-zA-Z0-9_]+)/],
    fmt: 'BUG: workqueue leaked lock or atomic in {1}',
    noStackTrace: true,
  },
  {
    title: /BUG: memory leak/,
    fmt: 'memory leak in {FRAME}',
    stack: {
      parts: [/backtrace(?: \(crc [0-9a-f]{1,16}\))?:/, STACK],
      skip: [
        'kmemleak', 'mmap', 'kmem', 'slab', 'alloc', 'create_object', 'idr_get', 'list_lru_init',
        'kasprintf', 'kvasprintf', 'pcpu_create_chunk', 'strdup', 'strndup', 'memdup',
      ],
    },
  },
  {
    title: /BUG: .{0,64}stack guard page was hit at/,
    fmt: 'BUG: stack guard page was hit in {FRAME}',
    alt: ['stack-overflow in {FRAME}'],
    stack: { parts: [RIP_FRAME, STACK], parts2: [CALL_TRACE, STACK], extractor: stallFrame, noStop: true },
  },
  {
    title: /BUG: Invalid wait context/,
    // amd64 prints this as a lockdep WARNING; share its title.
    fmt: 'WARNING: locking bug in {FRAME}',
    stack: callTrace(),
  },
  { title: /BUG: MAX_STACK_TRACE_ENTRIES too low!/, fmt: 'BUG: MAX_STACK_TRACE_ENTRIES too low!', noStackTrace: true },
  {
    title: /BUG: corrupted list in/,
    fmt: 'BUG: corrupted list in {FRAME}',
    alt: ['bad-access in {FRAME}'],
    stack: ripThenTrace(['__list_']),
  },
  {
    title: /BUG: bad usercopy/,
    fmt: 'BUG: bad usercopy in {FRAME}',
    stack: ripThenTrace(['usercopy', '__check']),
  },
  ...lockdepFormats('BUG'),
];

const WARNING_FORMATS: OopsFormat[] = [
  {
    title: /WARNING: .{0,256}lib\/debugobjects\.c/,
    fmt: 'WARNING: ODEBUG bug in {FRAME}',
    stack: {
      parts: [RIP_FRAME, STACK],
      parts2: [CALL_TRACE, STACK],
      skip: ['debug_object', 'timer_', 'work_', 'percpu_', 'kfree', 'slab_', 'kmem_', 'kvfree', 'vfree', '__free_pages', 'call_rcu', 'vunmap'],
    },
  },
  {
    title: /WARNING: .{0,256}mm\/usercopy\.c/,
    fmt: 'WARNING: bad usercopy in {FRAME}',
    stack: ripThenTrace(['usercopy', '__check']),
  },
  {
    title: /WARNING: .{0,256}lib\/kobject\.c/,
    fmt: 'WARNING: kobject bug in {FRAME}',
    stack: ripThenTrace(['kobject_']),
  },
  {
    title: /WARNING: .{0,256}fs\/proc\/generic\.c/,
    fmt: 'WARNING: proc registration bug in {FRAME}',
    stack: ripThenTrace(['proc_']),
  },
  {
    title: /WARNING: .{0,256}lib\/refcount\.c/,
    fmt: 'WARNING: refcount bug in {FRAME}',
    stack: ripThenTrace(['refcount', 'kobject_', ...LOCK]),
  },
  {
    title: /WARNING: .{0,256}kernel\/locking\/lockdep\.c/,
    fmt: 'WARNING: locking bug in {FRAME}',
    stack: ripThenTrace(['lock_sock', 'register_lock_class', 'lockdep_', '__lock_acquire', ...LOCK]),
  },
  {
    // The allocator's size check, wherever a kernel version keeps it (kmalloc_slab,
    // __kmalloc_large_node, kmalloc_fix_flags...).
    title: /WARNING: .{0,256}mm\/(?:slab_common|slub|slab)\.c:[0-9]+ (?:at )?(?:__)?k(?:v|m)alloc[a-z_]*/,
    fmt: 'WARNING: kmalloc bug in {FRAME}',
    stack: ripThenTrace(['kmalloc', 'krealloc', 'slab', 'kmem']),
  },
  {
    title: /WARNING: .{0,256}mm\/vmalloc\.c.{0,256}__vmalloc_node/,
    fmt: 'WARNING: zero-size vmalloc in {FRAME}',
    stack: ripThenTrace(['vmalloc', 'kvmalloc']),
  },
  {
    // usb_submit_urb warns about its caller's bad URB: name both.
    title: /WARNING: .{0,256}drivers\/usb\/core\/urb\.c.{0,64} usb_submit_urb/,
    fmt: 'WARNING in {FRAME}/usb_submit_urb',
    stack: ripThenTrace(['usb_submit_urb', 'usb_start_wait_urb', 'usb_bulk_msg', 'usb_interrupt_msg', 'usb_control_msg']),
  },
  {
    title: re('WARNING: .{0,256} at {{SRC}} {{FUNC}}'),
    fmt: 'WARNING in {FRAME}',
    stack: ripThenTrace(),
  },
  {
    // Since 6.16: "WARNING: fs/buffer.c:1210 at mark_buffer_dirty+0x2a/0x80, CPU#1: syz/123";
    // with CONFIG_DEBUG_BUGVERBOSE_DETAILED the WARN_ON condition comes first, in brackets
    // ("WARNING: [!timer_pending(t)] kernel/time/timer.c:1234 at ..."): the frame still names it.
    title: re('WARNING: (?:\\[.{1,256}\\] )?{{SRC}} at '),
    fmt: 'WARNING in {FRAME}',
    stack: ripThenTrace(),
  },
  ...lockdepFormats('WARNING'),
  {
    title: /WARNING: suspicious RCU usage/,
    // The source line comes right after the header; anything else is interleaved output.
    report: [re('{{SRC}}')],
    reportGap: 2,
    fmt: 'WARNING: suspicious RCU usage in {FRAME}',
    stack: callTrace(['rcu', 'kmem', 'slab']),
  },
  {
    title: /WARNING: kernel stack regs at [0-9a-f]+ in [^ ]* has bad '([^']+)' value/,
    fmt: "WARNING: kernel stack regs has bad '{1}' value",
    noStackTrace: true,
  },
  {
    // Hashed pointers ("(ptrval)") since 4.15: the register is not named either.
    title: /WARNING: kernel stack regs at {0,16}\(ptrval\) in [^ ]* has bad/,
    fmt: 'WARNING: kernel stack regs has bad value',
    noStackTrace: true,
  },
  {
    title: /WARNING: kernel stack frame pointer at [0-9a-f]+ in [^ ]* has bad value/,
    fmt: 'WARNING: kernel stack frame pointer has bad value',
    noStackTrace: true,
  },
  {
    title: /WARNING: bad unlock balance detected!/,
    fmt: 'WARNING: bad unlock balance in {FRAME}',
    stack: { parts: [/is trying to release lock/, re('(?:{{PC}} +)?{{FUNC}}'), STACK], skip: LOCK },
  },
  {
    title: /WARNING: held lock freed!/,
    report: [re('at:(?: {{PC}})? +{{FUNC}}')],
    fmt: 'WARNING: held lock freed in {1}',
  },
  {
    title: /WARNING: .{0,64}still has locks held!/,
    report: [re('at: (?:{{PC}} +)?{{FUNC}}')],
    fmt: 'WARNING: still has locks held in {1}',
  },
  {
    title: /WARNING: Nested lock was not taken/,
    fmt: 'WARNING: nested lock was not taken in {FRAME}',
    stack: callTrace(),
  },
  {
    title: /WARNING: lock held when returning to user space/,
    report: [/leaving the kernel with locks still held/, re('at: (?:{{PC}} +)?{{FUNC}}')],
    fmt: 'WARNING: lock held when returning to user space in {1}',
    noStackTrace: true,
  },
  {
    title: /WARNING: CPU: [0-9]+ PID: [0-9]+ at ([a-zA-Z0-9_\-/.]+\.[a-z]+):[0-9]+/,
    fmt: 'WARNING in {FRAME}',
    stack: ripThenTrace(),
  },
];

const INFO_FORMATS: OopsFormat[] = [
  ...lockdepFormats('INFO'),
  {
    title: /INFO: rcu_(?:preempt|sched|bh|tasks[a-z_]{0,16}) (?:self-)?detected(?: expedited)? stall/,
    fmt: 'INFO: rcu detected stall in {FRAME}',
    alt: ['stall in {FRAME}'],
    stack: {
      parts: [/apic_timer_interrupt/, RIP_FRAME, STACK],
      parts2: [/apic_timer_interrupt|Exception stack|el1_irq|el1h_64_irq\+/, STACK],
      skip: ['apic_timer_interrupt', 'rcu', ...skipsOf('rcuStall')],
      extractor: stallFrame,
      noStop: true,
    },
  },
  {
    title: /INFO: rcu_(?:preempt|sched|bh) (?:self-)?detected(?: expedited)? stall/,
    fmt: 'INFO: rcu detected stall',
    corrupted: true,
  },
  {
    title: /INFO: suspicious RCU usage/,
    report: [re('{{SRC}}')],
    fmt: 'INFO: suspicious RCU usage in {FRAME}',
    stack: callTrace(['rcu', 'kmem', 'slab']),
  },
  {
    title: /INFO: task .{0,64} blocked (?:in I\/O wait )?for more than [0-9]+ seconds/,
    fmt: 'INFO: task hung in {FRAME}',
    alt: ['hang in {FRAME}'],
    stack: { parts: [CALL_TRACE, STACK], skip: skipsOf('hang'), extractor: hangFrame },
  },
  {
    // The task name is unreadable: it held a newline (comm is any 16 bytes), so the header
    // is cut in two lines.
    title: /INFO: task .{0,64}$/,
    report: [/blocked (?:in I\/O wait )?for more than [0-9]+ seconds/],
    reportGap: 1,
    fmt: 'INFO: task hung in {FRAME}',
    alt: ['hang in {FRAME}'],
    stack: { parts: [CALL_TRACE, STACK], skip: skipsOf('hang'), extractor: hangFrame },
  },
  {
    title: /INFO: task .{0,64} can't die for more than .{1,32} seconds/,
    fmt: "INFO: task can't die in {FRAME}",
    alt: ['hang in {FRAME}'],
    stack: callTrace(['schedule', ...skipsOf('hang')]),
  },
  {
    // Old SLUB debug output of a corrupted KASAN report.
    title: /INFO: (Freed|Allocated) in (.*)/,
    fmt: 'INFO: {1} in {2}',
    corrupted: true,
  },
  {
    title: /INFO: trying to register non-static key/,
    fmt: 'INFO: trying to register non-static key in {FRAME}',
    stack: callTrace(['stack', 'lock', 'IRQ']),
  },
];

/** Rust's panic path below the code that panicked (frames are demangled first). */
const RUST_PANIC_SKIP = ['^core::', '^<core::', 'rust_begin_unwind', '^kernel::panic', '^<&core::'];
/** A Go stack frame: "main.(*T).f(0x1, 0x2)" (the next line, indented, is its file). */
const GO_FRAME = /^([a-zA-Z0-9_][a-zA-Z0-9_./*()[\]-]{0,200}?)\([^()]{0,200}\)$/;

const STACK_OOPS_SKIP = ['general_protection', 'do_general_protection', 'exc_general_protection'];

/** The oops families, in the order a line is checked against them. */
export const OOPSES: readonly Oops[] = [
  {
    header: 'BUG:',
    formats: BUG_FORMATS,
    suppressions: [
      /ODEBUG:/,
      /Boot_DEBUG:/,
      /xlog_status:/,
      // Android ART debug output.
      /DEBUG:/,
      // syzkaller's host checks in debug mode.
      /BUG: no syscalls can create resource/,
    ],
  },
  {
    header: 'WARNING:',
    formats: WARNING_FORMATS,
    suppressions: [
      /WARNING: \/etc\/ssh\/moduli does not exist, using fixed modulus/,
      /WARNING: workqueue cpumask: online intersect > possible intersect/,
      /WARNING: [Tt]he mand mount option/,
      /WARNING: Unsupported flag value\(s\) of 0x%x in DT_FLAGS_1/,
      /WARNING: Unprivileged eBPF is enabled with eIBRS/,
      /WARNING: fbcon: Driver '/,
      /WARNING: See https/,
      /WARNING: kernel not compiled with CPU_SRSO/,
      /EXT4-[Ff][Ss]/,
      /warning: .{0,128} uses (?:deprecated v2 capabilities|wireless extensions)/i,
      /XFS \([a-z0-9]{1,32}\): WARNING/,
    ],
  },
  {
    header: 'INFO:',
    // Firmware, vendor drivers and probes print "INFO: ..." too: only known reports count.
    requireFormat: true,
    formats: INFO_FORMATS,
    suppressions: [
      /INFO: lockdep is turned off/,
      /INFO: Stall ended before state dump start/,
      // perf's NMI timing note: "INFO: NMI handler (perf_event_nmi_handler) took too long to run: 1.2 msecs".
      /INFO: NMI handler \(.{1,128}\) took too long/,
      /_INFO::/,
      /INFO: sys_.{1,64} is not present in \/proc\/kallsyms/,
      /INFO: no syscalls can create resource/,
      /INFO: Object 0x/,
      /INFO: Slab 0x/,
      /INFO: lockdep/,
      /INFO: rcu_(?:preempt|sched|bh) detected expedited stalls/,
      /EXT4-[Ff][Ss]/,
    ],
  },
  {
    header: 'Unable to handle kernel',
    formats: [
      {
        title: /Unable to handle kernel (paging request|NULL pointer dereference|access to user memory)/,
        fmt: 'BUG: unable to handle kernel {1} in {FRAME}',
        alt: ['bad-access in {FRAME}'],
        stack: ripThenTrace(UNABLE_TO_HANDLE_SKIP),
      },
    ],
    suppressions: [],
  },
  {
    header: 'general protection fault',
    formats: [
      {
        title: /general protection fault.{0,256}:/,
        fmt: 'general protection fault in {FRAME}',
        alt: ['bad-access in {FRAME}'],
        stack: { parts: [RIP_FRAME, STACK], parts2: [CALL_TRACE, STACK], skip: STACK_OOPS_SKIP },
      },
    ],
    suppressions: [/general protection fault .{0,64} error:[0-9a-f]+ in /],
  },
  {
    header: 'stack segment: ',
    formats: [
      {
        title: /stack segment: /,
        fmt: 'stack segment fault in {FRAME}',
        stack: { parts: [RIP_FRAME, STACK], parts2: [CALL_TRACE, STACK] },
      },
    ],
    suppressions: [],
  },
  {
    // x86 BUG() on an int3 trap (static calls, kprobes, text_poke gone wrong).
    header: 'int3: ',
    formats: [{ title: /int3: [0-9a-f]{4} \[#[0-9]+\]/, fmt: 'int3 in {FRAME}', stack: ripThenTrace() }],
    suppressions: [],
  },
  {
    // x86: the page or double fault hit the guard page; printed alone when the "BUG: stack
    // guard page was hit" line before it was lost.
    header: 'kernel stack overflow',
    formats: [
      {
        title: /kernel stack overflow \([a-z -]{1,32}\): [0-9a-f]{4}/,
        fmt: 'kernel stack overflow in {FRAME}',
        alt: ['stack-overflow in {FRAME}'],
        stack: { parts: [RIP_FRAME, STACK], parts2: [CALL_TRACE, STACK], extractor: stallFrame, noStop: true },
      },
    ],
    suppressions: [],
  },
  {
    // arm64: the exception entry found no stack left; "pc :" is where the task was.
    header: 'Insufficient stack space to handle exception',
    formats: [
      {
        title: /Insufficient stack space to handle exception/,
        fmt: 'kernel stack overflow in {FRAME}',
        alt: ['stack-overflow in {FRAME}'],
        stack: { parts: [RIP_FRAME] },
        noStackTrace: true,
      },
    ],
    suppressions: [],
  },
  {
    // Rust code panicked: "rust_kernel: panicked at 'msg', file.rs:1:2" (old) or
    // "rust_kernel: panicked at file.rs:1:2:" with the message on the next line.
    header: 'rust_kernel: panicked at',
    formats: [
      {
        title: /panicked at '(.{1,200})', [a-zA-Z0-9_\-/.]{1,256}\.rs:[0-9]+/,
        fmt: '{1} in {FRAME}',
        stack: { parts: [CALL_TRACE, STACK], skip: RUST_PANIC_SKIP },
      },
      {
        title: /panicked at [a-zA-Z0-9_\-/.]{1,256}\.rs:[0-9]+(?::[0-9]+)?:?$/,
        report: [/^(\S.{0,200})$/],
        reportGap: 0,
        fmt: '{1} in {FRAME}',
        stack: { parts: [CALL_TRACE, STACK], skip: RUST_PANIC_SKIP },
      },
    ],
    suppressions: [],
  },
  {
    // A Go program (the fuzzer, a test helper) died on a runtime error: name the first frame
    // of the panicking goroutine that is not the runtime's.
    header: 'panic: runtime error: ',
    formats: [
      {
        title: /panic: runtime error: (.{1,200})/,
        fmt: 'go runtime error in {FRAME}',
        alt: ['go runtime error: {1}'],
        stack: { parts: [/^goroutine [0-9]+ \[running\]:/, GO_FRAME, GO_FRAME, GO_FRAME, GO_FRAME, GO_FRAME, GO_FRAME], skip: ['^runtime\\.', '^panic'], noStop: true },
        noStackTrace: true,
      },
    ],
    suppressions: [],
  },
  {
    header: 'Kernel panic',
    formats: [
      { title: /Kernel panic - not syncing: Attempted to kill init!/, fmt: 'kernel panic: Attempted to kill init!' },
      {
        title: /Kernel panic - not syncing: Couldn't open N_TTY ldisc for [^ ]+ --- error -[0-9]+/,
        fmt: "kernel panic: Couldn't open N_TTY ldisc",
      },
      {
        // Printed after a BUG: catching it first means the BUG header was lost.
        title: /Kernel panic - not syncing: Fatal exception/,
        fmt: 'kernel panic: Fatal exception',
        noStackTrace: true,
        corrupted: true,
      },
      {
        // Same, for WARNINGs and KASAN reports ("kernel: panic_on_warn set", "KASAN: ..." since 6.2).
        title: /Kernel panic - not syncing: (?:[A-Za-z]{1,16}: )?panic_on_warn set/,
        fmt: 'kernel panic: panic_on_warn set',
        noStackTrace: true,
        corrupted: true,
      },
      {
        // Same, for hung tasks.
        title: /Kernel panic - not syncing: hung_task: blocked tasks/,
        fmt: 'kernel panic: hung_task: blocked tasks',
        noStackTrace: true,
        corrupted: true,
      },
      {
        title: /Kernel panic - not syncing: corrupted stack end detected inside scheduler/,
        fmt: 'kernel panic: corrupted stack end in {FRAME}',
        alt: ['stack-overflow in {FRAME}'],
        stack: { parts: [CALL_TRACE, STACK], skip: ['schedule', 'retint_kernel'], extractor: stallFrame, noStop: true },
      },
      {
        // Old kernels name the address, not the function: take it from the stack.
        title: /Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: [0-9a-f]+$/,
        fmt: 'kernel panic: stack is corrupted in {FRAME}',
        stack: callTrace(['__stack_chk_fail']),
      },
      {
        title: re('Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: {{FUNC}}'),
        fmt: 'kernel panic: stack is corrupted in {1}',
        noStackTrace: true,
      },
      { title: /Kernel panic - not syncing: (.*)/, fmt: 'kernel panic: {1}', noStackTrace: true },
    ],
    suppressions: [],
  },
  {
    header: 'PANIC: double fault',
    formats: [
      {
        title: /PANIC: double fault/,
        fmt: 'PANIC: double fault in {FRAME}',
        stack: { parts: [RIP_FRAME] },
      },
    ],
    suppressions: [],
  },
  {
    header: 'kernel BUG',
    formats: [
      {
        title: /kernel BUG at mm\/usercopy\.c/,
        fmt: 'BUG: bad usercopy in {FRAME}',
        stack: callTrace(['usercopy', '__check']),
      },
      {
        title: /kernel BUG at lib\/list_debug\.c/,
        fmt: 'BUG: corrupted list in {FRAME}',
        alt: ['bad-access in {FRAME}'],
        stack: ripThenTrace(['__list_']),
      },
      {
        title: /kernel BUG at (.*)/,
        fmt: 'kernel BUG in {FRAME}',
        stack: { parts: [RIP_FRAME, STACK], parts2: [CALL_TRACE, STACK] },
      },
    ],
    suppressions: [],
  },
  {
    header: 'Kernel BUG',
    formats: [{ title: /Kernel BUG (.*)/, fmt: 'kernel BUG {1}', noStackTrace: true }],
    suppressions: [],
  },
  {
    header: 'BUG kmalloc-',
    formats: [{ title: /BUG kmalloc-.{1,32}: Object already free/, fmt: 'BUG: Object already free' }],
    suppressions: [],
  },
  {
    header: 'divide error:',
    formats: [
      {
        title: /divide error: /,
        fmt: 'divide error in {FRAME}',
        stack: { parts: [RIP_FRAME] },
      },
    ],
    suppressions: [],
  },
  {
    // Since 6.x: "Oops: divide error: 0000" on x86 prints as "divide_error:" on some configs.
    header: 'divide_error:',
    formats: [{ title: /divide_error: /, fmt: 'divide error in {FRAME}', stack: { parts: [RIP_FRAME] } }],
    suppressions: [],
  },
  {
    header: 'invalid opcode:',
    formats: [
      {
        title: /invalid opcode: /,
        fmt: 'invalid opcode in {FRAME}',
        stack: { parts: [RIP_FRAME] },
      },
    ],
    suppressions: [],
  },
  {
    header: 'UBSAN:',
    formats: [
      {
        title: /UBSAN: array-index-out-of-bounds in/,
        fmt: 'UBSAN: array-index-out-of-bounds in {FRAME}',
        alt: ['bad-access in {FRAME}'],
        stack: callTrace(['ubsan', 'overflow']),
      },
      {
        // Old kernels: "UBSAN: Undefined behaviour in net/x.c:12:3".
        title: /UBSAN: Undefined behaviour in/,
        fmt: 'UBSAN: undefined-behaviour in {FRAME}',
        stack: callTrace(['ubsan', 'overflow']),
      },
      {
        title: /UBSAN: ([a-z\- ]+) in/,
        fmt: 'UBSAN: {1} in {FRAME}',
        stack: callTrace(['ubsan', 'overflow']),
      },
      { title: /UBSAN: (.*)/, fmt: 'UBSAN: {1}', corrupted: true },
    ],
    suppressions: [],
  },
  {
    header: 'Booting the kernel.',
    atLineStart: true,
    formats: [{ title: /^Booting the kernel/, fmt: 'unexpected kernel reboot', noStackTrace: true }],
    // The fuzzer sometimes echoes boot messages back as mount options.
    suppressions: [/Parsing ELF|Decompressing Linux/],
  },
  {
    header: 'unregister_netdevice: waiting for',
    formats: [
      {
        title: /unregister_netdevice: waiting for (?:.*) to become free/,
        fmt: 'unregister_netdevice: waiting for DEV to become free',
        noStackTrace: true,
      },
    ],
    suppressions: [],
  },
  {
    header: 'VFS: Close: file count is 0',
    formats: [{ title: /VFS: Close: file count is 0/, fmt: 'VFS: Close: file count is zero (use-after-free)', noStackTrace: true }],
    suppressions: [],
  },
  {
    header: 'VFS: Busy inodes after unmount',
    formats: [{ title: /VFS: Busy inodes after unmount/, fmt: 'VFS: Busy inodes after unmount (use-after-free)', noStackTrace: true }],
    suppressions: [],
  },
  {
    header: 'Internal error:',
    formats: [
      {
        title: /Internal error:/,
        fmt: 'Internal error in {FRAME}',
        alt: ['bad-access in {FRAME}'],
        stack: { parts: [RIP_FRAME, STACK], parts2: [CALL_TRACE, STACK] },
      },
    ],
    suppressions: [/rmi4|ETM|ath10k/],
  },
  {
    header: 'Unhandled fault:',
    formats: [
      {
        title: /Unhandled fault:/,
        fmt: 'Unhandled fault in {FRAME}',
        alt: ['bad-access in {FRAME}'],
        stack: { parts: [RIP_FRAME, STACK], parts2: [CALL_TRACE, STACK] },
      },
    ],
    suppressions: [],
  },
  {
    header: 'Alignment trap:',
    formats: [
      {
        title: /Alignment trap:/,
        fmt: 'Alignment trap in {FRAME}',
        stack: { parts: [RIP_FRAME, STACK], parts2: [CALL_TRACE, STACK] },
      },
    ],
    suppressions: [],
  },
  {
    header: 'trusty: panic',
    formats: [
      {
        title: /trusty: panic.{0,256} ASSERT FAILED.{0,256}: (.*)/,
        fmt: 'trusty: ASSERT FAILED: {1}',
        noStackTrace: true,
      },
      { title: /trusty: panic/, fmt: 'trusty: panic', noStackTrace: true },
    ],
    suppressions: [],
  },
  {
    header: 'trusty: ASSERT FAILED',
    formats: [{ title: /trusty: ASSERT FAILED/, fmt: 'trusty: ASSERT FAILED:', noStackTrace: true, corrupted: true }],
    suppressions: [],
  },
  {
    header: 'SYZFAIL:',
    formats: [{ title: /SYZFAIL:(.*)/, fmt: 'SYZFAIL:{1}', noStackTrace: true }],
    suppressions: [],
  },
  {
    header: 'SYZFATAL:',
    formats: [{ title: /SYZFATAL:(.*)/, fmt: 'SYZFATAL:{1}', alt: ['SYZFATAL'], noStackTrace: true }],
    suppressions: [],
  },
];
