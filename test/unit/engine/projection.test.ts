import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { projectWallTime, type ProbeCosts, type TrialShape } from '../../../coordinator/engine/projection.js';

// Round numbers make every expected sum checkable by hand: full 100, incremental 10, test 50,
// verification test 100.
const costs: ProbeCosts = { fullBuildMs: 100, incrementalBuildMs: 10, testMs: 50, verifyTestMs: 100 };

interface Row {
  name: string;
  agents: number;
  trial: TrialShape;
  costs?: ProbeCosts;
  expect: { bisectRounds: number; verifyRounds: number; wallMs: number; verifyMs: number; allFullWallMs: number };
}

const rows: Row[] = [
  {
    name: 'serial: one full build, then incremental; both verified commits cached, two verification rounds',
    agents: 1,
    trial: { probesPerRound: [1, 1, 1], verification: { probes: 2, alreadyProbed: 2 } },
    expect: { bisectRounds: 3, verifyRounds: 2, wallMs: 150 + 60 + 60 + 200, verifyMs: 200, allFullWallMs: 3 * 150 + 2 * 200 },
  },
  {
    name: 'k=4: the first round waits for full builds, later rounds are incremental, one verification round',
    agents: 4,
    trial: { probesPerRound: [4, 4, 4], verification: { probes: 2, alreadyProbed: 2 } },
    expect: { bisectRounds: 3, verifyRounds: 1, wallMs: 150 + 60 + 60 + 100, verifyMs: 100, allFullWallMs: 3 * 150 + 200 },
  },
  {
    name: 'k=4: a parent never probed (a good commit) builds incrementally in a warm slot',
    agents: 4,
    trial: { probesPerRound: [4, 4, 2], verification: { probes: 2, alreadyProbed: 1 } },
    expect: { bisectRounds: 3, verifyRounds: 1, wallMs: 150 + 60 + 60 + 110, verifyMs: 110, allFullWallMs: 3 * 150 + 200 },
  },
  {
    name: 'k=4: more probes than warm slots: the round waits for a full build; no culprit, no verification',
    agents: 4,
    trial: { probesPerRound: [2, 4, 4] },
    expect: { bisectRounds: 3, verifyRounds: 0, wallMs: 150 + 150 + 60, verifyMs: 0, allFullWallMs: 3 * 150 },
  },
  {
    name: 'serial: neither verified commit cached: two incremental builds',
    agents: 1,
    trial: { probesPerRound: [1, 1], verification: { probes: 2, alreadyProbed: 0 } },
    expect: { bisectRounds: 2, verifyRounds: 2, wallMs: 150 + 60 + 110 + 110, verifyMs: 220, allFullWallMs: 2 * 150 + 2 * 200 },
  },
  {
    name: 'k=2: a merge culprit (3 commits to verify, 1 cached): builds packed into the first round',
    agents: 2,
    trial: { probesPerRound: [2], verification: { probes: 3, alreadyProbed: 1 } },
    expect: { bisectRounds: 1, verifyRounds: 2, wallMs: 150 + 110 + 100, verifyMs: 210, allFullWallMs: 150 + 2 * 200 },
  },
  {
    name: 'no rounds: nothing to project',
    agents: 8,
    trial: { probesPerRound: [] },
    expect: { bisectRounds: 0, verifyRounds: 0, wallMs: 0, verifyMs: 0, allFullWallMs: 0 },
  },
  {
    name: "k=16 at the seed's costs: 5m54s full, 11s incremental, 9m24s test, 18m48s verification",
    agents: 16,
    trial: { probesPerRound: [16, 16, 16, 16], verification: { probes: 2, alreadyProbed: 2 } },
    costs: { fullBuildMs: 354_000, incrementalBuildMs: 11_000, testMs: 564_000, verifyTestMs: 1_128_000 },
    expect: {
      bisectRounds: 4,
      verifyRounds: 1,
      wallMs: 354_000 + 3 * 11_000 + 4 * 564_000 + 1_128_000,
      verifyMs: 1_128_000,
      allFullWallMs: 4 * (354_000 + 564_000) + 354_000 + 1_128_000,
    },
  },
];

describe('projectWallTime', () => {
  for (const row of rows) {
    it(row.name, () => {
      assert.deepEqual(projectWallTime(row.trial, row.agents, row.costs ?? costs), row.expect);
    });
  }
});
