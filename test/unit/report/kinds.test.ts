/**
 * Issue 16: oops kinds, corrupted reports and false crashes, each on a minimal hand-made
 * console that fails without its rule. Frame skip/stop lists are in frame-rules.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { demangle, missesByKind, oopsKind, parse, sanitizeTitle, type Conformance, type FileResult } from '../../../shared/report/index.js';
import { conformanceText } from '../../../cli/actions/report.js';

const at = (i: number): string => `[  200.${String(100000 + i).slice(1)}][ T4242] `;
const consoleOf = (lines: readonly string[]): string => lines.map((l, i) => at(i) + l).join('\n') + '\n';
const frame = (name: string): string => ` ${name}+0x1c/0x80`;

describe('corrupted reports', () => {
  const warning = (before: string[], after: string[]): string =>
    consoleOf(['WARNING: CPU: 0 PID: 4242 at net/core/dev.c:10 culprit_fn+0x1c/0x80', 'Modules linked in:', ...before, 'RIP: 0010:culprit_fn+0x1c/0x80', 'Call Trace:', frame('caller_fn'), frame('do_syscall_64'), ...after]);

  it('a fault-injection stack before the guilty frame: "in corrupted", flagged', () => {
    const rep = parse(warning([frame('should_fail'), frame('should_failslab')], []));
    assert.equal(rep?.title, 'WARNING in corrupted');
    assert.equal(rep.corrupted, true);
    assert.match(rep.corruptedReason, /fault-injection/);
  });

  it('one after the guilty frame does not make it corrupted (a heuristic only)', () => {
    const rep = parse(warning([], [frame('should_fail'), frame('other_fn')]));
    assert.equal(rep?.title, 'WARNING in culprit_fn');
    assert.equal(rep.corrupted, false);
  });

  it('a stack with a single frame is not cut off', () => {
    const rep = parse(consoleOf(['BUG: scheduling while atomic: syz/4242/0x00000201', 'Call Trace:', frame('culprit_fn')]));
    assert.equal(rep?.title, 'BUG: scheduling while atomic in culprit_fn');
    assert.equal(rep.corrupted, false);
  });

  it('a second report of the same family before the stack: "in corrupted", flagged', () => {
    const rep = parse(
      consoleOf([
        'BUG: unable to handle kernel paging request at ffffffff0001eea6',
        'BUG: KASAN: use-after-free in other_cpu_fn+0x7c/0xa0',
        'Read of size 8 at addr ffff8801d92ca840 by task syz/13991',
        'Call Trace:',
        frame('other_cpu_fn'),
        frame('do_syscall_64'),
      ]),
    );
    assert.equal(rep?.title, 'BUG: unable to handle kernel paging request in corrupted');
    assert.equal(rep.corrupted, true);
  });

  it('the report that follows a crash by design (its panic, a Rust BUG()) is not a second report', () => {
    const rep = parse(
      consoleOf([
        'BUG: scheduling while atomic: syz/4242/0x00000201',
        'Kernel panic - not syncing: scheduling while atomic',
        'Call Trace:',
        frame('culprit_fn'),
        frame('do_syscall_64'),
      ]),
    );
    assert.equal(rep?.title, 'BUG: scheduling while atomic in culprit_fn');
    assert.equal(rep.corrupted, false);
  });

  it('KASAN without the access line: named from its header, flagged', () => {
    const rep = parse(consoleOf(['BUG: KASAN: wild-memory-access in sg_read.isra.3+0x1296/0x1440', 'general protection fault: 0000 [#1] SMP KASAN']));
    assert.equal(rep?.title, 'KASAN: wild-memory-access in sg_read');
    assert.equal(rep.type, 'KASAN-READ');
    assert.equal(rep.corrupted, true);
  });
});

describe('kinds', () => {
  it('WARNING: kmalloc bug from the allocator size check of any kernel version', () => {
    const rep = parse(
      consoleOf([
        'WARNING: CPU: 1 PID: 4242 at mm/slub.c:4150 __kmalloc_large_node+0x12c/0x140',
        'RIP: 0010:__kmalloc_large_node+0x12c/0x140',
        'Call Trace:',
        frame('__kmalloc_large_node_noprof'),
        frame('culprit_fn'),
      ]),
    );
    assert.equal(rep?.title, 'WARNING: kmalloc bug in culprit_fn');
  });

  it('WARNINGs printed with the WARN_ON condition text take the title from the frame', () => {
    const rep = parse(
      consoleOf(['WARNING: [!timer_pending(timer) && x[0]] kernel/time/timer.c:1234 at add_timer+0x2a/0x80, CPU#1: syz/4242', 'RIP: 0010:add_timer+0x2a/0x80', 'Call Trace:', frame('culprit_fn')]),
    );
    assert.equal(rep?.title, 'WARNING in culprit_fn');
    const kmalloc = parse(consoleOf(['WARNING: mm/slub.c:4150 at __kmalloc_large_node+0x12c/0x140, CPU#1: syz/4242', 'RIP: 0010:__kmalloc_large_node+0x12c/0x140', 'Call Trace:', frame('culprit_fn')]));
    assert.equal(kmalloc?.title, 'WARNING: kmalloc bug in culprit_fn');
  });

  it('kernel stack overflow on x86 (without the guard page line) and arm64', () => {
    const x86 = parse(
      consoleOf(['kernel stack overflow (double-fault): 0000 [#1] PREEMPT SMP KASAN', 'RIP: 0010:recursive_fn+0x1c/0x80', 'Call Trace:', frame('recursive_fn'), frame('culprit_fn'), frame('do_syscall_64')]),
    );
    assert.equal(x86?.title, 'kernel stack overflow in culprit_fn');
    assert.ok(x86.altTitles.includes('stack-overflow in culprit_fn'));
    const arm = parse(consoleOf(['Insufficient stack space to handle exception!', 'Task stack:     [0xffff800084b20000..0xffff800084b30000]', 'pc : culprit_fn+0x8/0x1c']));
    assert.equal(arm?.title, 'kernel stack overflow in culprit_fn');
  });

  it('int3', () => {
    const rep = parse(consoleOf(['int3: 0000 [#1] PREEMPT SMP KASAN', 'RIP: 0010:culprit_fn+0x1/0x80', 'Call Trace:', frame('caller_fn')]));
    assert.equal(rep?.title, 'int3 in culprit_fn');
  });

  it('.part.N / .isra.N / .constprop.N clones name the function', () => {
    const rep = parse(
      [
        'Unable to handle kernel NULL pointer dereference at virtual address 00000000',
        'Backtrace:',
        '[<c0123456>] (culprit_fn.constprop.0) from [<c0123457>] (caller_fn.isra.2+0x1c/0x80)',
      ].join('\n') + '\n',
    );
    assert.equal(rep?.title, 'BUG: unable to handle kernel NULL pointer dereference in culprit_fn');
    assert.equal(sanitizeTitle('kernel BUG in foo.part.3'), 'kernel BUG in foo');
    assert.equal(sanitizeTitle('kernel BUG in foo.constprop.0.cold'), 'kernel BUG in foo');
  });

  it('Rust panics, both message formats, with demangled frames', () => {
    const stack = ['Call Trace:', frame('_RNvCscSpY9Juk0HT_7___rustc17rust_begin_unwind'), frame('_RNvNtCs9jEwPDbx20M_4core9panicking9panic_fmt'), frame('_RNvMs3_NtCshgDM7dBCdno_11rust_binder7processNtB5_7Process10update_ref')];
    const now = parse(consoleOf(['rust_kernel: panicked at drivers/android/binder/node.rs:877:13:', 'attempt to add with overflow', ...stack]));
    assert.equal(now?.title, 'attempt to add with overflow in <rust_binder::process::Process>::update_ref');
    const old = parse(consoleOf(["rust_kernel: panicked at 'attempt to add with overflow', rust/kernel/foo.rs:12:5", ...stack]));
    assert.equal(old?.title, 'attempt to add with overflow in <rust_binder::process::Process>::update_ref');
  });

  it('C++- and Rust-mangled names are demangled', () => {
    const rep = parse(consoleOf(['general protection fault: 0000 [#1] SMP', 'RIP: 0010:_ZN3drv6Device5probeEv+0x1c/0x80']));
    assert.equal(rep?.title, 'general protection fault in drv::Device::probe');
    assert.equal(demangle('_ZN4core9panicking9panic_fmt17h0123456789abcdefE'), 'core::panicking::panic_fmt');
    assert.equal(demangle('_RNvXs1b_NtCs9jEwPDbx20M_4core3fmtRNtNtNtB8_5panic10panic_info9PanicInfoNtB6_7Display3fmt'), '<&core::panic::panic_info::PanicInfo as core::fmt::Display>::fmt');
    assert.equal(demangle('_Rgarbage'), '_Rgarbage');
    // Backrefs to backrefs: bounded work, the raw name back.
    const bomb = '_RNvYTB2_B2_B2_B2_E' + 'TB4_B4_E'.repeat(100) + '1x';
    const t0 = Date.now();
    assert.equal(typeof demangle(bomb), 'string');
    assert.ok(Date.now() - t0 < 200);
    assert.equal(demangle('tcp_sendmsg'), 'tcp_sendmsg');
  });

  it('go runtime error', () => {
    const rep = parse(
      ['panic: runtime error: index out of range [5] with length 3', '', 'goroutine 1 [running]:', 'runtime.goPanicIndex(0x5, 0x3)', '\t/usr/lib/go/src/runtime/panic.go:114 +0x7a', 'main.culpritFn(...)', '\t/src/main.go:12', 'main.main()', '\t/src/main.go:7 +0x1d'].join('\n') + '\n',
    );
    assert.equal(rep?.title, 'go runtime error in main.culpritFn');
    assert.ok(rep.altTitles.includes('go runtime error: index out of range [NUM] with length NUM'));
  });

  it('panic_on_warn: the WARNING names the crash; the panic alone still is one', () => {
    const panicLine = 'Kernel panic - not syncing: kernel: panic_on_warn set ...';
    const withWarning = parse(consoleOf([panicLine.replace('Kernel panic', 'xx'), 'WARNING: CPU: 0 PID: 1 at a/b.c:1 culprit_fn+0x1/0x2', panicLine, 'Call Trace:', frame('culprit_fn')]));
    assert.equal(withWarning?.title, 'WARNING in culprit_fn');
    const alone = parse(consoleOf(['Kernel panic - not syncing: panic_on_warn set ...', 'Call Trace:', frame('culprit_fn')]));
    assert.equal(alone?.title, 'kernel panic: panic_on_warn set');
    assert.equal(alone.corrupted, true);
    assert.equal(parse(consoleOf([panicLine]))?.title, 'kernel panic: panic_on_warn set');
  });

  it('INFO: task hung with an unreadable task name (a newline in comm)', () => {
    const rep = parse(consoleOf(['INFO: task bad', 'name:4242 blocked for more than 143 seconds.', 'Call Trace:', frame('__schedule'), frame('culprit_fn')]));
    assert.equal(rep?.title, 'INFO: task hung in culprit_fn');
    const empty = parse(consoleOf(['INFO: task :4242 blocked for more than 143 seconds.', 'Call Trace:', frame('culprit_fn')]));
    assert.equal(empty?.title, 'INFO: task hung in culprit_fn');
  });

  it('powerpc "(unreliable)" frames are not frames', () => {
    const rep = parse(
      consoleOf(['INFO: task syz:4242 blocked for more than 143 seconds.', 'Call Trace:', '[c000000001bb3530] [c000000001bb35a0] __rela_dyn_start+0x308828/0x345288 (unreliable)', '[c000000001bb3710] [c0000000000286fc] culprit_fn+0x43c/0x6d0']),
    );
    assert.equal(rep?.title, 'INFO: task hung in culprit_fn');
  });

  it('the arm64 exception skip does not eat functions with "el1_" inside', () => {
    const rep = parse(
      consoleOf(['BUG: KASAN: invalid-access in __list_add_valid+0x10/0x90', 'Read at addr f6ff00001d527690 by task syz/5007', 'Call trace:', frame('el1_abort'), frame('__list_add_valid'), frame('ip6_mc_del1_src'), frame('caller_fn')]),
    );
    assert.equal(rep?.title, 'KASAN: invalid-access Read in ip6_mc_del1_src');
  });
});

describe('false crashes', () => {
  it('perf NMI timing lines are not crashes, even cut', () => {
    assert.equal(parse(consoleOf(['INFO: NMI handler (perf_event_nmi_handler) took too long to run: 1.234 msecs'])), undefined);
    assert.equal(parse(consoleOf(['INFO: NMI handler (nmi_cpu_backtrace_handler) took too long'])), undefined);
  });

  it('vendor and firmware "INFO:" messages are not crashes', () => {
    assert.equal(parse(consoleOf(['INFO:    BL31: v2.6(release):v2.6'])), undefined);
    assert.equal(parse(consoleOf(['mlx5_core 0000:00:05.0: INFO: firmware version 16.35.2000'])), undefined);
    assert.equal(parse(consoleOf(['INFO: task manager started', 'eth0: link up'])), undefined);
    assert.equal(parse(consoleOf(['INFO: task syz:1 blocked for more than 143 seconds.', 'Call Trace:', frame('culprit_fn')]))?.title, 'INFO: task hung in culprit_fn');
  });
});

describe('conformance misses by oops kind', () => {
  const file = (name: string, expected: string, got: string): FileResult => ({
    file: name,
    expected: { title: expected, type: '', corrupted: false },
    got: { title: got, type: '', corrupted: false },
    altTitles: { expected: [], got: [] },
    ok: { title: expected === got, type: true, corrupted: true },
  });
  const c: Conformance = {
    files: [file('1', 'INFO: task hung in a', 'INFO: task hung in b'), file('2', 'INFO: task hung in c', 'INFO: task hung in d'), file('3', 'KASAN: use-after-free Read in x', 'KASAN: use-after-free Read in y'), file('4', '', 'WARNING in z'), file('5', 'WARNING in q', 'WARNING in q')],
    total: 5,
    title: 1,
    type: 5,
    corrupted: 5,
    falseCrashes: 1,
  };

  it('names kinds without the frame', () => {
    assert.equal(oopsKind('KASAN: slab-out-of-bounds Write in foo'), 'KASAN: slab-out-of-bounds Write');
    assert.equal(oopsKind('kernel panic: Attempted to kill init!'), 'kernel panic: Attempted to kill init!');
    assert.equal(oopsKind('unexpected kernel reboot'), 'unexpected kernel reboot');
    assert.equal(oopsKind(''), 'no crash');
  });

  it('groups the misses, largest group first, and prints them', () => {
    const groups = missesByKind(c);
    assert.deepEqual(groups.map((g) => [g.kind, g.files.map((f) => f.file)]), [['INFO: task hung', ['1', '2']], ['KASAN: use-after-free Read', ['3']], ['no crash (got WARNING)', ['4']]]);
    const text = conformanceText(c);
    assert.match(text, /misses by oops kind:\n {2}INFO: task hung \(2\)\n {4}1 \[title\]: got "INFO: task hung in b"/);
  });
});
