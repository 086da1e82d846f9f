/**
 * Real git histories for end-to-end tests and the demo, made with `git fast-import` (thousands
 * of commits in well under a second): a mainline with topic branches merged into it, like the
 * kernel's, and one planted culprit that adds the file `BUG`. Every descendant of the culprit has
 * the file; a test checks for it.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git } from '../../shared/git.js';

export interface HistoryOptions {
  /** Non-merge commits in all (default 500). */
  commits?: number;
  /** PRNG seed (default 1). */
  seed?: number;
  /** Index (0-based, among non-merge commits, in creation order) of the culprit. Default: around 60%. */
  culprit?: number;
  /** Probability that a step opens a topic branch (default 0.08). */
  branchRate?: number;
  /** Where to create it (default a temporary directory). */
  dir?: string;
}

export interface History {
  dir: string;
  /** The root commit: good. */
  good: string;
  /** The final mainline head: bad. */
  bad: string;
  culprit: string;
  culpritSubject: string;
  commits: number;
  merges: number;
  dispose(): Promise<void>;
}

function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

interface Branch {
  name: string;
  head: number; // mark
  files: string[]; // files created on the branch since it forked
}

export async function makeHistory(options: HistoryOptions = {}): Promise<History> {
  const total = options.commits ?? 500;
  const rand = prng(options.seed ?? 1);
  const culpritIndex = options.culprit ?? Math.floor(total * 0.6);
  const branchRate = options.branchRate ?? 0.08;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'multisect-history-')));
  await git(dir, ['init', '-q', '-b', 'main']);

  const out: string[] = [];
  let mark = 0;
  let time = 1_700_000_000;
  let made = 0;
  let merges = 0;
  let culpritSubject = '';
  const main: Branch = { name: 'main', head: 0, files: [] };
  const open: Branch[] = [];
  let branchCount = 0;

  const commit = (b: Branch, subject: string, files: Array<[string, string]>, mergeFrom?: number): number => {
    mark += 1;
    time += 60;
    out.push(`commit refs/heads/${b.name}`, `mark :${mark}`, `author Dev ${mark % 7} <dev${mark % 7}@example.org> ${time} +0000`, `committer Dev ${mark % 7} <dev${mark % 7}@example.org> ${time} +0000`);
    const msg = `${subject}\n`;
    out.push(`data ${Buffer.byteLength(msg)}`, msg.trimEnd());
    if (b.head) out.push(`from :${b.head}`);
    if (mergeFrom) out.push(`merge :${mergeFrom}`);
    for (const [path, content] of files) out.push(`M 100644 inline ${path}`, `data ${Buffer.byteLength(content)}`, content);
    out.push('');
    b.head = mark;
    return mark;
  };

  const plain = (b: Branch): void => {
    const path = `src/${b.name === 'main' ? 'core' : b.name}/f${made}.c`;
    const files: Array<[string, string]> = [[path, `int f${made}(void) { return ${made}; }\n`]];
    let subject = `${b.name === 'main' ? 'core' : b.name}: change ${made}`;
    if (made === culpritIndex) {
      files.push(['BUG', 'planted regression\n']);
      subject = `${b.name === 'main' ? 'core' : b.name}: rework the fast path (${made})`;
    }
    commit(b, subject, files);
    if (b !== main) b.files.push(...files.map(([p]) => p));
    if (made === culpritIndex) culpritSubject = subject;
    made += 1;
  };

  /** The files a branch wrote, with the same contents, for its merge commit's tree. */
  const branchFiles = (b: Branch): Array<[string, string]> =>
    b.files.map((p) => {
      const m = /f(\d+)\.c$/.exec(p);
      return [p, m ? `int f${m[1]}(void) { return ${m[1]}; }\n` : 'planted regression\n'];
    });

  plain(main); // the root: good
  while (made < total) {
    const r = rand();
    if (r < branchRate && open.length < 6) {
      branchCount += 1;
      const b: Branch = { name: `topic${branchCount}`, head: main.head, files: [] };
      open.push(b);
      plain(b);
    } else if (r < branchRate + 0.08 && open.length > 0) {
      const idx = Math.floor(rand() * open.length);
      const b = open.splice(idx, 1)[0]!;
      commit(main, `Merge branch '${b.name}'`, branchFiles(b), b.head);
      merges += 1;
    } else if (open.length > 0 && rand() < 0.5) {
      plain(open[Math.floor(rand() * open.length)]!);
    } else {
      plain(main);
    }
  }
  // Merge what is still open so every commit is reachable from main.
  for (const b of open.splice(0)) {
    commit(main, `Merge branch '${b.name}'`, branchFiles(b), b.head);
    merges += 1;
  }
  out.push('done', '');

  await new Promise<void>((resolve, reject) => {
    const child = spawn('git', ['fast-import', '--quiet', '--done'], { cwd: dir, stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`git fast-import failed: ${err}`))));
    child.stdin.end(out.join('\n'));
  });
  await git(dir, ['checkout', '-q', '-f', 'main']);
  const bad = (await git(dir, ['rev-parse', 'main'])).stdout.trim();
  const good = (await git(dir, ['rev-list', '--max-parents=0', 'main'])).stdout.trim().split('\n')[0]!;
  const culprit = (await git(dir, ['log', '--all', '--format=%H', '--fixed-strings', `--grep=${culpritSubject}`])).stdout.trim().split('\n')[0]!;
  return {
    dir,
    good,
    bad,
    culprit,
    culpritSubject,
    commits: made,
    merges,
    dispose: async () => {
      if (!options.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
