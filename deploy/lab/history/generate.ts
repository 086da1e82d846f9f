/**
 * Writes a generated lab history into a new git repository with one `git fast-import` (fast and,
 * with fixed dates and authors, bit-for-bit deterministic: the same seed gives the same hashes).
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { git } from '../../../shared/git.js';
import { BUG_FUNCTION, BUG_SUBJECT, type BugKind } from './bugs.js';
import { renderTree } from './render.js';
import { createRng } from './rng.js';
import { initialState, mergeState, mutateMain, mutateTopic, type LabState } from './state.js';
import { planBug, planTopology, type BrokenPlacement, type HistoryNode } from './topology.js';

export interface HistoryOptions {
  /** Directory of the new repository (must not exist or be empty). */
  dir: string;
  kind: BugKind;
  commits?: number;
  seed?: number;
  /** flaky: probability that one run crashes. */
  probability?: number;
  unbuildable?: number;
  unbuildableAt?: BrokenPlacement;
}

export interface HistoryResult {
  repo: string;
  kind: BugKind;
  /** The function the crash title names. */
  function: string;
  commits: number;
  good: string;
  bad: string;
  goodHash: string;
  badHash: string;
  culprit: string;
  culpritSubject: string;
  /** The culprit's first parent: the last commit before the bug on its line. */
  culpritParent: string;
  unbuildable: string[];
  seed: number;
  probability?: number;
}

export const AUTHORS = [
  ['Ada Kernelwright', 'ada@lab.example'],
  ['Bo Schedule', 'bo@lab.example'],
  ['Cy Spinlock', 'cy@lab.example'],
  ['Di Pagefault', 'di@lab.example'],
  ['Ed Rcu', 'ed@lab.example'],
] as const;
export const EPOCH = 1_704_067_200; // 2024-01-01T00:00:00Z: fixed dates keep hashes deterministic

function data(s: string): string {
  return `data ${Buffer.byteLength(s)}\n${s}\n`;
}

export async function makeHistory(opts: HistoryOptions): Promise<HistoryResult> {
  const total = opts.commits ?? 400;
  const seed = opts.seed ?? 1;
  const rng = createRng(seed);
  const topo = planTopology(total, rng);
  const plan = planBug(topo, opts.unbuildable ?? 0, opts.unbuildableAt ?? 'before', rng);
  const permille = Math.round((opts.probability ?? 0.5) * 1000);
  const brokenSet = new Set(plan.broken);

  await mkdir(opts.dir, { recursive: true });
  if ((await readdir(opts.dir)).length > 0) throw new Error(`${opts.dir} is not empty`);
  await git(opts.dir, ['init', '-q', '-b', 'main']);
  // No automatic gc: `git add` of a whole tree leaves ~75,000 loose objects, and the next commit
  // would start a gc in the background that outlives this call (and races whoever removes the repository).
  await git(opts.dir, ['config', 'gc.auto', '0']);
  await git(opts.dir, ['config', 'maintenance.auto', 'false']);

  const states: LabState[] = [];
  const branchOf = (n: HistoryNode): string => (n.line === 'main' ? 'refs/heads/main' : `refs/heads/${n.line}`);
  let stream = '';
  const subjects: string[] = [];
  for (const node of topo.nodes) {
    let s: LabState;
    let subject: string;
    const first = node.parents[0];
    if (first === undefined) {
      s = initialState();
      subject = 'lab: initial driver with /proc/multisect_lab and the reproducer';
    } else if (node.merge) {
      const topicTip = node.parents[1] as number;
      s = mergeState(states[first] as LabState, states[topicTip] as LabState, node.mergedTopic as string);
      subject = `Merge branch '${node.mergedTopic}'`;
    } else {
      s = structuredClone(states[first] as LabState);
      subject = node.line === 'main' ? mutateMain(s, rng) : mutateTopic(s, node.line, rng);
    }
    if (brokenSet.has(node.idx)) {
      s.broken = true;
      if (node.idx === plan.broken[0]) subject = 'lab: scale the stats total by the batch';
    }
    if (node.idx === plan.fix) {
      s.broken = false;
      subject = 'lab: fix the build: drop the batch scaling helper call';
    }
    if (node.idx === plan.culprit) {
      s.bug = { kind: opts.kind, permille };
      subject = BUG_SUBJECT[opts.kind] + (node.idx === plan.fix ? ' (and fix the build)' : '');
    }
    states.push(s);
    subjects.push(subject);

    const [name, email] = AUTHORS[node.idx % AUTHORS.length] as readonly [string, string];
    const when = `${EPOCH + node.idx * 3600} +0000`;
    let c = `commit ${branchOf(node)}\nmark :${node.idx + 1}\n`;
    c += `author ${name} <${email}> ${when}\ncommitter ${name} <${email}> ${when}\n`;
    c += data(`${subject}\n`);
    if (first !== undefined) c += `from :${first + 1}\n`;
    for (const p of node.parents.slice(1)) c += `merge :${p + 1}\n`;
    c += 'deleteall\n';
    for (const f of renderTree(s)) c += `M ${f.executable ? '100755' : '100644'} inline ${f.path}\n${data(f.content)}`;
    stream += c;
  }
  stream += `reset refs/tags/good\nfrom :1\n\nreset refs/tags/bad\nfrom :${(topo.mainline[topo.mainline.length - 1] as number) + 1}\n\n`;
  const culpritMark = plan.culprit + 1;
  stream += `reset refs/tags/culprit\nfrom :${culpritMark}\n\n`;
  stream += `get-mark :${culpritMark}\n`;
  for (const b of plan.broken) stream += `get-mark :${b + 1}\n`;
  stream += `get-mark :${(topo.nodes[plan.culprit] as HistoryNode).parents[0] as number + 1}\n`;

  const marks = await fastImport(opts.dir, stream);
  await git(opts.dir, ['checkout', '-q', '-f', 'main']);
  return {
    repo: opts.dir,
    kind: opts.kind,
    function: BUG_FUNCTION[opts.kind],
    commits: total,
    good: 'good',
    bad: 'bad',
    ...(await historyFacts(opts.dir, marks, subjects[plan.culprit] as string, plan.broken.length)),
    seed,
    ...(opts.kind === 'flaky' ? { probability: permille / 1000 } : {}),
  };
}

/**
 * What every generated history reports: the good and bad tags' hashes and, from fast-import's
 * get-mark lines in the order both generators print them (culprit, broken..., culprit's parent).
 */
export async function historyFacts(dir: string, marks: string[], culpritSubject: string, broken: number) {
  const rev = async (ref: string) => (await git(dir, ['rev-parse', '--verify', ref])).stdout.trim();
  return {
    goodHash: await rev('good'),
    badHash: await rev('bad'),
    culprit: marks[0] as string,
    culpritSubject,
    culpritParent: marks[marks.length - 1] as string,
    unbuildable: marks.slice(1, 1 + broken),
  };
}

/** Run git fast-import on the stream; returns the hashes printed by its get-mark commands. */
export function fastImport(dir: string, stream: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['fast-import', '--quiet', '--done', '--cat-blob-fd=1'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`git fast-import failed (${code}): ${err.trim()}`));
      else resolve(out.split('\n').filter((l) => /^[0-9a-f]{40,64}$/.test(l)));
    });
    child.stdin.end(stream + 'done\n');
  });
}
