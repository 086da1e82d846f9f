/**
 * One job as a pure state machine: `apply(event, now)` changes the state and returns the commands
 * the executor (coordinator/jobs.ts) carries out, in order. No I/O, no awaits, no clock, no
 * randomness: the time and the random part of probe ids come in with the events. So the same
 * history of events gives the same state, which is what a replay after a restart relies on: it
 * feeds the stored verdicts through this very path, one by one (coordinator/job-run/replay.ts).
 *
 * A job goes through phases: `release-walk` (cause job without a good commit: find a clean
 * release), `bisecting` (the engine), `verifying` (the culprit and its parents tested again with
 * more runs), `done`. Host faults are sorted out before a verdict counts (host-faults.ts). Which
 * commit goes on an offered slot is slot-placement.ts's choice, what a verification round tests
 * and found is verification.ts's: both read the state this class owns and change none of it.
 */
import { headerLines, resultLines, short } from '../../shared/job-log.js';
import { InvalidJobError } from '../../shared/errors.js';
import { CommitInfo, Job, JobResult, JobState, Probe, type Verdict } from '../../shared/proto.js';
import { Bisection, type Decision } from '../engine/index.js';
import { HostFaults, type FaultJudgement } from '../host-faults.js';
import type { CandidateRange } from '../repo.js';
import { MAX_VERIFY_ROUNDS, runConfig, type RunConfig } from './config.js';
import { bisectionFlags, hostFaultEnding, nextSkipRun, untestableRelease } from './endings.js';
import { crashOf, isSkip, toEngineVerdict, verdictOutcome } from './evidence.js';
import { probeId, purposeFields, purposeOf, type ProbePurpose } from './probe-id.js';
import { ReleaseWalk, type ReleaseTag } from './release-walk.js';
import type { AgentView, Command, EventData, InFlightProbe, Phase, PhaseName, RunEvent, VerificationRow } from './types.js';
import { verdictEventData } from './events.js';
import { SlotPlacement, type PlacementView, type SlotOffer } from './slot-placement.js';
import { parentsIn, verificationOf, verificationRows } from './verification.js';

/**
 * How a job starts: a release walk (no good commit), a range already loaded, or a cross-tree fix
 * job's merge base to test first (`start`: the branch commit the operator gave).
 */
export type RunStart =
  | { kind: 'release-walk'; tags: readonly ReleaseTag[] }
  | { kind: 'range'; range: CandidateRange }
  | { kind: 'cross-tree'; mergeBase: string; start: string };

/** A plain summary of the state, for logs and for tests comparing a replay with the live run. */
export interface RunState {
  phase: PhaseName;
  round: number;
  state: string;
  verdicts: string[];
  discounted: string[];
  inFlight: string[];
  skipRun: { count: number; last: string };
  candidatesLeft: number;
  top: string[];
  releases: string[];
}

export class JobRun {
  readonly config: RunConfig;
  private job: Job;
  private phase: Phase;
  private readonly inFlight = new Map<string, InFlightProbe>();
  /** Probe ids this job assigned; a verdict for any other id is not counted. */
  private readonly issued = new Set<string>();
  private readonly verdicts: Verdict[] = [];
  private readonly seen = new Set<string>();
  /** Boot failures and infrastructure runs: the host's fault or the commit's. */
  private readonly faults = new HostFaults();
  /** Verdicts that are not evidence (yet): held boot failures, infrastructure runs. */
  private readonly discounted = new Set<string>();
  /** Skips in a row since the last informative verdict, once the bad commit is confirmed. */
  private skipRun = { count: 0, last: '' };
  private lastServed = 0;
  /** Which commit goes on an offered slot (it keeps the plan of the current scheduling pass). */
  private readonly placement: SlotPlacement;
  /** A cross-tree job: its merge base and what it showed ('' until its verdict counts). */
  private crossTree: { mergeBase: string; outcome: string } | undefined;

