/**
 * Every entry of shared/report/frame-rules.ts, on a minimal hand-made console of its kind:
 * the frame the entry names is put where it would be picked, and the title must name the
 * crash's own frame (culprit_fn) instead. Each entry's example must also be left alone by
 * every other list, so the test fails without the entry.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FRAME_RULES, parse, type FrameKind, type FrameRule } from '../../../shared/report/index.js';
import { canonicalFrame, SKIP_FRAMES } from '../../../shared/report/frames.js';

const at = (i: number): string => `[  100.${String(100000 + i).slice(1)}][ T4242] `;
const consoleOf = (lines: readonly string[]): string => lines.map((l, i) => at(i) + l).join('\n') + '\n';
const frame = (name: string): string => ` ${name}+0x1c/0x80`;

/** A console of each kind with `fn` placed to be picked; the expected title names culprit_fn. */
const SKIP_CONSOLES: Record<FrameKind, { console: (fn: string) => string; title: string }> = {
  generic: {
    console: (fn) =>
      consoleOf([
        'WARNING: CPU: 0 PID: 4242 at drivers/misc/culprit.c:10 culprit_fn+0x1c/0x80',
        'Modules linked in:',
        'Call Trace:',
        frame(fn),
        frame('culprit_fn'),
        frame('do_syscall_64'),
      ]),
    title: 'WARNING in culprit_fn',
  },
  stall: {
    // The stall extractor names the frame just above the dispatcher: put the helper there.
    console: (fn) =>
      consoleOf(['BUG: soft lockup - CPU#0 stuck for 22s! [syz:4242]', 'Call Trace:', frame('inner_loop'), frame('culprit_fn'), frame(fn), frame('do_syscall_64')]),
    title: 'BUG: soft lockup in culprit_fn',
  },
  rcuStall: {
    console: (fn) =>
      consoleOf([
        'INFO: rcu_sched self-detected stall on CPU',
        'Call Trace:',
        ' <IRQ>',
        frame('apic_timer_interrupt'),
        ' </IRQ>',
        'RIP: 0010:inner_loop+0x1c/0x80',
        frame('culprit_fn'),
        frame(fn),
        frame('do_syscall_64'),
      ]),
    title: 'INFO: rcu detected stall in culprit_fn',
  },
  hang: {
    console: (fn) =>
      consoleOf(['INFO: task syz:4242 blocked for more than 143 seconds.', 'Call Trace:', frame(fn), frame('culprit_fn'), frame('do_syscall_64')]),
    title: 'INFO: task hung in culprit_fn',
  },
  sanitizer: {
    console: (fn) =>
      consoleOf([
        `BUG: KASAN: slab-out-of-bounds in ${fn}+0x1c/0x80`,
        'Read of size 4 at addr ffff888012345678 by task syz/4242',
        'Call Trace:',
        frame('kasan_report'),
        frame(fn),
        frame('culprit_fn'),
      ]),
    title: 'KASAN: slab-out-of-bounds Read in culprit_fn',
  },
  lock: {
    console: (fn) => consoleOf(['BUG: spinlock lockup suspected on CPU#0, syz/4242', 'Call Trace:', frame(fn), frame('culprit_fn')]),
    title: 'BUG: spinlock lockup suspected in culprit_fn',
  },
  badPage: {
    console: (fn) =>
      consoleOf(['BUG: Bad page state in process syz  pfn:7071f', 'Call Trace:', frame('bad_page'), frame(fn), frame('culprit_fn')]),
    title: 'BUG: Bad page state in culprit_fn',
  },
};

/** Stop frames: an anchor below them must not be taken. */
const STOP_CONSOLES: Partial<Record<FrameKind, { console: (fn: string) => string; title: (ex: string) => string }>> = {
  generic: {
    // hangFrame takes a frame holding rtnl_lock wherever it is: below an entry point, it is the caller's.
    console: (fn) =>
      consoleOf(['INFO: task syz:4242 blocked for more than 143 seconds.', 'Call Trace:', frame('__schedule'), frame('culprit_fn'), frame(fn), frame('rtnl_lock_caller')]),
    title: () => 'INFO: task hung in culprit_fn',
  },
  stall: {
    console: (fn) =>
      consoleOf(['BUG: soft lockup - CPU#0 stuck for 22s! [syz:4242]', 'Call Trace:', frame('inner_loop'), frame('culprit_fn'), frame(fn), frame('outer_fn')]),
    // The cross-CPU call dispatcher names the stall itself.
    title: (ex) => `BUG: soft lockup in ${ex.startsWith('smp_call_function') ? 'smp_call_function' : 'culprit_fn'}`,
  },
};

const sets = Object.entries(FRAME_RULES) as [FrameKind, { skip: readonly FrameRule[]; stop?: readonly FrameRule[] }][];
const cleaned = (raw: string): string => canonicalFrame(raw).at(-1)!;

describe('frame rules (frame-rules.ts)', () => {
  it('every entry is explained and has an example it matches', () => {
    for (const [kind, set] of sets) {
      for (const r of [...set.skip, ...(set.stop ?? [])]) {
        assert.ok(r.why.length > 10 && !r.why.includes('\n'), `${kind} ${r.re}: one-line explanation`);
        const name = set.skip.includes(r) ? cleaned(r.example) : r.example;
        assert.match(name, new RegExp(r.re), `${kind}: ${r.example}`);
      }
    }
  });

  it('no other list covers an entry\'s example (the entry is needed)', () => {
    for (const [kind, set] of sets) {
      for (const r of set.skip) {
        const others = SKIP_FRAMES.filter((p) => p !== r.re);
        const covered = others.filter((p) => new RegExp(p).test(cleaned(r.example)));
        assert.deepEqual(covered, [], `${kind} ${r.example} is already skipped by ${covered.join(', ')}`);
      }
    }
  });

  for (const [kind, set] of sets) {
    const skipCase = SKIP_CONSOLES[kind];
    for (const r of set.skip) {
      it(`${kind}: skips ${r.example} (${r.why})`, () => {
        assert.equal(parse(skipCase.console(r.example))?.title, skipCase.title);
      });
    }
    const stopCase = STOP_CONSOLES[kind];
    for (const r of set.stop ?? []) {
      it(`${kind}: stops at ${r.example} (${r.why})`, () => {
        assert.ok(stopCase, `no stop console for ${kind}`);
        assert.equal(parse(stopCase.console(r.example))?.title, stopCase.title(r.example));
      });
    }
  }
});
