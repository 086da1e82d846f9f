/**
 * The Repo port over a history held in memory, for tests: the same answers and the same errors
 * as the git implementation (repo-git.ts, dag-loader.ts) for histories made of commits, branches
 * and tags, with no git process.
 */
import { AmbiguousCommitTitleError, InvalidJobError, UnknownCommitTitleError } from '../shared/errors.js';
import { CommitInfo, type Verdict } from '../shared/proto.js';
import { WALK_TAG, type ReleaseTag } from './job-run/release-walk.js';
import type { CandidateRange, CommitFacts, LoadRangeOptions, Repo } from './repo.js';

export interface MemoryCommit {
  hash: string;
  /** Parents, first parent first. */
  parents: string[];
  subject: string;
  authorEmail?: string;
}

export interface MemoryHistory {
  /** Parents before children. */
  commits: MemoryCommit[];
  branches?: Record<string, string>;
  tags?: ReleaseTag[];
}

const RELEASE_TAG = /^v\d+\.\d+(\.\d+)?$/;

export class MemoryRepo implements Repo {
  private readonly commits = new Map<string, MemoryCommit>();
  private readonly order = new Map<string, number>();
  /** Calls per method: tests check that the history is read once. */
  readonly calls = { resolve: 0, loadRange: 0, releaseTags: 0, culpritFacts: 0, findByTitle: 0, mergeBase: 0 };

  constructor(readonly history: MemoryHistory) {
    history.commits.forEach((c, i) => {
      for (const p of c.parents) if (!this.commits.has(p)) throw new Error(`memory repo: ${c.hash} comes before its parent ${p}`);
      this.commits.set(c.hash, c);
      this.order.set(c.hash, i);
    });
  }

  async resolve(ref: string, field: string): Promise<string> {
    this.calls.resolve++;
    return this.resolveNow(ref, field);
  }

  private resolveNow(ref: string, field: string): string {
    if (ref.trim() === '' || ref.startsWith('-')) throw new InvalidJobError(field, `${JSON.stringify(ref)} is not a valid ref`);
    const hit = this.history.branches?.[ref] ?? this.history.tags?.find((t) => t.tag === ref)?.commit ?? (this.commits.has(ref) ? ref : undefined);
    if (hit === undefined) throw new InvalidJobError(field, `unknown revision ${JSON.stringify(ref)} in memory`);
    return hit;
  }

  async findByTitle(title: string, field: string): Promise<string> {
    this.calls.findByTitle++;
    const hits = this.history.commits.filter((c) => c.subject === title).map((c) => c.hash);
    if (hits.length === 0) throw new UnknownCommitTitleError(field, title, { hint: 'check the title against `git log --oneline`, or give the commit\'s current hash' });
    if (hits.length > 1) throw new AmbiguousCommitTitleError(field, title, hits);
    return hits[0]!;
  }

  /** The newest common ancestor (git picks one of the best ones too when there are several). */
  async mergeBase(a: string, b: string): Promise<string> {
    this.calls.mergeBase++;
    const [x, y] = [this.resolveNow(a, 'bad'), this.resolveNow(b, 'good')];
    const theirs = this.ancestors(y);
    const common = [...this.ancestors(x)].filter((h) => theirs.has(h));
    if (common.length === 0) throw new InvalidJobError('good', `${a.slice(0, 12)} and ${b.slice(0, 12)} share no history: no merge base to start from`);
    return common.sort((p, q) => (this.order.get(q) ?? 0) - (this.order.get(p) ?? 0))[0]!;
  }

  /** Ancestors-or-self of `hash` (following only first parents when asked). */
  ancestors(hash: string, firstParent = false): Set<string> {
    const out = new Set<string>();
    const stack = [hash];
    while (stack.length > 0) {
      const h = stack.pop() as string;
      if (out.has(h)) continue;
      out.add(h);
      const ps = this.commits.get(h)?.parents ?? [];
      stack.push(...(firstParent ? ps.slice(0, 1) : ps));
    }
    return out;
  }

