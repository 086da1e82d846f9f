/**
 * Cause bisection without a good commit: test release tags (vX.Y, no -rc) going back from the
 * bad commit, several at once across the farm, until one is clean. The newest clean tag whose
 * newer tags all crashed (or could not be tested) becomes the good commit.
 */
import { git } from '../shared/git.js';
import { InvalidJobError } from '../shared/errors.js';

export const WALK_TAG = /^v\d+\.\d+$/;

export interface ReleaseTag {
  tag: string;
  commit: string;
}

export type WalkOutcome = 'crashed' | 'clean' | 'skipped';

/** Release tags that are ancestors of `bad` (not bad itself), newest first, down to `oldest`. */
export async function releaseTags(mirror: string, bad: string, oldest: string): Promise<ReleaseTag[]> {
  const r = await git(mirror, ['tag', '--merged', bad, '--sort=-v:refname', '--format=%(refname:strip=2) %(objectname) %(*objectname)']);
  const out: ReleaseTag[] = [];
  let sawOldest = oldest === '';
  for (const line of r.stdout.split('\n')) {
    const [tag, obj, peeled] = line.split(' ');
    if (!tag || !WALK_TAG.test(tag)) continue;
    const commit = peeled || obj!;
    if (commit === bad) continue;
    out.push({ tag, commit });
    if (tag === oldest) {
      sawOldest = true;
      break;
    }
  }
  if (!sawOldest) throw new InvalidJobError('policy.oldest_release', `${JSON.stringify(oldest)} is not a release tag (vX.Y) older than bad`);
  return out;
}

export class ReleaseWalk {
  private readonly results = new Map<string, WalkOutcome>();

  constructor(readonly tags: readonly ReleaseTag[]) {}

  record(commit: string, outcome: WalkOutcome): void {
    if (this.tags.some((t) => t.commit === commit)) this.results.set(commit, outcome);
  }

  /** The newest tag not tested and not in flight. */
  next(inFlight: readonly string[]): string | undefined {
    return this.tags.find((t) => !this.results.has(t.commit) && !inFlight.includes(t.commit))?.commit;
  }

  decide(): { kind: 'continue' } | { kind: 'good'; tag: ReleaseTag } | { kind: 'exhausted'; oldest: ReleaseTag | undefined } {
    for (const t of this.tags) {
      const r = this.results.get(t.commit);
      if (r === undefined) return { kind: 'continue' };
      if (r === 'clean') return { kind: 'good', tag: t };
    }
    return { kind: 'exhausted', oldest: this.tags[this.tags.length - 1] };
  }

  summary(): Array<{ tag: string; commit: string; outcome: string }> {
    return this.tags.filter((t) => this.results.has(t.commit)).map((t) => ({ ...t, outcome: this.results.get(t.commit)! }));
  }
}
