/** The engine's data contract with the coordinator (see index.ts for the overview). */

export interface CandidateDag {
  /** Candidate ids are indices, in topological order: parents before children. */
  hashes: string[];
  /** Parents of each candidate that are themselves candidates (ids). */
  parents: number[][];
  /** Number of parents in the real history (>1 = merge); with --first-parent still the real count. */
  parentCount: number[];
  /** Optional one-line subjects, for reports. */
  subjects?: string[];
  /** Optional relative prior weight of each candidate (default 1; merges are further scaled by mergeWeight). */
  weights?: number[];
  /**
   * Optional full hashes of every parent of each candidate, also those outside the range (the
   * loaders fill it). In fix mode it tells which candidates contain a start commit and so have
   * the bug (bug-presence.ts); without it every candidate is taken to.
   */
  parentHashes?: string[][];
  /** Id of the bad commit: the single tip, every candidate is its ancestor-or-self. */
  bad: number;
  /** Full hashes of the good boundary commits (not candidates). */
  goods: string[];
}

/** A probe's outcome. `commit` is a candidate's full hash or a good boundary commit's. */
export type EngineVerdict =
  | { probeId: string; commit: string; runs: number; crashes: number }
  | { probeId: string; commit: string; skipped: true; reason?: string };

export type Decision =
  | { kind: 'continue' }
  | { kind: 'culprit'; commit: string; confidence: number }
  | { kind: 'inconclusive'; commits: string[]; confidence: number; reason: string }
  | { kind: 'not-in-range'; confidence: number; reason: string };

export interface EngineStatus {
  candidatesTotal: number;
  /** Candidates whose likelihood is still at least 1% of the best one's. */
  candidatesLeft: number;
  top: { commit: string; probability: number }[];
  /** Distinct commits with at least one run. */
  tested: number;
  q: number;
  eps: number;
  notInRange: number;
}