  private constructor(job: Job, start: RunStart, issued: Iterable<string>) {
    if (!job.spec) throw new InvalidJobError('spec', 'a job needs a spec');
    this.job = Job.fromPartial(job);
    this.config = runConfig(job.spec);
    this.placement = new SlotPlacement(this.config);
    for (const id of issued) this.issued.add(id);
    if (start.kind === 'release-walk') {
      if (start.tags.length === 0) {
        throw new InvalidJobError('good', 'no good commit given and no release tag (vX.Y) older than bad to start from', { hint: 'give --good REF: the last commit known not to crash' });
      }
      this.phase = { kind: 'release-walk', walk: new ReleaseWalk(start.tags), step: { kind: 'walking' } };
    } else if (start.kind === 'cross-tree') {
      this.phase = { kind: 'merge-base', mergeBase: start.mergeBase, step: 'testing' };
      this.crossTree = { mergeBase: start.mergeBase, outcome: '' };
      // The branch commit stays the job's good commit (a restart finds the merge base from it again).
      this.job.goodHashes = [start.start];
    } else {
      this.phase = this.bisecting(start.range, undefined, 0);
      this.adoptRange(start.range);
    }
    this.job.phase = this.phase.kind;
  }

  /** A job's run, from its record (`issued`: the probe ids it already assigned, after a restart). */
  static create(job: Job, start: RunStart, issued: Iterable<string> = []): JobRun {
    return new JobRun(job, start, issued);
  }

  get jobId(): string {
    return this.job.id;
  }

  get phaseName(): PhaseName {
    return this.phase.kind;
  }

