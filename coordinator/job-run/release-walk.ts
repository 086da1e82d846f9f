/**
 * Cause bisection without a good commit (pure state): release tags (vX.Y) going back from the bad
 * commit are tested, several at once, until one is clean. The newest clean tag whose newer tags
 * all crashed (or could not be tested) becomes the good commit. The tags come from the Repo port.
 */
import type { WalkOutcome } from './evidence.js';

export const WALK_TAG = /^v\d+\.\d+$/;

export interface ReleaseTag {
  tag: string;
  commit: string;
}

/** `oldestSkipped`: the oldest release could not be tested (the walk cannot tell where the bug came in). */
export type WalkDecision = { kind: 'continue' } | { kind: 'good'; tag: ReleaseTag } | { kind: 'exhausted'; oldest: ReleaseTag | undefined; oldestSkipped: boolean };

export class ReleaseWalk {
  private readonly results = new Map<string, WalkOutcome>();

  constructor(readonly tags: readonly ReleaseTag[]) {}

  record(commit: string, outcome: WalkOutcome): void {
    if (this.tags.some((t) => t.commit === commit)) this.results.set(commit, outcome);
  }

  /** The newest tag not tested and not in flight (or barred for the agent asking). */
  next(notNow: readonly string[]): string | undefined {
    return this.tags.find((t) => !this.results.has(t.commit) && !notNow.includes(t.commit))?.commit;
  }

  decide(): WalkDecision {
    for (const t of this.tags) {
      const r = this.results.get(t.commit);
      if (r === undefined) return { kind: 'continue' };
      if (r === 'clean') return { kind: 'good', tag: t };
    }
    const oldest = this.tags[this.tags.length - 1];
    return { kind: 'exhausted', oldest, oldestSkipped: oldest !== undefined && this.results.get(oldest.commit) === 'skipped' };
  }

  summary(): Array<{ tag: string; commit: string; outcome: string }> {
    return this.tags.flatMap((t) => {
      const outcome = this.results.get(t.commit);
      return outcome === undefined ? [] : [{ ...t, outcome }];
    });
  }
}
