/**
 * Host faults are never taken for properties of commits. Pure policy (no I/O): what a verdict
 * says about the host that produced it, and, per job, when a failure to boot or an infrastructure
 * run is the commit's (it then counts as a skip) or the agent's (it does not count; the probe
 * runs again elsewhere and the agent may be marked unhealthy).
 *
 * - A verdict whose build failed is evidence about the commit (a skip), as before.
 * - A verdict with more than half of its runs `infra` is the host's fault: no evidence.
 * - A verdict where no run booted is held: it counts only once the commit also fails to boot on
 *   another agent (or on every agent able to run it). If the commit boots anywhere, the agents
 *   that could not boot it are at fault: the verdict is dropped and they are marked unhealthy.
 * - A verdict where fewer than half of the runs completed (skipped, infra, a lost connection) is
 *   no evidence, as in syzkaller: the few runs that passed do not make the commit clean. It is
 *   tested once more on another agent, and then counts as a skip. Nobody is marked unhealthy:
 *   a test that skips is the test's doing as often as the host's.
 */
import { RunOutcome, type Verdict } from '../shared/proto.js';
import { incompleteReason } from '../shared/run-evidence.js';

export type HostFaultKind =
  /** Evidence about the commit: ok or crash runs, or a skip the commit is to blame for. */
  | { kind: 'evidence'; booted: boolean }
  /** No run got to the boot marker: the commit's fault or the host's, not known yet. */
  | { kind: 'boot-failure'; reason: string }
  /** More than half of the runs could not be carried out because of the host. */
  | { kind: 'infra'; reason: string }
  /** Fewer than half of the runs completed: no evidence on this agent. */
  | { kind: 'incomplete'; reason: string };

/**
 * The problem line of an agent that could not boot what booted elsewhere. One wording whichever
 * came first (the failure or the boot elsewhere), with the failure's own title in it.
 */
function notBootedHere(commit: string, title: string, bootedOn: string): string {
  return `could not boot ${commit.slice(0, 12)} (${title}), which booted on ${bootedOn}`;
}

/** The title of a held boot failure (held verdicts are boot failures; the fallback is for the type). */
function bootFailureTitle(v: Verdict): string {
  const c = classifyVerdict(v);
  return c.kind === 'boot-failure' ? c.reason : 'could not boot';
}

export function classifyVerdict(v: Verdict): HostFaultKind {
  if (v.abortReason || (v.build && !v.build.ok)) return { kind: 'evidence', booted: false };
  const infra = v.runs.filter((r) => r.outcome === RunOutcome.RUN_OUTCOME_INFRA);
  if (v.runs.length > 0 && infra.length * 2 > v.runs.length) {
    return { kind: 'infra', reason: infra[0]?.title || 'infrastructure failure' };
  }
  const completed = v.runs.some((r) => r.outcome === RunOutcome.RUN_OUTCOME_OK || r.outcome === RunOutcome.RUN_OUTCOME_CRASH);
  const notInfra = v.runs.filter((r) => r.outcome !== RunOutcome.RUN_OUTCOME_INFRA);
  if (!completed && notInfra.length > 0 && notInfra.every((r) => r.bootFailed)) {
    return { kind: 'boot-failure', reason: notInfra[0]?.title || 'could not boot' };
  }
  const incomplete = incompleteReason(v);
  if (incomplete !== undefined) return { kind: 'incomplete', reason: incomplete };
  return { kind: 'evidence', booted: completed };
}

/** What the job does with a verdict, and what follows for the agents. */
export interface FaultJudgement {
  /** Verdicts to apply as evidence now (this one, or held ones now known to be the commit's). */
  apply: Verdict[];
  /** Agents now known to be at fault, with the reason. */
  unhealthy: { agentId: string; reason: string }[];
  /** Set when the verdict is not evidence: why (for the job log). */
  discounted?: string;
  /** The agent reported an infrastructure failure (its problem, not the commit's). */
  infra?: { agentId: string; reason: string };
}

/**
 * One job's memory of host faults. Deterministic in the order of verdicts, so a replay after a
 * restart rebuilds it (the number of agents able to run the job is the only live input).
 */
export class HostFaults {
  /** commit -> agent -> the held verdict where it could not boot there. */
  private readonly held = new Map<string, Map<string, Verdict>>();
  /** commit -> agent it booted on first. */
  private readonly booted = new Map<string, string>();
  /** commit -> agents that may not get it again (they could not boot it, or had infra on it). */
  private readonly excluded = new Map<string, Set<string>>();
  /** agent -> last infrastructure reason, for "infra on every agent". */
  private readonly infraAgents = new Map<string, string>();
  /** commit -> agent whose verdict had too few completed runs (tested once more elsewhere). */
  private readonly incomplete = new Map<string, string>();
  /**
   * Agents this job found at fault (they could not boot what booted elsewhere). Their boot
   * failures are no evidence about a commit: the count of healthy agents no longer includes
   * them, so "failed on every healthy agent" must not be read from their failure alone.
   */
  private readonly atFault = new Set<string>();

