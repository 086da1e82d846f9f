/**
 * The vocabulary of a job's state machine: the events fed into `JobRun.apply` and the commands it
 * hands back for the executor (coordinator/jobs.ts) to carry out, in order.
 */
import type { JobEvent, JobState, Probe, Verdict } from '../../shared/proto.js';
import type { Bisection } from '../engine/index.js';
import type { CandidateRange, CommitFacts } from '../repo.js';
import type { ReleaseTag, ReleaseWalk } from './release-walk.js';

/** A probe assigned to an agent's slot and not answered yet (persisted with the job record). */
export interface InFlightProbe {
  probeId: string;
  commit: string;
  agentId: string;
  slot: number;
  startedMs: number;
}

/** The farm as one job sees it when a verdict or an infrastructure report comes in. */
export interface AgentView {
  /** Healthy connected agents able to run the job (a held boot failure counts once all failed). */
  healthyAble: number;
  /** Ids of the connected agents able to run the job (infrastructure failure on all: the job fails). */
  able: readonly string[];
}

/**
 * A free slot as build affinity sees it (job-run/affinity.ts): what its build directories last
 * built and what its agent keeps, by build key (shared/build-key.ts).
 */
export interface SlotView {
  agentId: string;
  slot: number;
  /** build key → the commit this slot's build directory last built with it. */
  lastBuilt: ReadonlyMap<string, string>;
  /** build key → the commits whose kernels the agent keeps. */
  cached: ReadonlyMap<string, ReadonlySet<string>>;
}

export type RunEvent =
  /** A verdict from the stream (live, or replayed after a restart: the same path). */
  | { type: 'verdict'; verdict: Verdict; agents: AgentView }
  /**
   * A free slot, offered to this job by the scheduler. `pass` groups the offers of one scheduling
   * pass (probes are planned jointly for the slots of a pass); `nonce` is the random part of the
   * probe id should the job take the slot. `pool`: this slot and the others still free in the pass,
   * with what they could reuse (build affinity; none given, probes go in the engine's order).
   */
  | { type: 'slot-offered'; agentId: string; slot: number; slotsLeft: number; pass: number; nonce: string; pool?: readonly SlotView[] }
  /** The assignment could not be persisted or sent: the agent never heard of the probe. */
  | { type: 'dispatch-failed'; probeId: string; reason: string }
  /** The agent gave the probe back without a verdict. */
  | { type: 'probe-handed-back'; probeId: string; reason: string }
  /** The agent reconnected and no longer runs the probe. */
  | { type: 'probe-lost'; probeId: string }
  /** The agent could not run the probe because of its host. */
  | { type: 'infra-reported'; probeId: string; agentId: string; reason: string; agents: AgentView }
  /** The agent holding the probe was not heard from within the lease. */
  | { type: 'lease-expired'; probeId: string }
  | { type: 'cancel-requested'; reason: string }
  | { type: 'range-resolved'; range: CandidateRange }
  | { type: 'range-failed'; reason: string }
  | { type: 'commit-facts-loaded'; facts: CommitFacts }
  | { type: 'commit-facts-failed'; reason: string }
  /** The crash report text of the finished job (read from the log store). */
  | { type: 'crash-report-loaded'; text: string }
  /** Replay after a restart is over: the probes the record says agents still run. */
  | { type: 'resumed'; inFlight: readonly InFlightProbe[] };

/** A job event without its job id (the executor adds it). */
export type EventData = Partial<Omit<JobEvent, 'jobId'>> & { kind: string };

export type Command =
  /** Reserve the slot for the probe now; send the assignment once the next persist is done. */
  | { type: 'dispatch'; probe: Probe; agentId: string; slot: number }
  /** Tell the agent to stop (or free the slot at once if the agent never heard of it). */
  | { type: 'cancel-probe'; probe: InFlightProbe; reason: string }
  /** The probe is answered: its slot is free. */
  | { type: 'release-slot'; probeId: string }
  /** A probe from before a restart, still assigned: lease it again (its slot comes back with the agent's Hello). */
  | { type: 'adopt-probe'; probe: InFlightProbe; runs: number }
  | { type: 'resolve-range'; bad: string; goods: string[]; firstParent: boolean }
  | { type: 'load-commit-facts'; commit: string }
  /** Write the job record (`JobRun.record()` at the time the command is carried out). */
  | { type: 'persist' }
  | { type: 'publish'; event: EventData }
  | { type: 'agent-unhealthy'; agentId: string; reason: string }
  | { type: 'agent-healthy'; agentId: string }
  | { type: 'agent-problem'; agentId: string; reason: string }
  /** Something for the coordinator's log, not the job's. */
  | { type: 'note'; level: 'debug' | 'info' | 'warn'; message: string; fields: Record<string, unknown> }
  /** The job has ended: read the crash report at `crashLogKey` and answer with crash-report-loaded. */
  | { type: 'finish'; state: JobState; crashLogKey: string };

/** Where a release walk stands: still walking, or waiting for the range below the clean tag. */
export type WalkStep = { kind: 'walking' } | { kind: 'loading-range'; clean: ReleaseTag };

/** How a culprit was checked before the job ended (the result's verification table). */
export interface VerificationRow {
  commit: string;
  role: 'culprit' | 'parent';
  runs: number;
  crashes: number;
  skipped: boolean;
  crashTitle: string;
}

export type Phase =
  | { kind: 'release-walk'; walk: ReleaseWalk; step: WalkStep }
  /**
   * A cross-tree fix job: the merge base of the branch commit and the upstream tip is tested first
   * (`testing`); when it still crashes, the range above it is loaded (`loading-range`).
   */
  | { kind: 'merge-base'; mergeBase: string; step: 'testing' | 'loading-range' }
  /** `walked`: the release walk that found the good commit, if any (for the report). */
  | { kind: 'bisecting'; range: CandidateRange; engine: Bisection; walked: ReleaseWalk | undefined; roundsDone: number }
  | {
      kind: 'verifying';
      range: CandidateRange;
      engine: Bisection;
      walked: ReleaseWalk | undefined;
      round: number;
      culprit: string;
      parents: string[];
    }
  | { kind: 'done'; walked: ReleaseWalk | undefined; ending: Ending };

export type Ending =
  /** A culprit is decided; its facts are being read from the repository. */
  | {
      kind: 'awaiting-facts';
      range: CandidateRange;
      culprit: string;
      confidence: number;
      suspects: { hash: string; probability: number }[];
      verification: VerificationRow[];
    }
  | { kind: 'finished' };

export type PhaseName = Phase['kind'];
