/**
 * Which commit a job tests on a slot the scheduler offers it (pure). The job's phase says what
 * is wanted (the bad commit first, a held boot failure to try again, the next release, the merge
 * base, the culprit and its parents, the engine's probes); host faults bar some commits for some
 * agents; build affinity (affinity.ts) says which of the wanted commits this slot builds
 * cheapest. JobRun only reads the choice and turns it into a probe.
 *
 * It keeps two things across offers, both its own and neither part of the job's record: the
 * bisection probes planned for the current scheduling pass (the engine chooses them jointly for
 * all the slots free at the start of the pass, so the later offers of the pass take from that
 * plan) and the range's topological positions (affinity's distance), built once per range.
 */
import type { ProbePreference } from '../engine/index.js';
import type { HostFaults } from '../host-faults.js';
import type { CandidateRange } from '../repo.js';
import type { RunConfig } from './config.js';
import { AFFINITY_TOLERANCE, commitForSlot, isBestSlotFor, placeCommits, placementCost, slotId, type AffinityContext } from './affinity.js';
import type { Phase, RunEvent, SlotView } from './types.js';

export type SlotOffer = Extract<RunEvent, { type: 'slot-offered' }>;

/** What placement reads of the job: a view made for one offer, never kept. */
export interface PlacementView {
  phase: Phase;
  badHash: string;
  /** The commits of the probes in flight (one entry per probe). */
  inFlight: readonly string[];
  /** Which commits an agent may not get, and which failed to boot elsewhere and wait for another agent. */
  faults: Pick<HostFaults, 'excludedFor' | 'heldCommits'>;
  /** Has the commit a verdict that counts as evidence (not held, not the host's fault)? */
  hasCountedVerdict(commit: string): boolean;
  /** Has the commit a verification verdict of `round` that counts? */
  isVerified(round: number, commit: string): boolean;
}

export class SlotPlacement {
  /** Bisection probes planned jointly for the slots of one scheduling pass. */
  private planned: { pass: number; queue: string[]; placed: Map<string, string> } | undefined;
  /** Positions of the range's commits in topological order (build affinity's distance), made when first needed. */
  private positions: { range: CandidateRange; at: Map<string, number> } | undefined;

  /** The job's build key and parallelism cap (0: none). */
  constructor(private readonly settings: Pick<RunConfig, 'buildKey' | 'parallelismCap'>) {}

  /** What the job wants tested next on the offered slot, in its current phase (undefined: nothing here). */
  commitFor(offer: SlotOffer, job: PlacementView): string | undefined {
    const { agentId, slotsLeft, pass } = offer;
    const pool = offer.pool ?? [];
    const offered = pool[0] ?? { agentId, slot: offer.slot, lastBuilt: new Map(), cached: new Map() };
    const { phase, inFlight } = job;
    // Commits this agent could not boot or had infrastructure failures on go to other agents.
    const barred = job.faults.excludedFor(agentId);
    const allowed = (c: string) => !barred.includes(c);
    const free = (c: string) => allowed(c) && !inFlight.includes(c);
    if (phase.kind !== 'verifying') {
      // The bad commit first: it confirms the crash and tells how reliably it reproduces, and a
      // bad commit that cannot be built or booted ends the job before it bisects.
      const bad = job.badHash;
      // On the slot that builds it best: another slot of the pass may have built it (or near it).
      if (!job.hasCountedVerdict(bad) && free(bad) && isBestSlotFor(bad, offered, pool, this.affinity(phase))) return bad;
      // Then a commit that failed to boot on another agent: it counts (or its agent is at fault) only once tried here.
      const recheck = job.faults.heldCommits().find(free);
      if (recheck) return recheck;
    }
    switch (phase.kind) {
      case 'done':
        return undefined;
      case 'release-walk':
        return phase.walk.next([...inFlight, ...barred]);
      case 'merge-base':
        return phase.step === 'testing' && !job.hasCountedVerdict(phase.mergeBase) && free(phase.mergeBase) ? phase.mergeBase : undefined;
      case 'verifying': {
        // The agents that built these keep their kernels: the slots there rebuild nothing.
        const wanted = [phase.culprit, ...phase.parents].filter((c) => free(c) && !job.isVerified(phase.round, c));
        return commitForSlot(wanted, offered, pool, this.affinity(phase));
      }
      case 'bisecting': {
        if (this.planned?.pass !== pass) {
          const cap = this.settings.parallelismCap || Infinity;
          const count = Math.max(1, Math.min(slotsLeft, cap - inFlight.length));
          const queue = count > 1 ? phase.engine.proposeMany(inFlight, count) : [phase.engine.propose(inFlight, this.preferenceFor(offered, phase))].filter((c): c is string => c !== undefined);
          // Placed once per pass, on the slots free at its start (the engine's choice stays as it is).
          this.planned = { pass, queue, placed: placeCommits(queue, pool, this.affinity(phase)) };
        }
        // Each offer of the pass takes its commit out of the plan, so no two slots get the same one.
        const { queue, placed } = this.planned;
        const mine = placed.get(slotId(offered));
        placed.delete(slotId(offered));
        const elsewhere = new Set(placed.values());
        let at = mine !== undefined && allowed(mine) ? queue.indexOf(mine) : -1;
        if (at < 0) at = queue.findIndex((c) => allowed(c) && !elsewhere.has(c));
        if (at < 0) at = queue.findIndex(allowed);
        if (at >= 0) return queue.splice(at, 1)[0];
        if (barred.length === 0) return undefined;
        // Everything planned is barred for this agent: its own best probe, the barred ones aside.
        const own = phase.engine.propose([...inFlight, ...queue, ...barred]);
        return own !== undefined && allowed(own) ? own : undefined;
      }
    }
  }

  /**
   * One slot free: among the probes nearly as good as the best, the one this slot builds
   * cheapest (several free at once: the engine's joint choice, placed by placeCommits). A slot
   * that never built this key builds every commit from scratch: no preference then.
   */
  private preferenceFor(offered: SlotView, phase: Phase): ProbePreference | undefined {
    const { buildKey } = this.settings;
    if (!offered.lastBuilt.has(buildKey) && !offered.cached.get(buildKey)?.size) return undefined;
    const ctx = this.affinity(phase);
    return { cost: (c) => placementCost(c, offered, ctx), tolerance: AFFINITY_TOLERANCE };
  }

  /** Distances are positions in the range once it is loaded; before that (release walk, merge base), none. */
  private affinity(phase: Phase): AffinityContext {
    const range = phase.kind === 'bisecting' || phase.kind === 'verifying' ? phase.range : undefined;
    if (range && this.positions?.range !== range) this.positions = { range, at: new Map(range.hashes.map((h, i) => [h, i])) };
    const at = range ? this.positions?.at : undefined;
    return { buildKey: this.settings.buildKey, position: (c) => at?.get(c) };
  }
}
