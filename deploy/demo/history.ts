/**
 * Generated git histories for the demo and the tests, made with `git fast-import` (thousands of
 * commits in well under a second): a mainline with topic branches merged into it, like the
 * kernel's, and one planted culprit that adds the file `BUG`. Every descendant of the culprit has
 * the file; the demo's reproducer checks for it.
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
  /** Index (0-based, among non-merge commits, in creation order) of the culprit. Default: at 60%. */
  culprit?: number;
  /** Probability that a step opens a topic branch (default 0.08). */
  branchRate?: number;
  /** Where to create it (default a temporary directory, removed by dispose()). */
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

/** xorshift32: small, seedable, good enough to shape a history. */
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
  /** fast-import mark of the branch head (0 = none yet). */
  head: number;
  /** Files created on the branch since it forked: its merge commit adds them to the mainline tree. */
  files: string[];
}

const fileContent = (index: number): string => `int f${index}(void) { return ${index}; }\n`;
const BUG_CONTENT = 'planted regression\n';

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

  const commit = (b: Branch, subject: string, files: Array<[string, string]>, mergeFrom?: number): void => {
    mark += 1;
    time += 60;
    const who = `Dev ${mark % 7} <dev${mark % 7}@example.org> ${time} +0000`;
    out.push(`commit refs/heads/${b.name}`, `mark :${mark}`, `author ${who}`, `committer ${who}`);
    const msg = `${subject}\n`;
    out.push(`data ${Buffer.byteLength(msg)}`, msg.trimEnd());
    if (b.head) out.push(`from :${b.head}`);
    if (mergeFrom) out.push(`merge :${mergeFrom}`);
    for (const [path, content] of files) out.push(`M 100644 inline ${path}`, `data ${Buffer.byteLength(content)}`, content);
    out.push('');
    b.head = mark;
  };

  const plain = (b: Branch): void => {
    const area = b.name === 'main' ? 'core' : b.name;
    const files: Array<[string, string]> = [[`src/${area}/f${made}.c`, fileContent(made)]];
    let subject = `${area}: change ${made}`;
    if (made === culpritIndex) {
      files.push(['BUG', BUG_CONTENT]);
      subject = `${area}: rework the fast path (${made})`;
      culpritSubject = subject;
    }
    commit(b, subject, files);
    if (b !== main) b.files.push(...files.map(([p]) => p));
    made += 1;
  };

  /** The files a branch wrote, with the same contents, for its merge commit's tree. */
  const branchFiles = (b: Branch): Array<[string, string]> =>
    b.files.map((p) => {
      const m = /f(\d+)\.c$/.exec(p);
      return [p, m ? fileContent(Number(m[1])) : BUG_CONTENT];
    });

  const merge = (b: Branch): void => {
    commit(main, `Merge branch '${b.name}'`, branchFiles(b), b.head);
    merges += 1;
  };

  plain(main); // the root: good
  while (made < total) {
    const r = rand();
    if (r < branchRate && open.length < 6) {
      branchCount += 1;
      const b: Branch = { name: `topic${branchCount}`, head: main.head, files: [] };
      open.push(b);
      plain(b);
    } else if (r < branchRate + 0.08 && open.length > 0) {
      merge(open.splice(Math.floor(rand() * open.length), 1)[0]!);
    } else if (open.length > 0 && rand() < 0.5) {
      plain(open[Math.floor(rand() * open.length)]!);
    } else {
      plain(main);
    }
  }
  // Merge what is still open so every commit is reachable from main.
  for (const b of open.splice(0)) merge(b);
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
