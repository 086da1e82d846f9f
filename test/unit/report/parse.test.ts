/** Parser behaviours the vectors do not pin down: inputs, positions, interleaving, titles. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  crashType,
  LOST_CONNECTION_TITLE,
  NO_OUTPUT_TITLE,
  parse,
  sanitizeTitle,
} from '../../../shared/report/index.js';

const GPF = [
  '[   47.820011][ T4410] general protection fault, probably for non-canonical address 0xdffffc0000000003: 0000 [#1] PREEMPT SMP KASAN',
  '[   47.823650][ T4410] RIP: 0010:tcf_exts_dump_stats+0x3b/0x1a0 net/sched/cls_api.c:3420',
  '[   47.831920][ T4410] Call Trace:',
  '[   47.834220][ T4410]  fl_dump+0x2a0/0x4d0',
  '[   47.839320][ T4410]  entry_SYSCALL_64_after_hwframe+0x63/0xcd',
];

describe('parse', () => {
  it('exports the VM-runner titles', () => {
    assert.equal(LOST_CONNECTION_TITLE, 'lost connection to test machine');
    assert.equal(NO_OUTPUT_TITLE, 'no output from test machine');
  });

  it('returns undefined without a crash', () => {
    assert.equal(parse(''), undefined);
    assert.equal(parse('[    0.000000] Linux version 6.1.0\n[    1.0] random: crng init done\n'), undefined);
  });

  it('finds the crash, its position, frames and file', () => {
    const noise = 'boot line one\nboot line two\n';
    const text = noise + GPF.join('\n') + '\n';
    const rep = parse(text);
    assert.ok(rep);
    assert.equal(rep.title, 'general protection fault in tcf_exts_dump_stats');
    assert.equal(rep.type, 'DoS');
    assert.equal(rep.startPos, noise.length);
    assert.equal(text.slice(rep.startPos, rep.endPos), GPF.join('\n'));
    assert.equal(rep.guiltyFrame, 'tcf_exts_dump_stats');
    assert.equal(rep.guiltyFile, 'net/sched/cls_api.c');
    assert.deepEqual(rep.frames.slice(0, 2), ['tcf_exts_dump_stats', 'fl_dump']);
    assert.ok(rep.report.startsWith('general protection fault'), 'console prefixes are stripped');
    assert.ok(rep.altTitles.includes('bad-access in tcf_exts_dump_stats'));
  });

  it('accepts bytes, with binary garbage around', () => {
    const garbage = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x0a, 0xc3, 0x28, 0x0a]);
    const rep = parse(Buffer.concat([garbage, Buffer.from(GPF.join('\n'))]));
    assert.equal(rep?.title, 'general protection fault in tcf_exts_dump_stats');
  });

  it('keeps one task report together while another CPU interleaves', () => {
    const lines = [
      '[  369.942211][   T30] INFO: task kworker/u4:2:61 blocked for more than 143 seconds.',
      '[  369.946060][   T30] Call Trace:',
      '[  369.946100][    C1]  unrelated_irq_handler+0x1/0x2',
      '[  369.946960][   T30]  schedule+0xe7/0x350',
      '[  369.947000][ T9999]  other_task_function+0x1/0x2',
      '[  369.948200][   T30]  mydrv_flush_queue+0x7c/0x2a0',
      'executing program 3:',
      '[  369.952790][   T30]  ret_from_fork+0x45/0x80',
    ];
    const rep = parse(lines.join('\n'));
    assert.equal(rep?.title, 'INFO: task hung in mydrv_flush_queue');
    assert.ok(!rep.report.includes('unrelated_irq_handler'));
    assert.ok(!rep.report.includes('executing program'));
  });

  it('takes the first crash of several', () => {
    const rep = parse(`[ 1.0] BUG: workqueue lockup - pool cpus=0\n[ 2.0] ${GPF[0]}\n`);
    assert.equal(rep?.title, 'BUG: workqueue lockup');
  });

  it('ignores false positives: suppressed headers and a boot echo', () => {
    assert.equal(parse('[ 1.0] INFO: lockdep is turned off.\n'), undefined);
    assert.equal(parse('[ 1.0] xfs: Unknown parameter \'Booting the kernel.\'\n'), undefined);
    assert.equal(parse('Booting the kernel.\n')?.title, 'unexpected kernel reboot');
  });

  it('takes a lab\'s own ignores', () => {
    const log = `[ 1.0] WARNING: lab noise that looks like a crash\n${GPF.join('\n')}\n`;
    assert.equal(parse(log)?.title.startsWith('WARNING'), true);
    assert.equal(parse(log, { ignores: [/lab noise/] })?.title, 'general protection fault in tcf_exts_dump_stats');
  });

  it('flags a report without frames as corrupted', () => {
    const rep = parse('[ 1.0] general protection fault: 0000 [#1] SMP\n[ 1.1] Modules linked in:\n');
    assert.equal(rep?.title, 'general protection fault in corrupted');
    assert.equal(rep.corrupted, true);
  });

  it('flags suppressed output', () => {
    const rep = parse(`${GPF.join('\n')}\n[ 50.0] Out of memory: Killed process 123 (syz-executor.0) total-vm:1kB\n`);
    assert.equal(rep?.suppressed, true);
  });
});

describe('titles', () => {
  it('replaces what varies between runs', () => {
    assert.equal(sanitizeTitle('INFO: Allocated in fasync_helper+0x29/0x90 age=1 cpu=1 pid=6024'), 'INFO: Allocated in fasync_helper age=NUM cpu=NUM pid=NUM');
    assert.equal(sanitizeTitle('KASAN: slab-out-of-bounds in f at addr ffff8800b46111c0'), 'KASAN: slab-out-of-bounds in f at addr ADDR');
    assert.equal(sanitizeTitle('task syz-executor.3:1234 hung'), 'task syz-executor hung');
    assert.equal(sanitizeTitle('general protection fault in nl802154_add_llsec_key'), 'general protection fault in nl802154_add_llsec_key');
  });

  it('cuts titles at 120 characters, on one line', () => {
    const t = sanitizeTitle(`WARNING: ${'x'.repeat(300)}\nsecond line`);
    assert.ok(t.length <= 120);
    assert.ok(!t.includes('\n'));
  });

  it('classifies by title', () => {
    assert.equal(crashType('KASAN: slab-out-of-bounds Write in f'), 'KASAN-WRITE');
    assert.equal(crashType('KASAN: use-after-free Read in f'), 'KASAN-USE-AFTER-FREE-READ');
    assert.equal(crashType('INFO: task hung in f'), 'HANG');
    assert.equal(crashType('WARNING: suspicious RCU usage in f'), 'LOCKDEP');
    assert.equal(crashType('WARNING in f'), 'WARNING');
    assert.equal(crashType('something else'), '');
  });
});
