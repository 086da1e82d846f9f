/**
 * Crash classes, decided from the title alone (as syzbot does): the first prefix that
 * matches wins, so specific prefixes come before general ones. '' means unclassified.
 */
const TYPES: readonly [prefix: string | RegExp, type: string][] = [
  ['KFENCE: use-after-free read', 'KFENCE-USE-AFTER-FREE-READ'],
  ['KFENCE: use-after-free write', 'KFENCE-USE-AFTER-FREE-WRITE'],
  ['KFENCE: out-of-bounds read', 'KFENCE-READ'],
  ['KFENCE: out-of-bounds write', 'KFENCE-WRITE'],
  ['KFENCE: invalid read', 'KFENCE-READ'],
  ['KFENCE: invalid write', 'KFENCE-WRITE'],
  ['KFENCE: invalid free', 'KFENCE-INVALID-FREE'],
  ['KFENCE: memory corruption', 'KFENCE-MEMORY-CORRUPTION'],
  ['KASAN: null-ptr-deref Read', 'KASAN-NULL-POINTER-DEREFERENCE-READ'],
  ['KASAN: null-ptr-deref Write', 'KASAN-NULL-POINTER-DEREFERENCE-WRITE'],
  ['KASAN: use-after-free Read', 'KASAN-USE-AFTER-FREE-READ'],
  ['KASAN: slab-use-after-free Read', 'KASAN-USE-AFTER-FREE-READ'],
  ['KASAN: use-after-free Write', 'KASAN-USE-AFTER-FREE-WRITE'],
  ['KASAN: slab-use-after-free Write', 'KASAN-USE-AFTER-FREE-WRITE'],
  ['KASAN: invalid-free', 'KASAN-INVALID-FREE'],
  ['KASAN: double-free', 'KASAN-INVALID-FREE'],
  [/^KASAN: [a-z-]+ Write/, 'KASAN-WRITE'],
  ['KASAN: ', 'KASAN-READ'],
  ['KMSAN: uninit-value', 'KMSAN-UNINIT-VALUE'],
  ['KMSAN: kernel-infoleak', 'KMSAN-INFO-LEAK'],
  ['KMSAN: kernel-usb-infoleak', 'KMSAN-INFO-LEAK'],
  ['KMSAN: ', 'KMSAN-UNINIT-VALUE'],
  ['KCSAN: data-race', 'KCSAN-DATARACE'],
  ['KCSAN: assert: race', 'KCSAN-ASSERT'],
  ['KCSAN: ', 'KCSAN-DATARACE'],
  ['BUG: unable to handle kernel NULL pointer dereference', 'NULL-POINTER-DEREFERENCE'],
  ['BUG: unable to handle kernel paging request', 'MEMORY_SAFETY_BUG'],
  ['BUG: corrupted list', 'MEMORY_SAFETY_BUG'],
  ['UBSAN: array-index-out-of-bounds', 'MEMORY_SAFETY_UBSAN'],
  ['UBSAN: ', 'UBSAN'],
  ['INFO: task hung', 'HANG'],
  ['INFO: task can\'t die', 'HANG'],
  ['INFO: rcu detected stall', 'HANG'],
  ['BUG: soft lockup', 'HANG'],
  ['memory leak in', 'LEAK'],
  ['WARNING: refcount bug', 'REFCOUNT_WARNING'],
  ['BUG: sleeping function called from invalid context', 'ATOMIC_SLEEP'],
  ['BUG: scheduling while atomic', 'ATOMIC_SLEEP'],
  ['possible deadlock', 'LOCKDEP'],
  ['inconsistent lock state', 'LOCKDEP'],
  ['BUG: still has locks held', 'LOCKDEP'],
  ['BUG: held lock freed', 'LOCKDEP'],
  ['BUG: bad unlock balance', 'LOCKDEP'],
  ['BUG: spinlock', 'LOCKDEP'],
  ['BUG: rwlock', 'LOCKDEP'],
  ['BUG: using __this_cpu', 'LOCKDEP'],
  ['BUG: using smp_processor_id', 'LOCKDEP'],
  ['WARNING: suspicious RCU usage in', 'LOCKDEP'],
  ['WARNING: held lock freed', 'LOCKDEP'],
  ['WARNING: bad unlock balance', 'LOCKDEP'],
  ['WARNING: locking bug', 'LOCKDEP'],
  ['WARNING: still has locks held', 'LOCKDEP'],
  ['WARNING: nested lock was not taken', 'LOCKDEP'],
  // The unwinder complaining about itself is not a kernel bug class syzbot tracks.
  ['WARNING: kernel stack', ''],
  ['WARNING', 'WARNING'],
  ['kernel BUG', 'BUG'],
  ['BUG: bad usercopy', 'BUG'],
  ['general protection fault', 'DoS'],
  ['kernel panic', 'DoS'],
  ['PANIC: double fault', 'DoS'],
  ['divide error', 'DoS'],
  ['invalid opcode', 'DoS'],
  ['Internal error', 'DoS'],
  ['Unhandled fault', 'DoS'],
  ['Alignment trap', 'DoS'],
  ['BUG: Object already free', 'DoS'],
  ['trusty: ', 'DoS'],
  ['VFS: Busy inodes after unmount', 'DoS'],
  ['VFS: Close: file count is 0', 'DoS'],
  ['unregister_netdevice: waiting for', 'DoS'],
  ['SYZFAIL', 'SYZ_FAILURE'],
  ['SYZFATAL', 'SYZ_FAILURE'],
];

export function crashType(title: string): string {
  for (const [prefix, type] of TYPES) {
    if (typeof prefix === 'string' ? title.startsWith(prefix) : prefix.test(title)) return type;
  }
  return '';
}

/**
 * Crashes that say nothing about the kernel under test (syzkaller's transient kinds): the test
 * machine stopped answering or rebooted by itself, or the executor failed (SYZFAIL, SYZFATAL).
 * The name of the kind, or undefined for a crash of the kernel.
 */
export function transientKind(title: string): 'lost-connection' | 'unexpected-reboot' | 'executor-failure' | undefined {
  if (title.startsWith('lost connection to test machine')) return 'lost-connection';
  if (title.startsWith('unexpected kernel reboot')) return 'unexpected-reboot';
  if (/^SYZ(FAIL|FATAL)\b/.test(title)) return 'executor-failure';
  return undefined;
}