  async loadRange(bad: string, goods: readonly string[], opts: LoadRangeOptions): Promise<CandidateRange> {
    this.calls.loadRange++;
    if (goods.length === 0) throw new InvalidJobError('good', 'at least one good commit is needed', { hint: 'give the last commit known not to crash (in fix mode: known to crash)' });
    const badHash = this.resolveNow(bad, 'bad');
    const goodHashes = [...new Set(goods.map((g) => this.resolveNow(g, 'good')))];
    const badAnc = this.ancestors(badHash);
    for (const [i, g] of goodHashes.entries()) {
      if (g === badHash) throw new InvalidJobError('good', `good ${JSON.stringify(goods[i])} is the bad commit itself: the range is empty`);
      if (badAnc.has(g)) continue;
      const shared = [...this.ancestors(g)].filter((h) => badAnc.has(h));
      if (shared.length === 0) throw new InvalidJobError('good', `good ${JSON.stringify(goods[i])} and bad ${JSON.stringify(bad)} share no history`);
      if (this.ancestors(g).has(badHash)) throw new InvalidJobError('good', `good ${JSON.stringify(goods[i])} is a descendant of bad ${JSON.stringify(bad)}: the range is empty`);
      throw new InvalidJobError('good', `good ${JSON.stringify(goods[i])} is not an ancestor of bad ${JSON.stringify(bad)}`);
    }
    const excluded = new Set<string>();
    for (const g of goodHashes) for (const h of this.ancestors(g)) excluded.add(h);
    const hashes = [...this.ancestors(badHash, opts.firstParent)].filter((h) => !excluded.has(h)).sort((a, b) => (this.order.get(a) ?? 0) - (this.order.get(b) ?? 0));
    if (hashes.length === 0) throw new InvalidJobError('bad', `the range is empty: bad ${JSON.stringify(bad)} is reachable from a good commit`);
    const id = new Map(hashes.map((h, i) => [h, i]));
    const raw = hashes.map((h) => this.commit(h).parents);
    return {
      hashes,
      parents: raw.map((ps) => (opts.firstParent ? ps.slice(0, 1) : ps).flatMap((p) => (id.has(p) ? [id.get(p) as number] : []))),
      parentCount: raw.map((ps) => ps.length),
      subjects: hashes.map((h) => this.commit(h).subject),
      parentHashes: raw.map((ps) => [...ps]),
      bad: id.get(badHash) as number,
      goods: goodHashes,
    };
  }

  async releaseTags(bad: string, oldest: string): Promise<ReleaseTag[]> {
    this.calls.releaseTags++;
    const anc = this.ancestors(bad);
    const version = (t: string) => t.slice(1).split('.').map(Number);
    const tags = (this.history.tags ?? [])
      .filter((t) => WALK_TAG.test(t.tag) && anc.has(t.commit) && t.commit !== bad)
      .sort((a, b) => {
        const [x, y] = [version(a.tag), version(b.tag)];
        return (y[0] ?? 0) - (x[0] ?? 0) || (y[1] ?? 0) - (x[1] ?? 0);
      });
    if (oldest === '') return tags;
    const at = tags.findIndex((t) => t.tag === oldest);
    if (at < 0) throw new InvalidJobError('policy.oldest_release', `${JSON.stringify(oldest)} is not a release tag (vX.Y) older than bad`);
    return tags.slice(0, at + 1);
  }

  async culpritFacts(commit: string, verdicts: readonly Verdict[]): Promise<CommitFacts> {
    this.calls.culpritFacts++;
    const c = this.commit(commit);
    const flags: string[] = [];
    if (c.parents.length > 1) flags.push('the culprit is a merge commit');
    const release = (this.history.tags ?? []).filter((t) => t.commit === commit && RELEASE_TAG.test(t.tag)).map((t) => t.tag);
    if (release.length) flags.push(`the culprit carries a release tag (${release.join(', ')})`);
    const artifact = (h: string) => verdicts.find((v) => v.commit === h && v.build?.artifactHash)?.build?.artifactHash;
    const mine = artifact(commit);
    if (mine && c.parents.some((p) => artifact(p) === mine)) flags.push('the culprit built the same artifact as its parent: the change cannot have caused the crash');
    const email = c.authorEmail ?? 'dev@example.org';
    return {
      info: CommitInfo.fromPartial({ hash: c.hash, subject: c.subject, author: 'A. Developer', authorEmail: email, merge: c.parents.length > 1 }),
      parents: [...c.parents],
      recipients: [email],
      flags,
    };
  }

  private commit(hash: string): MemoryCommit {
    const c = this.commits.get(hash);
    if (!c) throw new InvalidJobError('commit', `unknown commit ${hash}`);
    return c;
  }
}
