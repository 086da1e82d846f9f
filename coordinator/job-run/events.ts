/**
 * What a verdict event says (the live view, the dashboard and `multisect watch` read it): the
 * verdict's lines of the bisection log, its typed facts, and where the bisection stands after it.
 * The reducer publishes it; nothing here reads state.
 */
import { verdictLines } from '../../shared/job-log.js';
import { RunOutcome, type Verdict } from '../../shared/proto.js';
import type { EngineStatus } from '../engine/index.js';
import { completedRun, toEngineVerdict } from './evidence.js';
import { purposeFields, purposeOfVerdict } from './probe-id.js';
import type { EventData } from './types.js';

export function verdictEventData(v: Verdict, status: EngineStatus | undefined, candidatesTotal: number): EventData {
  return {
    kind: 'verdict',
    probeId: v.probeId,
    commit: v.commit,
    agentId: v.agentId,
    message: verdictLines(v).join('\n'),
    ...verdictFacts(v),
    buildMs: v.build?.durationMs ?? 0,
    buildCached: v.build?.cached ?? false,
    testMs: v.runs.reduce((sum, r) => sum + r.durationMs, 0),
    candidatesLeft: status?.candidatesLeft ?? candidatesTotal,
    topProbability: status?.top[0]?.probability ?? 0,
    suspects: (status?.top ?? []).slice(0, 5).map((t) => ({ hash: t.commit, probability: t.probability })),
  };
}

/** A verdict event's typed facts: outcome, runs, crashes, and what the probe was for. */
function verdictFacts(v: Verdict): { outcome: string; runs: number; crashes: number; probePhase: string; round: number } {
  const purpose = purposeOfVerdict(v);
  const e = toEngineVerdict(v);
  const crashes = v.runs.filter((r) => r.outcome === RunOutcome.RUN_OUTCOME_CRASH && r.matches).length;
  // Some runs completed, too few to count: no evidence (a build failure or no run at all is a skip).
  const completed = v.runs.filter(completedRun).length;
  const outcome = 'skipped' in e ? (completed > 0 ? 'no-evidence' : 'skip') : e.crashes > 0 ? 'crash' : 'clean';
  return { outcome, runs: v.runs.length, crashes, probePhase: purpose.kind, round: purposeFields(purpose).round };
}
