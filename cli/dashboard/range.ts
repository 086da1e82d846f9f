/**
 * The candidate range of a job in topological order (parents first), for the chart. The
 * coordinator does not send it (OperatorService has no call for it): the dashboard reads it
 * from the job's repository when that is a path readable here (a local farm, a shared mirror),
 * with the same `git rev-list --topo-order --reverse bad ^good...` the coordinator runs, and the
 * release tags in it for the ticks. A URL, or a path it cannot read, gives no range: the chart
 * then shows only the commits the events name.
 */
import { existsSync } from 'node:fs';
import { git, gitLines } from '../../shared/git.js';

export interface CandidateRange {
  hashes: string[];
  subjects: string[];
  /** Parents of each commit by index, within the range (parents come first). */
  parents: number[][];
  index: Map<string, number>;
  /** Release tags on commits of the range: index and name, in range order. */
  tags: { at: number; tag: string }[];
}

/** More than this is not drawn (a whole kernel history given by mistake). */
export const MAX_RANGE = 1_000_000;

export async function loadRange(repo: string, bad: string, goods: readonly string[], firstParent: boolean): Promise<CandidateRange | string> {
  if (!repo.startsWith('/') || !existsSync(repo)) return 'the repository is not a path readable by the dashboard';
  if (!bad || goods.length === 0) return 'the range is not known yet (no good commit resolved)';
  const args = ['rev-list', '--topo-order', '--reverse', '--no-commit-header', '--format=%H %P%x09%s', `--max-count=${MAX_RANGE + 1}`];
  if (firstParent) args.push('--first-parent');
  args.push('--end-of-options', bad, ...goods.map((g) => `^${g}`));
  const hashes: string[] = [];
  const subjects: string[] = [];
  const rawParents: string[][] = [];
  try {
    for await (const line of gitLines(repo, args)) {
      if (!line) continue;
      const tab = line.indexOf('\t');
      const [h, ...ps] = (tab < 0 ? line : line.slice(0, tab)).split(' ').filter(Boolean);
      hashes.push(h!);
      rawParents.push(ps);
      subjects.push(tab < 0 ? '' : line.slice(tab + 1));
    }
  } catch (err) {
    return `git rev-list failed: ${(err as Error).message.split('\n')[0]}`;
  }
  if (hashes.length > MAX_RANGE) return `the range has more than ${MAX_RANGE} commits`;
  const index = new Map<string, number>();
  hashes.forEach((h, i) => index.set(h, i));
  const parents = rawParents.map((ps) => (firstParent ? ps.slice(0, 1) : ps).map((p) => index.get(p)).filter((x): x is number => x !== undefined));
  const tags: { at: number; tag: string }[] = [];
  const refs = await git(repo, ['for-each-ref', '--format=%(refname:short) %(objectname) %(*objectname)', 'refs/tags'], { check: false, timeoutMs: 30_000 });
  for (const line of refs.stdout.split('\n')) {
    const [tag, obj, peeled] = line.split(' ');
    const at = index.get(peeled || obj || '');
    if (tag && at !== undefined) tags.push({ at, tag });
  }
  tags.sort((a, b) => a.at - b.at);
  return { hashes, subjects, parents, index, tags };
}
