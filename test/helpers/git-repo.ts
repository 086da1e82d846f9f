/**
 * Real git repositories for tests and benchmarks, made in one `git fast-import` (thousands of
 * commits in well under a second) with fixed names and dates, so the hashes are the same on
 * every run: a linear history, or a kernel-like mainline with topic branches merged in (the
 * shapes of coordinator/engine/synthetic.ts). Each ordinary commit adds its own file; a merge
 * carries the files of the branch it merges. With `plant`, that commit also adds the file
 * `BUG`, so exactly its descendants have it:
 *
 *   const repo = await makeRepo({ commits: 500, merges: 60, seed: 3, plant: 217 });
 *   ... git bisect run sh -c 'test ! -e BUG' ...
 *   await repo.dispose();
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linearShape, mergeHeavyShape, type Shape } from '../../coordinator/engine/synthetic.js';
import { git, gitWithInput } from '../../shared/git.js';

export interface RepoOptions {
  /** Commits in all, the root and the merges included. */
  commits: number;
  /** Merge commits (default 0: a linear history). */
  merges?: number;
  /** Shape seed (default 1). */
  seed?: number;
  /** Node id (1..commits-1) of the commit that adds the file BUG. */
  plant?: number;
  /** Where to make it (default: a new temporary directory, removed by dispose()). */
  dir?: string;
}

export interface Repo {
  dir: string;
  /** Full hashes by node id: 0 is the root, the last one the tip of main. */
  hashes: string[];
  /** Parents by node id (first parent first). */
  parents: Shape;
  /** The root commit (a natural good commit). */
  good: string;
  /** The tip of main (a natural bad commit). */
  bad: string;
  /** The commit that added BUG, when planted. */
  culprit?: string;
  /** Node ids of the commits that are not merges (the root excluded). */
  nonMerges: number[];
  dispose(): Promise<void>;
}

const IDENT = 'Multisect Test <test@multisect.invalid>';
const EPOCH = 1_700_000_000;
export const MALLOC_ENV = { MALLOC_TOP_PAD_: String(64 << 20), MALLOC_TRIM_THRESHOLD_: String(2 ** 32 - 1) };

function data(s: string): string {
  return `data ${Buffer.byteLength(s)}\n${s}\n`;
}

/** The file an ordinary commit adds (nested, so no tree gets huge). */
function fileOf(i: number): string {
  return `c/${(i >> 6).toString(16)}/${(i & 63).toString(16)}`;
}

export async function makeRepo(o: RepoOptions): Promise<Repo> {
  const merges = o.merges ?? 0;
  const shape = merges > 0 ? mergeHeavyShape({ commits: o.commits, merges, seed: o.seed ?? 1 }) : linearShape(o.commits);
  if (o.plant !== undefined && (!Number.isInteger(o.plant) || o.plant < 1 || o.plant >= shape.length)) {
    throw new Error(`makeRepo: plant must be a commit id from 1 to ${shape.length - 1}, got ${o.plant}`);
  }
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'multisect-repo-')));
  const owned = o.dir === undefined;
  try {
    await git(dir, ['init', '-q', '-b', 'main']);
    const anc = (x: number): Set<number> => {
      const s = new Set<number>([x]);
      const stack = [x];
      while (stack.length > 0) {
        for (const p of shape[stack.pop()!]!) {
          if (!s.has(p)) {
            s.add(p);
            stack.push(p);
          }
        }
      }
      return s;
    };
    let stream = '';
    for (let i = 0; i < shape.length; i++) {
      const ps = shape[i]!;
      const when = `${EPOCH + i * 60} +0000`;
      const subject = ps.length > 1 ? `Merge branch into main (${i})` : i === 0 ? 'root' : `change ${i}`;
      stream += `commit refs/heads/main\nmark :${i + 1}\nauthor ${IDENT} ${when}\ncommitter ${IDENT} ${when}\n${data(subject)}`;
      if (ps.length > 0) stream += `from :${ps[0]! + 1}\n`;
      for (const p of ps.slice(1)) stream += `merge :${p + 1}\n`;
      const files: number[] = [];
      if (ps.length <= 1) files.push(i);
      else {
        // A merge brings the files of what it merges (the first parent's tree is the base).
        const base = anc(ps[0]!);
        const brought = new Set<number>();
        for (const p of ps.slice(1)) for (const v of anc(p)) if (!base.has(v)) brought.add(v);
        for (const v of [...brought].sort((a, b) => a - b)) if (shape[v]!.length <= 1) files.push(v);
        if (o.plant !== undefined && brought.has(o.plant)) stream += `M 100644 inline BUG\n${data(`planted by ${o.plant}`)}`;
      }
      for (const f of files) stream += `M 100644 inline ${fileOf(f)}\n${data(`${f}`)}`;
      if (i === o.plant) stream += `M 100644 inline BUG\n${data(`planted by ${o.plant}`)}`;
      stream += '\n';
    }
    const marks = join(dir, '.git', 'multisect-marks');
    // Large malloc padding: fast-import otherwise makes tens of thousands of brk calls, which
    // are slow on some VMs (seconds instead of milliseconds).
    await gitWithInput(dir, ['fast-import', '--quiet', `--export-marks=${marks}`], stream, { env: MALLOC_ENV });
    const hashes: string[] = new Array(shape.length);
    for (const line of (await readFile(marks, 'utf8')).split('\n')) {
      const m = /^:(\d+) ([0-9a-f]+)$/.exec(line);
      if (m) hashes[Number(m[1]) - 1] = m[2]!;
    }
    await rm(marks, { force: true });
    await git(dir, ['checkout', '-q', '-f', 'main']);
    const nonMerges: number[] = [];
    for (let i = 1; i < shape.length; i++) if (shape[i]!.length <= 1) nonMerges.push(i);
    return {
      dir,
      hashes,
      parents: shape,
      good: hashes[0]!,
      bad: hashes[shape.length - 1]!,
      ...(o.plant !== undefined ? { culprit: hashes[o.plant]! } : {}),
      nonMerges,
      dispose: async () => {
        if (owned) await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    if (owned) await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
