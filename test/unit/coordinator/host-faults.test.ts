/**
 * Host faults are never taken for commits (coordinator/host-faults.ts): a table of verdict
 * histories, each with the verdicts that must count as evidence, the agents found unhealthy, and
 * who may get each commit again. Pure: no server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyVerdict, HostFaults } from '../../../coordinator/host-faults.js';
import { BuildFacts, RunOutcome, RunResult, Verdict } from '../../../shared/proto.js';

type RunKind = 'ok' | 'crash' | 'skip' | 'noboot' | 'infra' | 'lost';

function verdict(id: string, commit: string, agentId: string, runs: RunKind[], build = true): Verdict {
  return Verdict.fromPartial({
    probeId: id,
    jobId: 'j',
    commit,
    agentId,
    build: BuildFacts.fromPartial({ ok: build, error: build ? '' : 'error: x.c:1' }),
    runs: runs.map((k, index) =>
      RunResult.fromPartial({
        index,
        outcome: { ok: RunOutcome.RUN_OUTCOME_OK, crash: RunOutcome.RUN_OUTCOME_CRASH, skip: RunOutcome.RUN_OUTCOME_SKIP, noboot: RunOutcome.RUN_OUTCOME_SKIP, infra: RunOutcome.RUN_OUTCOME_INFRA, lost: RunOutcome.RUN_OUTCOME_CRASH }[k],
        title: k === 'noboot' ? 'could not boot: no-output' : k === 'infra' ? 'qemu failed to start' : k === 'crash' ? 'BUG: x' : k === 'lost' ? 'lost connection to test machine' : '',
        matches: k === 'crash',
        bootFailed: k === 'noboot',
      }),
    ),
  });
}

describe('classifyVerdict', () => {
  const rows: [string, Verdict, string][] = [
    ['ok runs', verdict('1', 'c', 'a', ['ok', 'ok']), 'evidence'],
    ['a crash', verdict('1', 'c', 'a', ['crash']), 'evidence'],
    ['a failed build is the commit\'s', verdict('1', 'c', 'a', [], false), 'evidence'],
    ['no run booted', verdict('1', 'c', 'a', ['noboot', 'noboot']), 'boot-failure'],
    ['one run of two booted', verdict('1', 'c', 'a', ['noboot', 'ok']), 'evidence'],
    ['more than half infra', verdict('1', 'c', 'a', ['infra', 'infra', 'ok']), 'infra'],
    ['half infra is not more than half', verdict('1', 'c', 'a', ['infra', 'ok']), 'evidence'],
    // Fewer than half the runs completed: no evidence (syzkaller's rule), whatever passed.
    ['an ordinary skip (test said 125)', verdict('1', 'c', 'a', ['skip']), 'incomplete'],
    ['4 ok runs and 6 skipped', verdict('1', 'c', 'a', ['ok', 'ok', 'ok', 'ok', 'skip', 'skip', 'skip', 'skip', 'skip', 'skip']), 'incomplete'],
    ['half the runs completed is enough', verdict('1', 'c', 'a', ['ok', 'ok', 'skip', 'skip']), 'evidence'],
    ['lost connections that do not count are not completed runs', verdict('1', 'c', 'a', ['lost', 'lost', 'ok']), 'incomplete'],
    ['skips and infra together', verdict('1', 'c', 'a', ['ok', 'infra', 'skip']), 'incomplete'],
    ['infra and no boot', verdict('1', 'c', 'a', ['infra', 'noboot', 'noboot']), 'boot-failure'],
  ];
  for (const [name, v, kind] of rows) it(name, () => assert.equal(classifyVerdict(v).kind, kind));
});

interface Row {
  name: string;
  /** Healthy agents able to run the job when each verdict arrives (one number, or one per verdict). */
  able: number | number[];
  history: Verdict[];
  /** Probe ids counted as evidence, in order. */
  counted: string[];
  unhealthy: string[];
  /** [commit, agent, allowed] checks after the history. */
  allows?: [string, string, boolean][];
  infraAgents?: string[];
}