  /** Not done: events still change it (a job awaiting its culprit's facts is still running). */
  get active(): boolean {
    return this.phase.kind !== 'done' || this.phase.ending.kind !== 'finished';
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  get lastServedMs(): number {
    return this.lastServed;
  }

  get createdMs(): number {
    return this.job.createdMs;
  }

  /**
   * Can an offer it declined be taken on another agent? Only when host faults bar some commit
   * for some agent; otherwise a declined offer means nothing more is wanted in this pass.
   */
  get declinesByAgent(): boolean {
    return this.faults.barsAnyAgent();
  }

  isInFlight(probeId: string): boolean {
    return this.inFlight.has(probeId);
  }

  inFlightProbe(probeId: string): InFlightProbe | undefined {
    return this.inFlight.get(probeId);
  }

  /** Would it take a slot now? Not when done, waiting for its range, or at its parallelism cap. */
  wantsWork(): boolean {
    if (this.phase.kind === 'done') return false;
    if (this.phase.kind === 'release-walk' && this.phase.step.kind === 'loading-range') return false;
    if (this.phase.kind === 'merge-base' && this.phase.step === 'loading-range') return false;
    return this.config.parallelismCap === 0 || this.inFlight.size < this.config.parallelismCap;
  }

  takenVerdicts(): readonly Verdict[] {
    return this.verdicts;
  }

  /** The "submitted" event (its log lines come from the job as it starts). */
  submittedEvent(now: number): EventData {
    const job = this.snapshot(now);
    return { kind: 'submitted', state: job.state, message: headerLines(job).join('\n'), candidatesLeft: job.candidatesLeft };
  }

  // ---- events ----

  apply(event: RunEvent, now: number): Command[] {
    const out: Command[] = [];
    switch (event.type) {
      case 'verdict':
        this.onVerdict(event.verdict, event.agents, now, out);
        break;
      case 'slot-offered':
        this.onSlotOffered(event, now, out);
        break;
      case 'dispatch-failed':
        if (this.inFlight.delete(event.probeId)) {
          out.push(note('info', 'assignment not delivered; proposing again', { jobId: this.jobId, probeId: event.probeId, reason: event.reason }), { type: 'persist' });
        }
        break;
      case 'probe-handed-back':
        this.onHandBack(event.probeId, event.reason, out);
        break;
      case 'probe-lost':
        if (this.inFlight.delete(event.probeId)) {
          out.push(note('info', 'agent no longer runs the probe; proposing again', { jobId: this.jobId, probeId: event.probeId }), { type: 'persist' });
        }
        break;
      case 'infra-reported':
        this.onInfra(event.probeId, event.agentId, event.reason, event.agents, now, out);
        break;
      case 'lease-expired': {
        const p = this.inFlight.get(event.probeId);
        if (!p) break;
        this.cancel(p, 'lease expired', out);
        out.push(note('warn', 'lease expired; proposing the probe again', { jobId: this.jobId, probeId: p.probeId, agentId: p.agentId }), { type: 'persist' });
        break;
      }
      case 'cancel-requested':
        if (this.active) this.finish(JobState.JOB_STATE_CANCELLED, { reason: event.reason || 'cancelled by the operator' }, now, out);
        break;
      case 'range-resolved':
        this.onRange(event.range, now, out);
        break;
      case 'range-failed':
        if (this.phase.kind === 'release-walk' && this.phase.step.kind === 'loading-range') {
          this.finish(JobState.JOB_STATE_FAILED, { reason: `the range below release ${this.phase.step.clean.tag} could not be loaded: ${event.reason}` }, now, out);
        }
        if (this.phase.kind === 'merge-base' && this.phase.step === 'loading-range') {
          this.finish(JobState.JOB_STATE_FAILED, { reason: `the range above the merge base ${short(this.phase.mergeBase)} could not be loaded: ${event.reason}` }, now, out);
        }
        break;
      case 'commit-facts-loaded':
      case 'commit-facts-failed':
        this.onFacts(event, now, out);
        break;
      case 'crash-report-loaded':
        this.onCrashReport(event.text, out);
        break;
      case 'resumed':
        this.onResumed(event.inFlight, now, out);
        break;
    }
    return out;
  }

  // ---- evidence ----

  private onVerdict(v: Verdict, agents: AgentView, now: number, out: Command[]): void {
    this.inFlight.delete(v.probeId);
    if (this.seen.has(v.probeId)) return; // redelivered: deduplicated by probe id
    if (!this.issued.has(v.probeId)) {
      // Anyone allowed to publish verdicts could make one up: only assigned probes count.
      out.push(note('warn', 'verdict for a probe this job never assigned: ignored', { jobId: this.jobId, probeId: v.probeId, agentId: v.agentId }));
      return;
    }
    this.seen.add(v.probeId);
    this.verdicts.push(v);
    out.push({ type: 'release-slot', probeId: v.probeId });
    if (!this.active) return; // a late verdict of an ended job: kept as a fact, nothing else
    if (v.abortReason) {
      out.push(this.verdictEvent(v));
      this.finish(JobState.JOB_STATE_FAILED, { reason: v.abortReason }, now, out);
      return;
    }
    const judged = this.judge(v, agents);
    out.push(this.verdictEvent(v));
    this.reportFaults(judged, out);
    if (this.endedByHostFaults(agents, now, out)) return;
    this.afterEvidence(now, out);
  }

  /**
   * What counts as evidence is decided by the host-fault policy: a verdict may be held (a boot
   * failure not yet known to be the commit's) or discounted (the host's fault), and a held one
   * may count later, when the commit fails to boot elsewhere too.
   */
  private judge(v: Verdict, agents: AgentView): FaultJudgement {
    const j = this.faults.judge(v, Math.max(1, agents.healthyAble));
    if (!j.apply.includes(v)) this.discounted.add(v.probeId);
    for (const a of j.apply) {
      this.discounted.delete(a.probeId);
      if (!isSkip(a) && !j.unhealthy.some((u) => u.agentId === a.agentId)) this.faults.recordHealthy(a.agentId);
      this.skipRun = nextSkipRun(this.skipRun, a, this.badConfirmed(), this.job.badHash);
      this.walkOf()?.record(a.commit, verdictOutcome(a));
      this.applyToEngine(a);
    }
    return j;
  }

  /** Agent health follows from the judgement; the job's log says what did not count. */
  private reportFaults(j: FaultJudgement, out: Command[]): void {
    for (const a of j.apply) if (!isSkip(a) && !j.unhealthy.some((u) => u.agentId === a.agentId)) out.push({ type: 'agent-healthy', agentId: a.agentId });
    if (j.infra) out.push({ type: 'agent-problem', agentId: j.infra.agentId, reason: j.infra.reason });
    if (j.discounted) out.push(this.logEvent(j.discounted));
    for (const u of j.unhealthy) out.push({ type: 'agent-unhealthy', agentId: u.agentId, reason: u.reason });
  }

  private endedByHostFaults(agents: AgentView, now: number, out: Command[]): boolean {
    const engine = this.engineOf();
    const ending = hostFaultEnding(
      {
        jobId: this.jobId,
        mode: this.config.mode,
        badHash: this.job.badHash,
        verdicts: this.verdicts,
        discounted: this.discounted,
        infraFailures: this.faults.infraFailures(),
        skipRun: this.skipRun,
        maxSkips: this.config.maxSkips,
        top: engine?.status().top ?? [],
      },
      agents,
    );
    if (!ending) return false;
    this.finish(ending.state, ending.result, now, out);
    return true;
  }

  private onInfra(id: string, agentId: string, reason: string, agents: AgentView, now: number, out: Command[]): void {
    const p = this.inFlight.get(id);
    if (!p || !this.active) return;
    this.faults.recordInfra(p.commit, agentId, reason);
    out.push(this.logEvent(`infrastructure failure on ${agentId} while testing ${short(p.commit)}: ${reason}; testing it again elsewhere`));
    this.onHandBack(id, `infrastructure problem: ${reason}`, out);
    this.endedByHostFaults(agents, now, out);
  }

  private onHandBack(id: string, reason: string, out: Command[]): void {
    const p = this.inFlight.get(id);
    if (!p) return;
    this.inFlight.delete(id);
    out.push({ type: 'persist' }, this.publishOf({ kind: 'probe-cancelled', probeId: id, commit: p.commit, agentId: p.agentId, message: `${p.agentId} handed back ${short(p.commit)}: ${reason}` }));
  }

  /** The verdicts of `commit` that count as evidence (not held, not discounted as the host's fault). */
  private countedVerdicts(commit: string): Verdict[] {
    return this.verdicts.filter((v) => v.commit === commit && !this.discounted.has(v.probeId));
  }

  private badConfirmed(): boolean {
    return this.countedVerdicts(this.job.badHash).some((v) => !isSkip(v));
  }

  private applyToEngine(v: Verdict): void {
    const engine = this.engineOf();
    if (!engine || v.abortReason) return;
    try {
      engine.apply(toEngineVerdict(v));
    } catch (err) {
      // A release tag older than the range, or a parent outside it: a fact, not evidence here.
      if (!(err instanceof InvalidJobError)) throw err;
    }
  }

  // ---- phases ----

  /** After new evidence: move between phases, decide, cancel useless probes, persist. */
  private afterEvidence(now: number, out: Command[]): void {
    const phase = this.phase;
    switch (phase.kind) {
      case 'done':
        return;
      case 'release-walk': {
        if (phase.step.kind === 'loading-range') {
          out.push({ type: 'persist' });
          return;
        }
        const d = phase.walk.decide();
        if (d.kind === 'exhausted' && d.oldest && d.oldestSkipped) {
          const ending = untestableRelease(this.jobId, d.oldest, this.verdicts, this.discounted);
          this.finish(ending.state, ending.result, now, out);
          return;
        }
        if (d.kind === 'exhausted') {
          this.finish(JobState.JOB_STATE_NOT_IN_RANGE, { reason: `the oldest tested release already had the bug (${d.oldest?.tag ?? 'none'})` }, now, out);
          return;
        }
        if (d.kind === 'good') {
          // No slot may be handed an older tag from here on: the walk is over (wantsWork()).
          this.phase = { kind: 'release-walk', walk: phase.walk, step: { kind: 'loading-range', clean: d.tag } };
          for (const p of [...this.inFlight.values()]) this.cancel(p, 'a clean release was found', out);
          out.push({ type: 'resolve-range', bad: this.job.badHash, goods: [d.tag.commit], firstParent: this.config.firstParent });
        }
        out.push({ type: 'persist' });
        return;
      }
      case 'merge-base':
        this.decideMergeBase(phase, now, out);
        return;
      case 'verifying': {
        const pending = [phase.culprit, ...phase.parents].filter((c) => !this.verificationOf(phase.round, c));
        if (pending.length > 0) {
          out.push({ type: 'persist' });
          return;
        }
        const decision = phase.engine.decide();
        if (decision.kind === 'culprit' && decision.commit === phase.culprit) {
          this.conclude(decision, verificationRows(this.verdicts, this.discounted, phase.round, phase.culprit, phase.parents), now, out);
          return;
        }
        this.phase = this.bisecting(phase.range, phase.walked, phase.round);
        out.push(this.logEvent(`verification did not confirm ${short(phase.culprit)}; bisecting on`));
        this.decideBisecting(now, out);
        return;
      }
      case 'bisecting':
        this.decideBisecting(now, out);
        return;
    }
  }

  /**
   * A cross-tree job once its merge base has a verdict that counts: clean, the bug came with the
   * branch (upstream never had it: no fix to find); untestable, an error; still crashing, the
   * upstream range above it is bisected, the merge base being its commit that has the bug.
   */
  private decideMergeBase(phase: Extract<Phase, { kind: 'merge-base' }>, now: number, out: Command[]): void {
    const counted = phase.step === 'testing' ? this.countedVerdicts(phase.mergeBase) : [];
    const v = counted[counted.length - 1];
    if (!v || !this.crossTree) {
      out.push({ type: 'persist' });
      return;
    }
    const outcome = verdictOutcome(v);
    this.crossTree.outcome = outcome;
    const mb = short(phase.mergeBase);
    if (outcome === 'clean') {
      const reason = `the merge base ${mb} of the branch commit and the upstream tip does not crash: the bug came with the branch: no upstream fix to find`;
      this.finish(JobState.JOB_STATE_NOT_IN_RANGE, { reason }, now, out);
      return;
    }
    if (outcome === 'skipped') {
      const why = toEngineVerdictReason(v);
      const probeIds = this.verdicts.filter((x) => x.commit === phase.mergeBase).map((x) => x.probeId);
      const logs = probeIds.map((id) => `multisect logs ${this.jobId} --probe ${id}`).join(', ');
      this.finish(
        JobState.JOB_STATE_FAILED,
        { reason: `the merge base ${mb} of the branch commit and the upstream tip could not be tested (${why}): whether upstream has the bug is unknown; logs: ${logs}`, untestable: { commit: phase.mergeBase, role: 'merge-base', reason: why, tag: '', probeIds } },
        now,
        out,
      );
      return;
    }
    this.phase = { kind: 'merge-base', mergeBase: phase.mergeBase, step: 'loading-range' };
    for (const p of [...this.inFlight.values()]) if (p.commit !== this.job.badHash) this.cancel(p, 'the merge base is decided', out);
    out.push(this.logEvent(`the merge base ${mb} still crashes: bisecting upstream from it`), { type: 'resolve-range', bad: this.job.badHash, goods: [phase.mergeBase], firstParent: this.config.firstParent }, { type: 'persist' });
  }

  private decideBisecting(now: number, out: Command[]): void {
    const phase = this.phase;
    if (phase.kind !== 'bisecting') return;
    const decision = phase.engine.decide();
    if (decision.kind === 'culprit' && this.config.verify && phase.roundsDone < MAX_VERIFY_ROUNDS) {
      this.startVerifying(phase.range, phase.engine, phase.walked, decision.commit, phase.roundsDone + 1, now, out);
      return;
    }
    if (decision.kind !== 'continue') {
      this.conclude(decision, [], now, out);
      return;
    }
    const useless = new Set(phase.engine.useless([...this.inFlight.values()].map((p) => p.commit)));
    for (const p of [...this.inFlight.values()]) if (useless.has(p.commit)) this.cancel(p, 'no longer useful', out);
    out.push({ type: 'persist' });
  }

  private startVerifying(range: CandidateRange, engine: Bisection, walked: ReleaseWalk | undefined, culprit: string, round: number, now: number, out: Command[]): void {
    const parents = parentsIn(range, culprit);
    this.phase = { kind: 'verifying', range, engine, walked, round, culprit, parents };
    this.job.phase = this.phase.kind;
    for (const p of [...this.inFlight.values()]) this.cancel(p, 'verifying the culprit', out);
    out.push(this.logEvent(`verifying ${short(culprit)} and its parent${parents.length > 1 ? 's' : ''} ${parents.map(short).join(' ')} with ${this.config.verifyRuns} runs each`));
    this.afterEvidence(now, out);
  }

  private bisecting(range: CandidateRange, walked: ReleaseWalk | undefined, roundsDone: number): Phase {
    const engine = Bisection.create(range, this.config.engine);
    return { kind: 'bisecting', range, engine, walked, roundsDone };
  }

  /** The range below the clean release is loaded: bisect, with every verdict seen so far. */
  private onRange(range: CandidateRange, now: number, out: Command[]): void {
    const phase = this.phase;
    if (phase.kind === 'merge-base' && phase.step === 'loading-range') {
      this.phase = this.bisecting(range, undefined, 0);
      this.job.phase = this.phase.kind;
      this.adoptRange(range);
      for (const v of this.verdicts) if (!this.discounted.has(v.probeId)) this.applyToEngine(v);
      out.push(this.logEvent(`bisecting ${this.job.candidatesTotal} upstream revisions between the merge base ${short(phase.mergeBase)} and ${short(this.job.badHash)}`));
      this.afterEvidence(now, out);
      return;
    }
    if (phase.kind !== 'release-walk' || phase.step.kind !== 'loading-range') return;
    const clean = phase.step.clean;
    this.phase = this.bisecting(range, phase.walk, 0);
    this.job.phase = this.phase.kind;
    this.adoptRange(range);
    for (const v of this.verdicts) if (!this.discounted.has(v.probeId)) this.applyToEngine(v);
    out.push(this.logEvent(`release ${clean.tag} (${short(clean.commit)}) is clean: bisecting ${this.job.candidatesTotal} revisions between it and ${short(this.job.badHash)}`));
    this.afterEvidence(now, out);
  }

  private adoptRange(range: CandidateRange): void {
    const bad = range.hashes[range.bad];
    if (bad !== undefined) this.job.badHash = bad;
    // A cross-tree job keeps the branch commit as its good one (the merge base is in crossTree).
    if (!this.crossTree) this.job.goodHashes = [...range.goods];
    this.job.candidatesTotal = range.hashes.length;
    this.job.candidatesLeft = range.hashes.length;
  }

  /** The verification verdict of a commit in `round` that counts, if any. */
  private verificationOf(round: number, commit: string): Verdict | undefined {
    return verificationOf(this.verdicts, this.discounted, round, commit);
  }

  // ---- ending ----

  private conclude(d: Exclude<Decision, { kind: 'continue' }>, verification: VerificationRow[], now: number, out: Command[]): void {
    const engine = this.engineOf();
    const range = this.rangeOf();
    const top = engine?.status().top ?? [];
    if (d.kind === 'culprit' && range) {
      // Decided: nothing more to test. The culprit's facts come from the repository.
      for (const p of [...this.inFlight.values()]) this.cancel(p, 'job ended', out);
      const suspects = top.filter((t) => t.commit !== d.commit).slice(0, 5).map((t) => ({ hash: t.commit, probability: t.probability }));
      this.phase = { kind: 'done', walked: this.walkOf(), ending: { kind: 'awaiting-facts', range, culprit: d.commit, confidence: d.confidence, suspects, verification } };
      out.push({ type: 'load-commit-facts', commit: d.commit }, { type: 'persist' });
    } else if (d.kind === 'inconclusive') {
      const suspects = d.commits.map((c) => ({ hash: c, probability: top.find((t) => t.commit === c)?.probability ?? 0 }));
      this.finish(JobState.JOB_STATE_INCONCLUSIVE, { reason: d.reason, confidence: d.confidence, suspects }, now, out);
    } else if (d.kind === 'not-in-range') {
      this.finish(JobState.JOB_STATE_NOT_IN_RANGE, { reason: d.reason, confidence: d.confidence }, now, out);
    }
  }

  private onFacts(event: Extract<RunEvent, { type: 'commit-facts-loaded' | 'commit-facts-failed' }>, now: number, out: Command[]): void {
    const phase = this.phase;
    if (phase.kind !== 'done' || phase.ending.kind !== 'awaiting-facts') return;
    const e = phase.ending;
    const culpritTitle = crashOf(this.verdicts, e.culprit)?.title;
    const flags = bisectionFlags({ confidence: e.confidence, target: this.config.confidenceTarget, originalTitle: crashOf(this.verdicts, this.job.badHash)?.title, culpritTitle });
    let culprit: CommitInfo;
    let recipients: string[] = [];
    if (event.type === 'commit-facts-loaded') {
      culprit = event.facts.info;
      recipients = event.facts.recipients;
      flags.unshift(...event.facts.flags);
    } else {
      const at = e.range.hashes.indexOf(e.culprit);
      culprit = CommitInfo.fromPartial({ hash: e.culprit, subject: e.range.subjects[at] ?? '', merge: (e.range.parentHashes[at]?.length ?? 0) > 1 });
      flags.push(`the culprit's facts could not be read: ${event.reason}`);
    }
    this.finish(JobState.JOB_STATE_SUCCEEDED, { culprit, confidence: e.confidence, flags, recipients, verification: e.verification, suspects: e.suspects }, now, out);
  }

  private finish(state: JobState, result: Partial<JobResult>, now: number, out: Command[]): void {
    if (!this.active) return;
    const job = this.snapshot(now);
    for (const p of [...this.inFlight.values()]) this.cancel(p, 'job ended', out);
    job.state = state;
    job.finishedMs = now;
    job.updatedMs = now;
    job.probesInFlight = 0;
    job.phase = '';
    const crash = crashOf(this.verdicts, result.culprit?.hash) ?? crashOf(this.verdicts, this.job.badHash) ?? crashOf(this.verdicts);
    const walked = this.walkOf();
    job.result = JobResult.fromPartial({
      ...result,
      crashTitle: crash?.title ?? '',
      crashLogKey: crash?.logKey ?? '',
      originalCrashTitle: crashOf(this.verdicts, this.job.badHash)?.title ?? '',
      releases: walked?.summary() ?? [],
      crossTree: this.crossTree ? { ...this.crossTree } : undefined,
      revisionsTested: new Set(this.verdicts.map((v) => v.commit)).size,
      wallMs: now - this.job.createdMs,
      buildMs: this.verdicts.reduce((s, v) => s + (v.build?.durationMs ?? 0), 0),
      testMs: this.verdicts.reduce((s, v) => s + v.runs.reduce((t, r) => t + r.durationMs, 0), 0),
    });
    this.job = job;
    this.phase = { kind: 'done', walked, ending: { kind: 'finished' } };
    out.push({ type: 'finish', state, crashLogKey: crash?.logKey ?? '' });
  }

  /** The report is complete: write the final record, then tell the watchers. */
  private onCrashReport(text: string, out: Command[]): void {
    if (this.active || !this.job.result) return;
    this.job.result.crashReport = text;
    out.push(
      { type: 'persist' },
      this.publishOf({ kind: 'finished', state: this.job.state, message: resultLines(this.job).join('\n') }),
      note('info', 'job finished', { jobId: this.jobId, state: JobState[this.job.state], culprit: this.job.result.culprit?.hash }),
    );
  }

  // ---- after a restart ----

  /** The replay is over: probes still assigned come back, and the job decides with them in view. */
  private onResumed(inFlight: readonly InFlightProbe[], now: number, out: Command[]): void {
    if (!this.active) {
      out.push({ type: 'persist' });
      return;
    }
    for (const p of inFlight) {
      if (this.seen.has(p.probeId)) continue;
      this.inFlight.set(p.probeId, { ...p });
      this.issued.add(p.probeId);
      out.push({ type: 'adopt-probe', probe: { ...p }, runs: this.runsFor(purposeOf(p.probeId)) });
    }
    this.afterEvidence(now, out);
  }

  // ---- scheduling ----

  private onSlotOffered(offer: SlotOffer, now: number, out: Command[]): void {
    if (!this.wantsWork()) return;
    const { agentId, slot, nonce } = offer;
    const commit = this.placement.commitFor(offer, this.placementView());
    if (commit === undefined) return;
    const purpose = this.purposeNow();
    const spec = this.job.spec;
    const probe = Probe.fromPartial({
      id: probeId(this.jobId, purpose, nonce),
      jobId: this.jobId,
      commit,
      runs: this.runsFor(purpose),
      repo: spec?.repo ?? '',
      recipe: spec?.recipe,
      policy: spec?.policy,
      first: this.verdicts.length === 0,
      ...purposeFields(purpose),
    });
    this.inFlight.set(probe.id, { probeId: probe.id, commit, agentId, slot, startedMs: now });
    this.issued.add(probe.id);
    this.lastServed = now;
    // Persist the assignment before the agent hears of it: after a crash, the verdict of any
    // probe an agent ran is then recognised as one this job asked for.
    out.push({ type: 'dispatch', probe, agentId, slot }, { type: 'persist' });
  }

  private purposeNow(): ProbePurpose {
    if (this.phase.kind === 'release-walk') return { kind: 'release' };
    if (this.phase.kind === 'merge-base') return { kind: 'merge-base' };
    if (this.phase.kind === 'verifying') return { kind: 'verify', round: this.phase.round };
    return { kind: 'bisect' };
  }

  private runsFor(purpose: ProbePurpose): number {
    return purpose.kind === 'verify' ? this.config.verifyRuns : this.config.runsPerProbe;
  }

  /** The state placement reads, for one offer (the verdict tests stay here: they read what counts). */
  private placementView(): PlacementView {
    return {
      phase: this.phase,
      badHash: this.job.badHash,
      inFlight: [...this.inFlight.values()].map((p) => p.commit),
      faults: this.faults,
      hasCountedVerdict: (c) => this.countedVerdicts(c).length > 0,
      isVerified: (round, c) => this.verificationOf(round, c) !== undefined,
    };
  }

  private cancel(p: InFlightProbe, reason: string, out: Command[]): void {
    this.inFlight.delete(p.probeId);
    out.push(
      { type: 'cancel-probe', probe: p, reason },
      this.publishOf({ kind: 'probe-cancelled', probeId: p.probeId, commit: p.commit, agentId: p.agentId, message: `cancelled ${short(p.commit)} on ${p.agentId}: ${reason}` }),
    );
  }

  // ---- views ----

  private engineOf(): Bisection | undefined {
    return this.phase.kind === 'bisecting' || this.phase.kind === 'verifying' ? this.phase.engine : undefined;
  }

  private rangeOf(): CandidateRange | undefined {
    return this.phase.kind === 'bisecting' || this.phase.kind === 'verifying' ? this.phase.range : undefined;
  }

  private walkOf(): ReleaseWalk | undefined {
    if (this.phase.kind === 'merge-base') return undefined;
    return this.phase.kind === 'release-walk' ? this.phase.walk : this.phase.walked;
  }

  /** The engine's posterior over the candidate range (for charts); none before the range or after the end. */
  posterior(): { commits: string[]; mass: number[] } | undefined {
    const range = this.rangeOf();
    const engine = this.engineOf();
    if (!range || !engine) return undefined;
    return { commits: range.hashes, mass: Array.from(engine.probabilities()) };
  }

  /** The job as clients see it: the record plus live counts (and, while running, suspects). */
  snapshot(now: number): Job {
    const job = Job.fromPartial(this.job);
    if (!this.active) return job;
    const status = this.engineOf()?.status();
    if (status) job.candidatesLeft = status.candidatesLeft;
    job.probesDone = this.verdicts.length;
    job.probesInFlight = this.inFlight.size;
    job.phase = this.phase.kind === 'done' ? 'concluding' : this.phase.kind;
    job.updatedMs = now;
    job.result = JobResult.fromPartial({
      confidence: status?.top[0]?.probability ?? 0,
      suspects: (status?.top ?? []).slice(0, 5).map((t) => ({ hash: t.commit, probability: t.probability })),
      revisionsTested: new Set(this.verdicts.map((v) => v.commit)).size,
      releases: this.walkOf()?.summary() ?? [],
    });
    return job;
  }

  /** What the job record in the KV bucket holds. */
  record(now: number): { job: Job; inFlight: InFlightProbe[]; issued: string[] } {
    return { job: this.snapshot(now), inFlight: [...this.inFlight.values()].map((p) => ({ ...p })), issued: [...this.issued] };
  }

  state(): RunState {
    const status = this.engineOf()?.status();
    const phase = this.phase;
    return {
      phase: phase.kind,
      round: phase.kind === 'verifying' ? phase.round : phase.kind === 'bisecting' ? phase.roundsDone : 0,
      state: JobState[this.job.state] ?? String(this.job.state),
      verdicts: this.verdicts.map((v) => v.probeId),
      discounted: [...this.discounted].sort(),
      inFlight: [...this.inFlight.keys()].sort(),
      skipRun: { ...this.skipRun },
      candidatesLeft: status?.candidatesLeft ?? this.job.candidatesLeft,
      top: (status?.top ?? []).map((t) => `${t.commit}:${t.probability.toFixed(6)}`),
      releases: (this.walkOf()?.summary() ?? []).map((r) => `${r.tag}:${r.outcome}`),
    };
  }

  private verdictEvent(v: Verdict): Command {
    return this.publishOf(verdictEventData(v, this.engineOf()?.status(), this.job.candidatesTotal));
  }

  private logEvent(message: string): Command {
    return this.publishOf({ kind: 'log', message, candidatesLeft: this.engineOf()?.status().candidatesLeft ?? this.job.candidatesTotal });
  }

  private publishOf(event: EventData): Command {
    return { type: 'publish', event };
  }
}

/** Why a skipped verdict is a skip (its first line). */
function toEngineVerdictReason(v: Verdict): string {
  const e = toEngineVerdict(v);
  return 'skipped' in e ? ((e.reason ?? 'skipped').trim().split('\n').slice(-1)[0] ?? 'skipped') : '';
}

function note(level: 'debug' | 'info' | 'warn', message: string, fields: Record<string, unknown>): Command {
  return { type: 'note', level, message, fields };
}
