/**
 * The parser on hostile input: random and adversarial lines (a fixed seed, a bounded number
 * of cases). Every case must finish fast, and whatever comes out must be well-formed.
 * A rule that backtracks catastrophically shows up here as a slow case.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import { OOPSES, parse } from '../../../shared/report/index.js';
import { FRAME_LINES, STACK_STARTS } from '../../../shared/report/frames.js';
import { MAX_LINE_LENGTH, RIP_FRAME } from '../../../shared/report/patterns.js';
import { splitLine } from '../../../shared/report/lines.js';
import { STACK } from '../../../shared/report/types.js';

/** Per case; generous because the machine is shared. A backtracking rule takes seconds. */
const CASE_BUDGET_MS = 400;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FRAGMENTS = [
  'BUG: ', 'WARNING: ', 'INFO: ', 'general protection fault', 'Kernel panic - not syncing: ', 'kernel BUG at ',
  'BUG: KASAN: ', 'BUG: KMSAN: ', 'UBSAN: ', 'Call Trace:', 'RIP: 0010:', ' at ', 'in ', 'blocked for more than ',
  'seconds', 'rcu_sched detected stall', 'foo+0x1/0x2', '[<ffffffff81000000>] ', '? ', '(null)', 'lib/refcount.c:',
  'is trying to acquire lock', 'at: ', 'backtrace:', '-safe -> ', '-unsafe lock order detected', 'Read of size ',
  'Booting the kernel.', 'unregister_netdevice: waiting for ', 'SYZFAIL:', 'INFO: task ', ':123', '.c:', '[ T12]', '[  1.000000]',
];

function randomLine(r: () => number): string {
  const kind = Math.floor(r() * 6);
  const len = 1 + Math.floor(r() * 200);
  if (kind === 0) return Array.from({ length: len }, () => String.fromCharCode(32 + Math.floor(r() * 95))).join('');
  if (kind === 1) return Array.from({ length: len }, () => String.fromCharCode(Math.floor(r() * 256))).join('');
  const parts: string[] = [];
  for (let i = 0; i < 1 + Math.floor(r() * 12); i++) parts.push(FRAGMENTS[Math.floor(r() * FRAGMENTS.length)]!);
  const prefix = r() < 0.5 ? `[ ${Math.floor(r() * 9999)}.${Math.floor(r() * 999999)}][ T${Math.floor(r() * 9999)}] ` : '';
  return prefix + parts.join(r() < 0.5 ? '' : ' ');
}

/** Lines built to make a careless rule explore every split of a long run. */
const ADVERSARIAL: string[] = [
  'WARNING: ' + ' at '.repeat(20000),
  'WARNING: ' + 'a/'.repeat(20000) + '.c:1 ',
  'BUG: KASAN: ' + '-'.repeat(50000) + ' in',
  'INFO: task ' + 'x'.repeat(50000) + ' blocked for more than',
  'INFO: rcu_sched ' + 'self-'.repeat(10000),
  'general protection fault' + ':'.repeat(50000),
  'Kernel panic - not syncing: ' + 'stack-protector: '.repeat(5000),
  '[' + ' '.repeat(50000) + '1.',
  '** 1 printk messages dropped ** '.repeat(3000),
  ' '.repeat(50000) + 'foo+',
  '[<ffffffff>] '.repeat(5000) + 'x',
  'RIP: 0010:' + '[<ffffffff81000000>] '.repeat(3000),
  'BUG: Dentry ' + 'y'.repeat(50000) + ' still in use (1) [unmount of',
  'unregister_netdevice: waiting for ' + 'lo '.repeat(20000),
  'x login: '.repeat(5000) + '[ 1.0] BUG: soft lockup',
  'WARNING: CPU: 0 PID: 1 at ' + 'lib/refcount.c'.repeat(3000),
  'BUG: ' + '\u0000\uffff'.repeat(20000),
];

function check(text: string, label: string): void {
  const t0 = performance.now();
  const rep = parse(text);
  const ms = performance.now() - t0;
  assert.ok(ms < CASE_BUDGET_MS, `${label}: parse took ${ms.toFixed(0)} ms`);
  if (!rep) return;
  assert.ok(rep.title.length > 0 && rep.title.length <= 120, `${label}: title ${JSON.stringify(rep.title)}`);
  assert.ok(!/[\n\r]/.test(rep.title), `${label}: multi-line title`);
  assert.ok(rep.startPos >= 0 && rep.startPos <= rep.endPos && rep.endPos <= text.length, `${label}: positions`);
  for (const a of rep.altTitles) assert.ok(a.length <= 120, `${label}: alt title too long`);
}

describe('parser fuzz', () => {
  it('random consoles (200 cases)', () => {
    const r = rng(5);
    for (let c = 0; c < 200; c++) {
      const lines = Array.from({ length: 1 + Math.floor(r() * 80) }, () => randomLine(r));
      check(lines.join(r() < 0.9 ? '\n' : '\r\n'), `random case ${c}`);
    }
  });

  it('adversarial lines, alone and inside a report', () => {
    for (const [i, line] of ADVERSARIAL.entries()) {
      check(line, `adversarial ${i}`);
      check(`[   1.000000] BUG: soft lockup - CPU#0 stuck for 22s!\n[   1.000001] ${line}\n[   1.000002] Call Trace:\n${line}\n`, `adversarial ${i} in a report`);
      check(`${line}\n`.repeat(20), `adversarial ${i} x20`);
    }
  });

  it('every rule of the table is fast on long hostile lines', () => {
    const rules: RegExp[] = [...FRAME_LINES, ...STACK_STARTS, RIP_FRAME];
    for (const oops of OOPSES) {
      rules.push(...oops.suppressions);
      for (const f of oops.formats) {
        rules.push(f.title, ...(f.report ?? []));
        for (const p of [...(f.stack?.parts ?? []), ...(f.stack?.parts2 ?? [])]) if (p !== STACK) rules.push(p);
      }
    }
    const hostile = ADVERSARIAL.map((l) => l.slice(0, MAX_LINE_LENGTH));
    for (const rule of rules) {
      for (const line of hostile) {
        const t0 = performance.now();
        rule.test(line);
        const ms = performance.now() - t0;
        assert.ok(ms < 50, `${rule} took ${ms.toFixed(1)} ms on ${JSON.stringify(line.slice(0, 40))}...`);
      }
    }
  });

  it('console prefixes are stripped in bounded time', () => {
    for (const line of ADVERSARIAL) {
      const t0 = performance.now();
      splitLine(line);
      assert.ok(performance.now() - t0 < 50);
    }
  });
});
