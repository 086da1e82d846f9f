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
