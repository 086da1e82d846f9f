/**
 * How a job starts, asked of the Repo port (the same at submission and after a restart): the bad
 * commit resolved, then the range between it and the good commits, or the release tags to walk
 * when a cause job has no good commit. After a restart a walk job walks again, through the replay
 * of its verdicts, so its report still lists the releases it tested.
 */
import { InvalidJobError } from '../../shared/errors.js';
import { Mode, type Job } from '../../shared/proto.js';
import type { Repo } from '../repo.js';
import type { RunStart } from './job-run.js';

export async function startOf(job: Job, repo: Pick<Repo, 'resolve' | 'loadRange' | 'releaseTags'>): Promise<RunStart> {
  const spec = job.spec;
  if (!spec) throw new InvalidJobError('spec', 'a job needs a spec');
  job.badHash = job.badHash || (await repo.resolve(spec.bad, 'bad'));
  // Resolved good hashes are kept from submission on (a branch named as good may move since).
  const goods = spec.goods.length === 0 ? [] : job.goodHashes.length ? job.goodHashes : spec.goods;
  if (goods.length === 0 && spec.mode !== Mode.MODE_FIX) {
    const tags = await repo.releaseTags(job.badHash, spec.policy?.oldestRelease ?? '');
    if (tags.length === 0) {
      throw new InvalidJobError('good', 'no good commit given and no release tag (vX.Y) older than bad to start from', { hint: 'give --good REF: the last commit known not to crash' });
    }
    return { kind: 'release-walk', tags };
  }
  const range = await repo.loadRange(job.badHash, goods, { firstParent: spec.policy?.firstParent ?? false });
  return { kind: 'range', range };
}
