/**
 * Loads a candidate DAG from a repository: the commits reachable from bad and from no good
 * commit, in topological order (parents first), from one streamed `git rev-list` process.
 * Refs come from users: they are resolved to full hashes first (never taken for options), and a
 * good commit that is not an ancestor of bad is refused with its merge base in the message, as
 * git bisect would point out.
 */
import { InvalidJobError } from '../shared/errors.js';
import { gitLines, isAncestor, mergeBases, resolveCommit } from '../shared/git.js';
import type { CandidateRange } from './repo.js';

export interface LoadDagOptions {
  /** Follow only first parents (`git bisect --first-parent`): merges stand for their branch. */
  firstParent?: boolean;
  signal?: AbortSignal;
}

/** Subjects and full parent lists come along (CandidateRange): nothing reads the history twice. */
export async function loadCandidateDag(repoDir: string, bad: string, goods: string[], opts: LoadDagOptions = {}): Promise<CandidateRange> {
  if (goods.length === 0) throw new InvalidJobError('good', 'at least one good commit is needed', { hint: 'give the last commit known not to crash (in fix mode: known to crash)' });
  const badHash = await resolveCommit(repoDir, bad, 'bad');
  const goodHashes: string[] = [];
  for (const g of goods) {
    const h = await resolveCommit(repoDir, g, 'good');
    if (!goodHashes.includes(h)) goodHashes.push(h);
  }
  for (const [i, g] of goodHashes.entries()) {
    if (g === badHash) {
      throw new InvalidJobError('good', `good ${JSON.stringify(goods[i])} is the bad commit itself: the range is empty`, { hint: 'give an older good commit' });
    }
    if (await isAncestor(repoDir, g, badHash)) continue;
    const bases = await mergeBases(repoDir, g, badHash);
    if (bases.length === 0) {
      throw new InvalidJobError('good', `good ${JSON.stringify(goods[i])} and bad ${JSON.stringify(bad)} share no history`, {
        hint: 'both must be commits of the same project',
      });
    }
    if (bases.includes(badHash)) {
      throw new InvalidJobError('good', `good ${JSON.stringify(goods[i])} is a descendant of bad ${JSON.stringify(bad)}: the range is empty`, {
        hint: 'are --good and --bad swapped? (to find a fix, keep the newer commit as bad and use fix mode)',
      });
    }
    throw new InvalidJobError('good', `good ${JSON.stringify(goods[i])} is not an ancestor of bad ${JSON.stringify(bad)}; their merge base is ${bases.join(', ')}`, {
      hint: `use the merge base as the good commit (git bisect would ask to test it first), or a good commit on bad's history`,
    });
  }
  const args = ['rev-list', '--topo-order', '--reverse', '--no-commit-header', '--format=%H %P%x09%s'];
  if (opts.firstParent) args.push('--first-parent');
  args.push('--end-of-options', badHash, ...goodHashes.map((g) => `^${g}`));
  const hashes: string[] = [];
  const rawParents: string[][] = [];
  const subjects: string[] = [];
  for await (const line of gitLines(repoDir, args, { signal: opts.signal })) {
    if (line === '') continue;
    const tab = line.indexOf('\t');
    const head = tab < 0 ? line : line.slice(0, tab);
    const [h, ...ps] = head.split(' ').filter((x) => x !== '');
    hashes.push(ownCopy(h!));
    rawParents.push(ps);
    subjects.push(tab < 0 ? '' : ownCopy(line.slice(tab + 1)));
  }
  if (hashes.length === 0) {
    throw new InvalidJobError('bad', `the range is empty: bad ${JSON.stringify(bad)} is reachable from a good commit`, {
      hint: 'are --good and --bad swapped, or is the good commit already past the bad one?',
    });
  }
  const id = new Map<string, number>();
  hashes.forEach((h, i) => id.set(h, i));
  // A coordinator holds one range per running job for as long as the job runs: each list is made
  // at its exact length (an array grown by push keeps room for 16 more) and a parent inside the
  // range shares its candidate's hash string (one outside it gets a copy of its own), which keeps
  // a 10,000-commit range at a few MB.
  const parents = rawParents.map((ps) => {
    const use = opts.firstParent ? ps.slice(0, 1) : ps;
    const out: number[] = [];
    for (const p of use) {
      const k = id.get(p);
      if (k !== undefined && !out.includes(k)) out.push(k);
    }
    return out.slice();
  });
  const parentHashes = rawParents.map((ps) =>
    ps.map((p) => {
      const k = id.get(p);
      return k === undefined ? ownCopy(p) : hashes[k]!;
    }),
  );
  const badId = id.get(badHash);
  if (badId === undefined) throw new InvalidJobError('bad', `bad ${JSON.stringify(bad)} is reachable from a good commit`);
  return { hashes, parents, parentCount: rawParents.map((ps) => ps.length), subjects, parentHashes, bad: badId, goods: goodHashes };
}

/**
 * The string as a copy of its own: a slice of git's output would keep the whole chunk it came
 * from alive (V8's sliced strings) for as long as the job runs.
 */
function ownCopy(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}
