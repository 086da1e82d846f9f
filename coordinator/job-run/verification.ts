/**
 * Verification (pure): once the engine names a culprit, the culprit and its parents are tested
 * again with more runs, in a numbered round, and only a confirmed culprit ends the job. These read
 * which commits a round tests and what their verdicts said; JobRun moves between the phases.
 */
import type { Verdict } from '../../shared/proto.js';
import type { CandidateRange } from '../repo.js';
import { crashOf, toEngineVerdict } from './evidence.js';
import { isVerificationOfRound } from './probe-id.js';
import type { VerificationRow } from './types.js';

/** The culprit's parents as full hashes, from the range (they may lie outside it: good commits). */
export function parentsIn(range: CandidateRange, commit: string): string[] {
  const at = range.hashes.indexOf(commit);
  return at >= 0 ? [...(range.parentHashes[at] ?? [])] : [];
}

/**
 * The verification verdict of a commit in `round`, if any. `discounted`: probe ids whose verdicts
 * do not count (held boot failures, the host's faults); a round waits for one that does.
 */
export function verificationOf(verdicts: readonly Verdict[], discounted: ReadonlySet<string>, round: number, commit: string): Verdict | undefined {
  return verdicts.find((x) => x.commit === commit && isVerificationOfRound(x, round) && !discounted.has(x.probeId));
}

/** The result's verification table: one row per commit of the round, a skip shown as no runs. */
export function verificationRows(verdicts: readonly Verdict[], discounted: ReadonlySet<string>, round: number, culprit: string, parents: readonly string[]): VerificationRow[] {
  return [culprit, ...parents].map((c) => {
    const v = verificationOf(verdicts, discounted, round, c);
    const o = v ? toEngineVerdict(v) : undefined;
    const counted = o && !('skipped' in o) ? o : undefined;
    return {
      commit: c,
      role: c === culprit ? 'culprit' : 'parent',
      runs: counted?.runs ?? 0,
      crashes: counted?.crashes ?? 0,
      skipped: counted === undefined,
      crashTitle: v ? (crashOf([v], c)?.title ?? '') : '',
    };
  });
}
