/**
 * Fair share: a free slot goes to the job with the fewest probes in flight, then to the one
 * served least recently, then to the oldest. A long job cannot starve a new one: as soon as a
 * slot frees up, the newcomer (with nothing in flight) is first in line.
 */
export interface SchedulableJob {
  id: string;
  inFlight: number;
  lastServedMs: number;
  createdMs: number;
}

export function pickJob(jobs: readonly SchedulableJob[]): string | undefined {
  let best: SchedulableJob | undefined;
  for (const j of jobs) {
    if (
      !best ||
      j.inFlight < best.inFlight ||
      (j.inFlight === best.inFlight && (j.lastServedMs < best.lastServedMs || (j.lastServedMs === best.lastServedMs && j.createdMs < best.createdMs)))
    ) {
      best = j;
    }
  }
  return best?.id;
}

/**
 * Which free slot a job takes (build affinity, before the job places its commits): one whose
 * build directory built with the job's build key (an incremental build), then one that built
 * nothing (a build from scratch, with ccache's help), last one that holds another job's build
 * (a different config: that slot's warm state is lost to a build from scratch). Ties keep the
 * order given, which spreads consecutive assignments across hosts. `lastBuilt`: per slot, build
 * key → commit.
 */
export function pickSlot(lastBuilt: ReadonlyArray<ReadonlyMap<string, string>>, buildKey: string): number {
  let best = -1;
  let bestRank = Infinity;
  lastBuilt.forEach((m, i) => {
    const rank = m.has(buildKey) ? 0 : m.size === 0 ? 1 : 2;
    if (rank < bestRank) {
      best = i;
      bestRank = rank;
    }
  });
  return best;
}
