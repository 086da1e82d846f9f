/**
 * The scale benchmark's histories and jobs: real git repositories of 10,000 commits made in one
 * `git fast-import` (test/helpers/git-repo.ts: a kernel-like mainline with topic branches, some
 * with sub-topics, merged into it), each written out as a DAG file the simulated agents read
 * (hash and parents by node id), and jobs planned on them: a range (good on the mainline's
 * older part, bad on its newer part) and a planted culprit, an ordinary commit in the range.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeRepo } from '../../helpers/git-repo.js';

export interface ScaleRepo {
  dir: string;
  /** The DAG file the simulated agents load: {hashes, parents} by node id. */
  dagFile: string;
  hashes: string[];
  parents: number[][];
  /** First-parent chain from the root to the tip (node ids, root first). */
  mainline: number[];
  merges: number;
}

/** What the DAG file holds. */
export interface DagFile {
  hashes: string[];
  parents: number[][];
}

export interface PlannedJob {
  repo: ScaleRepo;
  good: string;
  bad: string;
  culprit: string;
  /** Commits in the range (ancestors of bad, not of good). */
  candidates: number;
}

/** xorshift32, as everywhere else in the project's generators. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

export async function makeScaleRepo(dir: string, commits: number, seed: number): Promise<ScaleRepo> {
  // The kernel's merge rate (12%); mergeHeavyShape spreads the topic lengths exponentially.
  const repo = await makeRepo({ commits, merges: Math.round(commits * 0.12), seed, dir });
  const mainline: number[] = [];
  for (let x: number | undefined = repo.hashes.length - 1; x !== undefined; x = repo.parents[x]![0]) mainline.push(x);
  mainline.reverse();
  const dagFile = join(dir, '..', `dag-${seed}.json`);
  const dag: DagFile = { hashes: repo.hashes, parents: repo.parents };
  await writeFile(dagFile, JSON.stringify(dag));
  return { dir, dagFile, hashes: repo.hashes, parents: repo.parents, mainline, merges: repo.parents.filter((p) => p.length > 1).length };
}

/** anc(x) with x itself, as a mask over node ids. */
function ancestors(parents: number[][], x: number): Uint8Array {
  const m = new Uint8Array(parents.length);
  const stack = [x];
  m[x] = 1;
  while (stack.length > 0) {
    for (const p of parents[stack.pop()!]!) {
      if (!m[p]) {
        m[p] = 1;
        stack.push(p);
      }
    }
  }
  return m;
}

/**
 * `count` jobs over the repositories in turn: the first job on each repository bisects the whole
 * history (root..tip); the others take a good commit in the oldest 30% of the mainline and a bad
 * one in the newest 30%. The culprit is an ordinary (non-merge) commit of the range, never bad
 * itself, so every job has to find it among thousands.
 */
export function planJobs(repos: readonly ScaleRepo[], count: number, seed: number): PlannedJob[] {
  const rand = prng(seed * 7919 + 17);
  const jobs: PlannedJob[] = [];
  for (let j = 0; j < count; j++) {
    const repo = repos[j % repos.length]!;
    const L = repo.mainline.length;
    const whole = j < repos.length;
    const goodId = whole ? repo.mainline[0]! : repo.mainline[Math.floor(rand() * 0.3 * L)]!;
    const badId = whole ? repo.mainline[L - 1]! : repo.mainline[Math.min(L - 1, Math.floor((0.7 + rand() * 0.3) * L))]!;
    const inBad = ancestors(repo.parents, badId);
    const inGood = ancestors(repo.parents, goodId);
    const range: number[] = [];
    for (let x = 0; x < repo.parents.length; x++) if (inBad[x] && !inGood[x]) range.push(x);
    const ordinary = range.filter((x) => x !== badId && repo.parents[x]!.length <= 1);
    const culpritId = ordinary[Math.floor(rand() * ordinary.length)]!;
    jobs.push({ repo, good: repo.hashes[goodId]!, bad: repo.hashes[badId]!, culprit: repo.hashes[culpritId]!, candidates: range.length });
  }
  return jobs;
}