  /**
   * Judge a verdict. `agentsAble`: how many healthy agents could run this job (a held boot
   * failure counts once every one of them failed).
   */
  judge(v: Verdict, agentsAble: number): FaultJudgement {
    const c = classifyVerdict(v);
    if (c.kind === 'infra') {
      this.exclude(v.commit, v.agentId);
      this.infraAgents.set(v.agentId, c.reason);
      return { apply: [], unhealthy: [], discounted: `infrastructure failure on ${v.agentId}: ${c.reason}; testing it again elsewhere`, infra: { agentId: v.agentId, reason: c.reason } };
    }
    if (c.kind === 'incomplete') {
      // The second incomplete verdict (or the only agent's) is the commit's: one skip.
      if (this.incomplete.has(v.commit) || agentsAble <= 1) {
        this.incomplete.delete(v.commit);
        return { apply: [v], unhealthy: [] };
      }
      this.incomplete.set(v.commit, v.agentId);
      this.exclude(v.commit, v.agentId);
      return { apply: [], unhealthy: [], discounted: `${v.agentId} tested ${v.commit.slice(0, 12)}: ${c.reason}: no evidence; testing it once more on another agent` };
    }
    if (c.kind === 'evidence') {
      if (c.booted) this.incomplete.delete(v.commit);
      if (!c.booted) return { apply: [v], unhealthy: [] };
      if (!this.booted.has(v.commit)) this.booted.set(v.commit, v.agentId);
      // Agents that could not boot a commit that boots: their fault. Their verdicts are dropped.
      const failedHere = this.held.get(v.commit);
      this.held.delete(v.commit);
      const unhealthy = [...(failedHere?.entries() ?? [])]
        .filter(([a]) => a !== v.agentId)
        .map(([agentId, held]) => ({ agentId, reason: notBootedHere(v.commit, bootFailureTitle(held), v.agentId) }));
      this.atFault.delete(v.agentId);
      for (const u of unhealthy) this.atFault.add(u.agentId);
      return { apply: [v], unhealthy };
    }
    const bootedOn = this.booted.get(v.commit);
    if (bootedOn && bootedOn !== v.agentId) {
      this.atFault.add(v.agentId);
      return {
        apply: [],
        unhealthy: [{ agentId: v.agentId, reason: notBootedHere(v.commit, c.reason, bootedOn) }],
        discounted: `${v.agentId} could not boot ${v.commit.slice(0, 12)}, which booted on ${bootedOn}: not counted`,
      };
    }
    const failed = this.held.get(v.commit) ?? new Map<string, Verdict>();
    failed.set(v.agentId, v);
    this.held.set(v.commit, failed);
    this.exclude(v.commit, v.agentId);
    // Failures on agents found at fault say nothing: `agentsAble` counts only healthy agents.
    const trusted = [...failed.keys()].filter((a) => !this.atFault.has(a)).length;
    if (trusted > 0 && (failed.size >= 2 || trusted >= agentsAble)) {
      // Not one host's fault: the commit does not boot. One skip, whatever the number of hosts.
      this.held.delete(v.commit);
      return { apply: [v], unhealthy: [] };
    }
    // No trusted failure: this one is on an agent found at fault.
    const why = trusted === 0 ? `, and ${v.agentId} could not boot other commits that booted elsewhere` : '';
    return { apply: [], unhealthy: [], discounted: `${v.agentId} could not boot ${v.commit.slice(0, 12)} (${c.reason})${why}: testing it on another agent before counting it` };
  }

  /** The agent reported an infrastructure failure for a probe of this commit (it never produced a verdict). */
  recordInfra(commit: string, agentId: string, reason: string): void {
    this.exclude(commit, agentId);
    this.infraAgents.set(agentId, reason);
  }

  /** The agent passed a run of this job again: its old infrastructure failures no longer say "every agent". */
  recordHealthy(agentId: string): void {
    this.infraAgents.delete(agentId);
  }

  /** May `agentId` be given `commit`? Not when it already failed to boot it or had infra on it. */
  allows(commit: string, agentId: string): boolean {
    return !this.excluded.get(commit)?.has(agentId);
  }

  /** Is any commit barred for some agent? Until one is, what the job wants does not depend on the agent. */
  barsAnyAgent(): boolean {
    return this.excluded.size > 0;
  }

  /** Commits `agentId` may not get again. */
  excludedFor(agentId: string): string[] {
    return [...this.excluded].filter(([, agents]) => agents.has(agentId)).map(([commit]) => commit);
  }

  /** Agents whose last word in this job was an infrastructure failure, with the reasons. */
  infraFailures(): ReadonlyMap<string, string> {
    return this.infraAgents;
  }

  /** Commits with a held boot failure: to be tested on another agent first, so that they count or are dropped. */
  heldCommits(): string[] {
    return [...new Set([...this.held.keys(), ...this.incomplete.keys()])];
  }

  /** Held boot failures of a commit (for the message when the bad commit cannot be booted). */
  bootFailuresOf(commit: string): Verdict[] {
    return [...(this.held.get(commit)?.values() ?? [])];
  }

  private exclude(commit: string, agentId: string): void {
    const set = this.excluded.get(commit) ?? new Set<string>();
    set.add(agentId);
    this.excluded.set(commit, set);
  }
}