const rows: Row[] = [
  { name: 'verdicts that booted count at once', able: 2, history: [verdict('1', 'c1', 'a', ['ok']), verdict('2', 'c2', 'b', ['crash'])], counted: ['1', '2'], unhealthy: [] },
  {
    name: 'a boot failure is held until another agent tries the commit; it boots there: the first agent is at fault',
    able: 2,
    history: [verdict('1', 'c1', 'a', ['noboot']), verdict('2', 'c1', 'b', ['ok'])],
    counted: ['2'],
    unhealthy: ['a'],
    allows: [['c1', 'a', false], ['c1', 'b', true]],
  },
  {
    name: 'a boot failure on a commit that booted elsewhere already: at fault at once',
    able: 2,
    history: [verdict('1', 'c1', 'b', ['crash']), verdict('2', 'c1', 'a', ['noboot'])],
    counted: ['1'],
    unhealthy: ['a'],
  },
  {
    name: 'the commit fails to boot on two agents: it is the commit\'s, one skip',
    able: 3,
    history: [verdict('1', 'c1', 'a', ['noboot']), verdict('2', 'c1', 'b', ['noboot'])],
    counted: ['2'],
    unhealthy: [],
  },
  { name: 'a farm of one agent: a boot failure counts at once', able: 1, history: [verdict('1', 'c1', 'a', ['noboot'])], counted: ['1'], unhealthy: [] },
  {
    name: 'a second failure on the same agent does not corroborate',
    able: 2,
    history: [verdict('1', 'c1', 'a', ['noboot']), verdict('2', 'c1', 'a', ['noboot'])],
    counted: [],
    unhealthy: [],
  },
  {
    name: 'infrastructure runs never count and bar the agent from that commit',
    able: 2,
    history: [verdict('1', 'c1', 'a', ['infra', 'infra']), verdict('2', 'c1', 'b', ['ok'])],
    counted: ['2'],
    unhealthy: [],
    allows: [['c1', 'a', false], ['c2', 'a', true]],
    infraAgents: ['a'],
  },
  {
    name: 'an agent that passes a run again is no longer counted among infra failures',
    able: 2,
    history: [verdict('1', 'c1', 'a', ['infra']), verdict('2', 'c2', 'a', ['ok'])],
    counted: ['2'],
    unhealthy: [],
    infraAgents: [],
  },
  {
    name: 'too few runs completed: tested once more on another agent, then one skip',
    able: 2,
    history: [verdict('1', 'c1', 'a', ['ok', 'skip', 'skip']), verdict('2', 'c1', 'b', ['skip', 'skip', 'ok'])],
    counted: ['2'],
    unhealthy: [],
    allows: [['c1', 'a', false], ['c1', 'b', true]],
  },
  {
    name: 'too few runs completed on one agent, all on the other: the other counts, nobody is at fault',
    able: 2,
    history: [verdict('1', 'c1', 'a', ['ok', 'skip', 'skip']), verdict('2', 'c1', 'b', ['ok', 'ok', 'crash'])],
    counted: ['2'],
    unhealthy: [],
  },
  { name: 'too few runs completed on a farm of one agent: a skip at once', able: 1, history: [verdict('1', 'c1', 'a', ['skip'])], counted: ['1'], unhealthy: [] },
  {
    name: 'a failed build counts on one agent (the commit\'s)',
    able: 2,
    history: [verdict('1', 'c1', 'a', [], false)],
    counted: ['1'],
    unhealthy: [],
  },
  {
    name: 'different commits failing on one broken agent stay held while others boot',
    able: 2,
    history: [verdict('1', 'c1', 'a', ['noboot']), verdict('2', 'c2', 'a', ['noboot']), verdict('3', 'c3', 'b', ['ok']), verdict('4', 'c2', 'b', ['ok'])],
    counted: ['3', '4'],
    unhealthy: ['a'],
    allows: [['c1', 'a', false], ['c1', 'b', true]],
  },
  {
    // CI saw this: b's verdict made a unhealthy, so one healthy agent was left, and a's later
    // boot failure of c2 was counted as c2's ("failed on every healthy agent"). The job ended
    // inconclusive on a skip that was the host's.
    name: 'a boot failure on an agent already at fault is held, though it failed on "every healthy agent"',
    able: [2, 2, 1, 1],
    history: [verdict('1', 'c1', 'a', ['noboot']), verdict('2', 'c1', 'b', ['crash']), verdict('3', 'c2', 'a', ['noboot']), verdict('4', 'c2', 'b', ['ok'])],
    counted: ['2', '4'],
    unhealthy: ['a', 'a'],
    allows: [['c2', 'a', false], ['c2', 'b', true]],
  },
  {
    name: 'held on an agent at fault, then failing on a healthy one too: the commit\'s, one skip',
    able: [2, 2, 1, 1],
    history: [verdict('1', 'c1', 'a', ['noboot']), verdict('2', 'c1', 'b', ['ok']), verdict('3', 'c2', 'a', ['noboot']), verdict('4', 'c2', 'b', ['noboot'])],
    counted: ['2', '4'],
    unhealthy: ['a'],
  },
  {
    name: 'an agent at fault that boots again is trusted again',
    able: [2, 2, 2, 1],
    history: [verdict('1', 'c1', 'a', ['noboot']), verdict('2', 'c1', 'b', ['ok']), verdict('3', 'c3', 'a', ['ok']), verdict('4', 'c2', 'a', ['noboot'])],
    counted: ['2', '3', '4'],
    unhealthy: ['a'],
  },
];

describe('HostFaults over verdict histories', () => {
  for (const row of rows) {
    it(row.name, () => {
      const f = new HostFaults();
      const counted: string[] = [];
      const unhealthy: string[] = [];
      for (const v of row.history) {
        const j = f.judge(v, typeof row.able === 'number' ? row.able : row.able[row.history.indexOf(v)]!);
        counted.push(...j.apply.map((x) => x.probeId));
        unhealthy.push(...j.unhealthy.map((u) => u.agentId));
        if (j.apply.some((x) => x.agentId === v.agentId && classifyVerdict(x).kind === 'evidence')) f.recordHealthy(v.agentId);
      }
      assert.deepEqual(counted, row.counted);
      assert.deepEqual(unhealthy, row.unhealthy);
      for (const [commit, agent, allowed] of row.allows ?? []) assert.equal(f.allows(commit, agent), allowed, `${commit} on ${agent}`);
      if (row.infraAgents) assert.deepEqual([...f.infraFailures().keys()], row.infraAgents);
    });
  }
});

describe('HostFaults: the unhealthy agent\'s problem line', () => {
  // CI saw the two orders word it differently (one without the failure's title).
  const orders: [string, Verdict[]][] = [
    ['the failure first, the boot elsewhere after', [verdict('1', 'c1aaaaaaaaaaaaaa', 'a', ['noboot']), verdict('2', 'c1aaaaaaaaaaaaaa', 'b', ['ok'])]],
    ['the boot first, the failure after', [verdict('1', 'c1aaaaaaaaaaaaaa', 'b', ['ok']), verdict('2', 'c1aaaaaaaaaaaaaa', 'a', ['noboot'])]],
  ];
  for (const [name, history] of orders) {
    it(name, () => {
      const f = new HostFaults();
      const reasons = history.flatMap((v) => f.judge(v, 2).unhealthy.map((u) => u.reason));
      assert.deepEqual(reasons, ['could not boot c1aaaaaaaaaa (could not boot: no-output), which booted on b']);
    });
  }
});
