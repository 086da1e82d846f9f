/**
 * The Repo port over the coordinator's bare git mirror of a job's repository. Every git read a
 * job needs is here: refs, the candidate range (one streamed rev-list, dag-loader.ts), release
 * tags, the culprit's facts.
 */
import { git, resolveCommit } from '../shared/git.js';
import { AmbiguousCommitTitleError, InvalidJobError, UnknownCommitTitleError } from '../shared/errors.js';
import type { MirrorSet } from '../shared/mirror.js';
import type { Verdict } from '../shared/proto.js';
import { culpritFacts, readCommit } from './culprit-facts.js';
import { loadCandidateDag } from './dag-loader.js';
import { WALK_TAG, type ReleaseTag } from './job-run/release-walk.js';
import type { CandidateRange, CommitFacts, LoadRangeOptions, Repo, RepoSource } from './repo.js';

export class GitRepo implements Repo {
  constructor(readonly mirror: string) {}

  resolve(ref: string, field: string): Promise<string> {
    return resolveCommit(this.mirror, ref, field);
  }

  async findByTitle(title: string, field: string): Promise<string> {
    // --grep matches any line of the message: keep the commits whose subject is the title itself.
    const r = await git(this.mirror, ['log', '--all', '--fixed-strings', `--grep=${title}`, '--format=%H%x00%s']);
    const hits = [...new Set(r.stdout.split('\n').flatMap((line) => {
      const [hash, subject] = line.split('\0');
      return hash && subject === title ? [hash] : [];
    }))];
    if (hits.length === 0) throw new UnknownCommitTitleError(field, title, { hint: 'check the title against `git log --oneline`, or give the commit\'s current hash' });
    if (hits.length > 1) throw new AmbiguousCommitTitleError(field, title, hits);
    return hits[0]!;
  }

  async mergeBase(a: string, b: string): Promise<string> {
    const r = await git(this.mirror, ['merge-base', '--end-of-options', a, b], { check: false });
    const hash = r.stdout.trim().split('\n')[0] ?? '';
    if (r.code !== 0 || !/^[0-9a-f]{40,64}$/.test(hash)) throw new InvalidJobError('good', `${a.slice(0, 12)} and ${b.slice(0, 12)} share no history: no merge base to start from`);
    return hash;
  }

  loadRange(bad: string, goods: readonly string[], opts: LoadRangeOptions): Promise<CandidateRange> {
    return loadCandidateDag(this.mirror, bad, [...goods], { firstParent: opts.firstParent });
  }

  async releaseTags(bad: string, oldest: string): Promise<ReleaseTag[]> {
    const r = await git(this.mirror, ['tag', '--merged', bad, '--sort=-v:refname', '--format=%(refname:strip=2) %(objectname) %(*objectname)']);
    const out: ReleaseTag[] = [];
    let sawOldest = oldest === '';
    for (const line of r.stdout.split('\n')) {
      const [tag, obj, peeled] = line.split(' ');
      if (!tag || !obj || !WALK_TAG.test(tag)) continue;
      const commit = peeled || obj;
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

  async culpritFacts(commit: string, verdicts: readonly Verdict[]): Promise<CommitFacts> {
    const read = await readCommit(this.mirror, commit);
    const facts = await culpritFacts(this.mirror, read, verdicts);
    return { info: read.info, parents: facts.parents, recipients: facts.recipients, flags: facts.flags };
  }
}

/** Repos from the coordinator's mirrors: each open fetches what the job needs first. */
export function gitRepos(mirrors: MirrorSet): RepoSource {
  return {
    async open(repoUrl, opts) {
      const mirror = await mirrors.ensure(repoUrl, { refresh: opts.refresh, wanted: opts.wanted.filter(Boolean) });
      return new GitRepo(mirror);
    },
  };
}
