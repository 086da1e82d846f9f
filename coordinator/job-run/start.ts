/**
 * How a job starts, asked of the Repo port (the same at submission and after a restart): the bad
 * commit resolved, then the range between it and the good commits, or the release tags to walk
 * when a cause job has no good commit, or the merge base to test first in a cross-tree fix job.
 * After a restart a walk job walks again, through the replay of its verdicts, so its report still
 * lists the releases it tested.
 */
import { InvalidJobError } from '../../shared/errors.js';
import { short } from '../../shared/job-log.js';
import { Mode, type Job } from '../../shared/proto.js';
import type { Repo } from '../repo.js';
import type { RunStart } from './job-run.js';

export type StartRepo = Pick<Repo, 'resolve' | 'loadRange' | 'releaseTags' | 'findByTitle' | 'mergeBase'>;

export async function startOf(job: Job, repo: StartRepo): Promise<RunStart> {
  const spec = job.spec;
  if (!spec) throw new InvalidJobError('spec', 'a job needs a spec');
  // Resolved once, at submission: the record keeps the hash (and the note saying how it was found).
  if (!job.badHash) job.badHash = await resolveRef(repo, spec.bad, spec.badTitle, 'bad', job.refNotes);
  // Resolved good hashes are kept from submission on (a branch named as good may move since).
  let goods = spec.goods;
  if (spec.goods.length === 0) goods = [];
  else if (job.goodHashes.length) goods = job.goodHashes;
  else if (spec.goodTitles.some(Boolean)) {
    goods = [];
    for (const [i, g] of spec.goods.entries()) goods.push(spec.goodTitles[i] ? await resolveRef(repo, g, spec.goodTitles[i]!, 'good', job.refNotes) : g);
  }
  if (goods.length === 0 && spec.mode !== Mode.MODE_FIX) {
    const tags = await repo.releaseTags(job.badHash, spec.policy?.oldestRelease ?? '');
    if (tags.length === 0) {
      throw new InvalidJobError('good', 'no good commit given and no release tag (vX.Y) older than bad to start from', { hint: 'give --good REF: the last commit known not to crash' });
    }
    return { kind: 'release-walk', tags };
  }
  if (spec.crossTree && goods[0] !== undefined) {
    const start = await repo.resolve(goods[0], 'good');
    const mergeBase = await repo.mergeBase(job.badHash, start);
    if (mergeBase === job.badHash) {
      throw new InvalidJobError('bad', `the upstream tip ${short(job.badHash)} is already in the history of the branch commit ${short(start)}: there is no upstream range to search`, {
        hint: 'give a newer upstream commit as --bad',
      });
    }
    // The branch commit is an ancestor of the tip after all: an ordinary fix job.
    if (mergeBase !== start) return { kind: 'cross-tree', mergeBase, start };
    goods = [start];
  }
  const range = await repo.loadRange(job.badHash, goods, { firstParent: spec.policy?.firstParent ?? false });
  return { kind: 'range', range };
}

/**
 * A ref as a hash; when the ref is unknown and the job names the commit's title, the commit with
 * that title (a rebased tree rewrote its hash), with a note for the job log.
 */
async function resolveRef(repo: StartRepo, ref: string, title: string, field: string, notes: string[]): Promise<string> {
  try {
    return await repo.resolve(ref, field);
  } catch (err) {
    if (!(err instanceof InvalidJobError)) throw err;
    if (!title) throw new InvalidJobError(field, err.message.slice(err.field.length + 2), { cause: err, hint: `${err.hint ?? ''}${err.hint ? '; ' : ''}if the tree was rebased since, name the commit's title too (--${field}-title)` });
    const hash = await repo.findByTitle(title, `${field}_title`);
    notes.push(`${field} ${JSON.stringify(ref)} is not in the repository (rewritten since?): found by its title ${JSON.stringify(title)} as ${short(hash)}`);
    return hash;
  }
}
