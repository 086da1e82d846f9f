import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mailReport } from '../../../cli/mail.js';
import { LiveView } from '../../../cli/watch-view.js';
import { bisectionFlags } from '../../../coordinator/job-run/endings.js';
import { estimate, renderJobLog, waves } from '../../../shared/job-log.js';
import { Job, JobEvent, JobState, RunOutcome, Verdict } from '../../../shared/proto.js';

const H = (c: string) => c.repeat(40);

describe('the live view', () => {
  it('shows candidates, the posterior bar, busy slots and the top suspects', () => {
    const job = Job.fromPartial({ id: 'j1', candidatesTotal: 7562, candidatesLeft: 7562, createdMs: 1_000, slotsAtStart: 2 });
    const view = new LiveView(job, 80);
    view.update(JobEvent.fromPartial({ kind: 'probe-started', probeId: 'p1', agentId: 'lab-07', commit: H('a'), timeMs: 2_000 }));
    view.update(JobEvent.fromPartial({ kind: 'probe-progress', probeId: 'p1', agentId: 'lab-07', commit: H('a'), phase: 'testing', run: 2, runsTotal: 4, message: 'lab-07: aaaa testing run 2/4', timeMs: 3_000 }));
    view.update(JobEvent.fromPartial({ kind: 'probe-started', probeId: 'p2', agentId: 'lab-08', commit: H('b'), timeMs: 2_000 }));
    view.update(JobEvent.fromPartial({ kind: 'verdict', probeId: 'p2', commit: H('b'), candidatesLeft: 1200, topProbability: 0.5, suspects: [{ hash: H('c'), probability: 0.5 }, { hash: H('d'), probability: 0.25 }], message: 'building at bbbb\nrun #0: OK', timeMs: 12_000 }));
    const screen = view.render(61_000).join('\n');
    assert.match(screen, /job j1 {2}1200 of 7562 candidates left {2}elapsed 1m00s {2}~\S+ left/);
    assert.match(screen, /culprit mass \[#{20}\.{20}\] 0\.500/);
    assert.match(screen, /lab-07 {7}aaaaaaaaaaaa {2}testing run 2 of 4/);
    assert.doesNotMatch(screen, /lab-08/);
    assert.match(screen, /top suspects:\n {2}cccccccccccc {2}p=0\.500\n {2}dddddddddddd {2}p=0\.250/);
  });

  it('redraws in place: each frame moves up over the previous one', () => {
    const view = new LiveView(Job.fromPartial({ id: 'j', candidatesTotal: 10, createdMs: 0 }), 80);
    const first = view.frame(0);
    assert.ok(!first.includes('\x1b[') || first.startsWith('\x1b[J'));
    const lines = first.trimEnd().split('\n').length;
    assert.ok(view.frame(0).startsWith(`\x1b[${lines}A\r\x1b[J`));
  });
});

describe('the log and the report', () => {
  it('estimates rounds and steps', () => {
    assert.deepEqual(estimate(7562, 16), { rounds: 4, steps: 13 });
    assert.deepEqual(estimate(7562, 1), { rounds: 13, steps: 13 });
  });

  it('groups probes that ran together into waves', () => {
    const v = (id: string, s: number, e: number) => Verdict.fromPartial({ probeId: `j-b-${id}`, commit: H(id), startedMs: s, finishedMs: e, agentId: 'a', build: { ok: true }, runs: [{ outcome: RunOutcome.RUN_OUTCOME_OK }] });
    const all = [v('1', 0, 10), v('2', 1, 12), v('3', 2, 9), v('4', 11, 20), v('5', 21, 30)];
    assert.deepEqual(waves(all).map((w) => w.length), [3, 1, 1]);
    const log = renderJobLog(Job.fromPartial({ badHash: H('1'), goodHashes: [H('0')], candidatesTotal: 100, slotsAtStart: 3 }), all);
    assert.match(log, /100 revisions left to test; with 3 agent slots roughly 4 rounds \(7 steps one at a time\)/);
    assert.match(log, /testing 3 commits at once: 111111111111 222222222222 333333333333/);
  });

  it('flags what the bisection itself makes doubtful', () => {
    assert.deepEqual(bisectionFlags({ confidence: 0.999, target: 0.99, originalTitle: 'a', culpritTitle: 'a' }), []);
    assert.match(bisectionFlags({ confidence: 0.9, target: 0.99 })[0]!, /below the target/);
    assert.match(bisectionFlags({ confidence: 0.999, target: 0.99, originalTitle: 'KASAN: x', culpritTitle: 'WARNING in y' })[0]!, /differs from the original/);
  });

  it('writes a mail ready to send', () => {
    const job = Job.fromPartial({
      id: 'j9',
      state: JobState.JOB_STATE_SUCCEEDED,
      badHash: H('a'),
      goodHashes: [H('b')],
      result: {
        culprit: { hash: H('c'), subject: 'kvm: Allocate memslots', author: 'Carol', authorEmail: 'carol@example.org', dateMs: 0 },
        confidence: 0.997,
        recipients: ['carol@example.org', 'kvm@vger.kernel.org'],
        crashTitle: 'general protection fault in kvm_coalesced_mmio_init',
        crashReport: 'general protection fault: 0000 [#1]\nRIP: kvm_coalesced_mmio_init+0x1/0x2',
        crashLogKey: 'j9/p/run-0.log',
        verification: [{ commit: H('c'), role: 'culprit', runs: 8, crashes: 8 }],
      },
    });
    const mail = mailReport(job);
    assert.match(mail, /^Subject: Re: general protection fault in kvm_coalesced_mmio_init\nTo: carol@example\.org, kvm@vger\.kernel\.org\n/);
    assert.match(mail, /commit cccccccccccccccccccccccccccccccccccccccc\nAuthor: Carol <carol@example\.org>/);
    assert.match(mail, /RIP: kvm_coalesced_mmio_init/);
    assert.match(mail, /verified: culprit cccccccccccc: 8\/8 runs crashed/);
    assert.match(mail, /bisection log: multisect logs j9/);
    assert.match(mail, /Reported-by: multisect <.+>\nFixes: cccccccccccc \("kvm: Allocate memslots"\)/);
  });
});
