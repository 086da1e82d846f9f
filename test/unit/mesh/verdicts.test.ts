import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crashTitle } from '../../../agent/recipes/script.js';
import { pickJob } from '../../../coordinator/scheduler.js';
import { toEngineVerdict } from '../../../coordinator/job-run/evidence.js';
import { renderJobLog } from '../../../shared/job-log.js';
import { Job, JobState, RunOutcome, Verdict } from '../../../shared/proto.js';

describe('verdicts as evidence', () => {
  const v = (runs: Array<[RunOutcome, boolean?]>, buildOk = true) =>
    Verdict.fromPartial({
      probeId: 'p',
      commit: 'c',
      build: { ok: buildOk, error: buildOk ? '' : 'cc: error' },
      runs: runs.map(([outcome, matches], index) => ({ index, outcome, matches: matches ?? false, title: 't' })),
    });

  it('counts completed runs and matching crashes', () => {
    assert.deepEqual(toEngineVerdict(v([[RunOutcome.RUN_OUTCOME_OK], [RunOutcome.RUN_OUTCOME_CRASH, true], [RunOutcome.RUN_OUTCOME_CRASH, false], [RunOutcome.RUN_OUTCOME_SKIP]])), {
      probeId: 'p',
      commit: 'c',
      runs: 3,
      crashes: 1,
    });
  });
  it('turns a failed build or no completed run into a skip', () => {
    assert.equal((toEngineVerdict(v([], false)) as { skipped?: boolean }).skipped, true);
    assert.equal((toEngineVerdict(v([[RunOutcome.RUN_OUTCOME_SKIP], [RunOutcome.RUN_OUTCOME_INFRA]])) as { skipped?: boolean }).skipped, true);
  });
});

describe('script crash titles', () => {
  it('takes the last CRASH: line, else the exit status', () => {
    assert.equal(crashTitle('x\nCRASH: first\nmore\nCRASH:  second one \n', 1), 'second one');
    assert.equal(crashTitle('nothing here', 3), 'exit status 3');
  });
});

describe('fair scheduling', () => {
  it('serves the job with fewest probes in flight, then the least recently served', () => {
    assert.equal(pickJob([]), undefined);
    assert.equal(pickJob([{ id: 'old', inFlight: 3, lastServedMs: 10, createdMs: 1 }, { id: 'new', inFlight: 0, lastServedMs: 0, createdMs: 2 }]), 'new');
    assert.equal(pickJob([{ id: 'a', inFlight: 1, lastServedMs: 20, createdMs: 1 }, { id: 'b', inFlight: 1, lastServedMs: 10, createdMs: 2 }]), 'b');
  });
});

describe('the bisection log', () => {
  it('reads like syzbot with one building line per verdict', () => {
    const job = Job.fromPartial({ id: 'j', state: JobState.JOB_STATE_SUCCEEDED, badHash: 'a'.repeat(40), goodHashes: ['b'.repeat(40)], candidatesTotal: 7562, result: { culprit: { hash: 'c'.repeat(40), subject: 'kvm: fix' }, confidence: 0.997, revisionsTested: 2, wallMs: 60_000, buildMs: 1000, testMs: 2000 } });
    const verdict = Verdict.fromPartial({ probeId: 'p1', commit: 'a'.repeat(40), agentId: 'lab-07', build: { ok: true, compiler: 'gcc (GCC) 12.2.0' }, runs: [{ index: 0, outcome: RunOutcome.RUN_OUTCOME_CRASH, title: 'general protection fault in kvm_coalesced_mmio_init', matches: true }] });
    const log = renderJobLog(job, [verdict]);
    assert.match(log, /^bisecting cause commit starting from aaaaaaaaaaaa\n/);
    assert.match(log, /building at aaaaaaaaaaaa with gcc \(GCC\) 12\.2\.0 on agent lab-07\n/);
    assert.match(log, /run #0: crashed: general protection fault in kvm_coalesced_mmio_init\n/);
    assert.match(log, /7562 revisions left to test/);
    assert.match(log, /first bad commit: cccccccccccc kvm: fix\nconfidence: 0\.997/);
  });
});
