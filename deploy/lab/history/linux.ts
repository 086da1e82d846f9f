/**
 * The real-kernel lab: a git history on Debian's Linux source tree. The unpacked source is the
 * base commit; then N commits edit real kernel files in several subsystems on topic branches merged
 * into a mainline (the shape of topology.ts), and one of them plants a bug in a real syscall path,
 * prctl(2) in kernel/sys.c, that the C reproducer (deploy/lab/linux/repro.c) reaches from user
 * space. Deterministic: fixed authors and dates, so equal seeds give equal hashes.
 *
 * Every lab commit after the base keeps a small lab block in kernel/sys.c: a helper,
 * multisect_lab_lookup(), behind a lab-only prctl option. The correct body returns -EINVAL for an
 * unknown key; the culprit gives it the planted body (a NULL dereference, a WARNING under
 * panic_on_warn, or a race that dereferences NULL with probability P). Unbuildable commits call a
 * helper that does not exist (an implicit declaration is an error in the kernel's flags).
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { git } from '../../../shared/git.js';
import { AUTHORS, EPOCH, fastImport, historyFacts, type HistoryResult } from './generate.js';
import { createRng, type Rng } from './rng.js';
import { planBug, planTopology, type BrokenPlacement, type HistoryNode } from './topology.js';

export const LINUX_BUG_KINDS = ['null-deref', 'warning', 'flaky'] as const;
export type LinuxBugKind = (typeof LINUX_BUG_KINDS)[number];

/** The prctl option the lab adds ('MSL\0'); the reproducer calls it with key 1000. */
export const LAB_PRCTL_OPTION = 0x4d534c00;
export const LINUX_BUG_FUNCTION = 'multisect_lab_lookup';

export interface LinuxHistoryOptions {
  /** The unpacked source tree (deploy/lab/setup-linux's "source"); read, never written. */
  source: string;
  /** Directory of the new repository (must not exist or be empty). */
  dir: string;
  kind: LinuxBugKind;
  commits?: number;
  seed?: number;
  probability?: number;
  unbuildable?: number;
  unbuildableAt?: BrokenPlacement;
}

/** What makeHistory returns, for the Linux tree (no good/bad tag names: the hashes say it). */
export interface LinuxHistoryResult extends Omit<HistoryResult, 'kind' | 'good' | 'bad'> {
  kind: LinuxBugKind;
  /** The base commit: the unpacked source as it came. */
  baseHash: string;
}

/** Real files of the tinyconfig build, by subsystem: every edit rebuilds something. */
const SUBSYSTEMS: Record<string, string[]> = {
  sched: ['kernel/sched/core.c', 'kernel/sched/fair.c', 'kernel/fork.c', 'kernel/exit.c'],
  mm: ['mm/memory.c', 'mm/mmap.c', 'mm/page_alloc.c', 'mm/slub.c'],
  fs: ['fs/read_write.c', 'fs/open.c', 'fs/namei.c', 'fs/exec.c'],
  tty: ['drivers/tty/tty_io.c', 'drivers/tty/n_tty.c', 'drivers/tty/serial/8250/8250_port.c'],
  core: ['kernel/printk/printk.c', 'kernel/signal.c', 'lib/vsprintf.c', 'init/main.c'],
};
const VERBS = ['tidy', 'document', 'clarify', 'annotate', 'explain', 'note'];
const TOPICS = ['the fast path', 'the error path', 'locking rules', 'a corner case', 'the retry loop', 'the init order'];
const SYS_C = 'kernel/sys.c';
/** Where the lab block goes in kernel/sys.c, and where its prctl case goes. */
const HELPER_ANCHOR = 'SYSCALL_DEFINE5(prctl,';
const CASE_ANCHOR = '\tcase PR_SET_PDEATHSIG:';

export const LINUX_BUG_SUBJECT: Record<LinuxBugKind, string> = {
  'null-deref': 'prctl: return the looked-up lab value directly',
  warning: 'prctl: warn about lab keys out of range',
  flaky: 'prctl: skip the lab range check on the fast path',
};

interface LabBlock {
  bug?: { kind: LinuxBugKind; permille: number };
  broken: boolean;
}

function helperBody(b: LabBlock): string {
  const body: Record<string, string> = {
    correct: '\tif (key >= ARRAY_SIZE(multisect_lab_table))\n\t\treturn -EINVAL;\n\treturn multisect_lab_table[key];',
    'null-deref': '\tconst int *slot = key < ARRAY_SIZE(multisect_lab_table) ? &multisect_lab_table[key] : NULL;\n\n\treturn *slot;',
    warning: '\tif (WARN_ON(key >= ARRAY_SIZE(multisect_lab_table)))\n\t\treturn -EINVAL;\n\treturn multisect_lab_table[key];',
    flaky:
      `\tconst int *slot = &multisect_lab_table[0];\n\n\tif (key >= ARRAY_SIZE(multisect_lab_table))\n\t\tslot = get_random_u32_below(1000) < ${b.bug?.permille ?? 500} ? NULL : &multisect_lab_table[0];\n\treturn *slot;`,
  };
  const broken = b.broken ? '\tmultisect_lab_scale_by_batch(key);\n' : '';
  return `/* multisect lab: a lookup behind a lab-only prctl option (the reproducer calls it). */
static const int multisect_lab_table[4] = { 1, 2, 3, 4 };

static noinline long ${LINUX_BUG_FUNCTION}(unsigned long key)
{
${broken}${body[b.bug?.kind ?? 'correct']}
}

`;
}

function renderSysC(base: string, b: LabBlock, comments: string[]): string {
  const h = base.indexOf(HELPER_ANCHOR);
  const c = base.indexOf(CASE_ANCHOR);
  if (h < 0 || c < 0) throw new Error(`kernel/sys.c has no "${HELPER_ANCHOR}" or "${CASE_ANCHOR}": not a Linux tree this lab knows`);
  const labCase = `\tcase 0x${LAB_PRCTL_OPTION.toString(16)}: /* multisect lab */\n\t\terror = ${LINUX_BUG_FUNCTION}(arg2);\n\t\tbreak;\n`;
  const text = base.slice(0, h) + helperBody(b) + base.slice(h, c) + labCase + base.slice(c);
  return text + comments.join('');
}

function comment(subject: string, idx: number): string {
  return `/* lab #${idx}: ${subject} */\n`;
}

function data(s: string | Buffer): string {
  return `data ${Buffer.byteLength(s)}\n${s}\n`;
}

interface FileState {
  /** path -> lab comments appended to it, in order. */
  comments: Map<string, string[]>;
  lab: LabBlock;
}

function edit(rng: Rng, line: string): { path: string; subject: string } {
  const subsystems = Object.keys(SUBSYSTEMS);
  // A topic stays in one subsystem, as kernel topic branches do; the mainline touches any.
  const sub = line === 'main' ? rng.pick(subsystems) : (subsystems[Number(line.replace(/\D/g, '')) % subsystems.length] as string);
  const path = rng.pick(SUBSYSTEMS[sub] as string[]);
  return { path, subject: `${sub}: ${rng.pick(VERBS)} ${rng.pick(TOPICS)}` };
}

export async function makeLinuxHistory(o: LinuxHistoryOptions): Promise<LinuxHistoryResult> {
  const total = o.commits ?? 200;
  const seed = o.seed ?? 1;
  const rng = createRng(seed);
  const permille = Math.round((o.probability ?? 0.5) * 1000);
  // Node 0 of the topology is the first lab commit (the lab block, correct); the source import
  // comes before it as the base.
  const topo = planTopology(total, rng);
  const plan = planBug(topo, o.unbuildable ?? 0, o.unbuildableAt ?? 'before', rng);
  const broken = new Set(plan.broken);

  await mkdir(o.dir, { recursive: true });
  if ((await readdir(o.dir)).length > 0) throw new Error(`${o.dir} is not empty`);
  await git(o.dir, ['init', '-q', '-b', 'main']);
  // No automatic gc: `git add` of a whole tree leaves ~75,000 loose objects, and the next commit
  // would start a gc in the background that outlives this call (and races whoever removes the repository).
  await git(o.dir, ['config', 'gc.auto', '0']);
  await git(o.dir, ['config', 'maintenance.auto', 'false']);
  const when = (i: number) => `${EPOCH + i * 3600} +0000`;
  const env = {
    GIT_AUTHOR_NAME: 'Linus Lab', GIT_AUTHOR_EMAIL: 'linus@lab.example', GIT_AUTHOR_DATE: when(-1),
    GIT_COMMITTER_NAME: 'Linus Lab', GIT_COMMITTER_EMAIL: 'linus@lab.example', GIT_COMMITTER_DATE: when(-1),
  };
  // The base: the source tree as it is, added from where it lies (no copy of 1 GB).
  await git(o.dir, [`--work-tree=${o.source}`, 'add', '-A', '-f', '.'], { env });
  await git(o.dir, [`--work-tree=${o.source}`, 'commit', '-q', '--no-verify', '-m', `Linux ${await kernelVersion(o.source)} (Debian's linux-source)`], { env });
  const baseHash = (await git(o.dir, ['rev-parse', 'HEAD'])).stdout.trim();

  const sysBase = await readFile(join(o.source, SYS_C), 'utf8');
  const bases = new Map<string, string>();
  const baseOf = async (p: string): Promise<string> => {
    if (!bases.has(p)) bases.set(p, await readFile(join(o.source, p), 'utf8'));
    return bases.get(p) as string;
  };
  const render = async (s: FileState, path: string): Promise<string> =>
    path === SYS_C ? renderSysC(sysBase, s.lab, s.comments.get(path) ?? []) : (await baseOf(path)) + (s.comments.get(path) ?? []).join('');

  const states: FileState[] = [];
  const subjects: string[] = [];
  let stream = '';
  for (const node of topo.nodes) {
    const first = node.parents[0];
    let s: FileState;
    let subject: string;
    let touched: string[];
    if (first === undefined) {
      s = { comments: new Map(), lab: { broken: false } };
      subject = 'prctl: add the multisect lab lookup';
      touched = [SYS_C];
    } else if (node.merge) {
      const a = states[first] as FileState;
      const b = states[node.parents[1] as number] as FileState;
      s = { comments: new Map(a.comments), lab: { ...a.lab } };
      touched = [];
      for (const [path, list] of b.comments) {
        const mine = s.comments.get(path) ?? [];
        const merged = [...new Set([...mine, ...list])].sort((x, y) => Number(/#(\d+)/.exec(x)?.[1]) - Number(/#(\d+)/.exec(y)?.[1]));
        if (merged.length !== mine.length) {
          s.comments.set(path, merged);
          touched.push(path);
        }
      }
      // The topic's lab block wins when only the topic changed it (the culprit may be on a topic).
      if (JSON.stringify(b.lab) !== JSON.stringify(states[topicForkOf(topo.nodes, node)]?.lab ?? { broken: false })) {
        s.lab = { ...b.lab };
        touched.push(SYS_C);
      }
      subject = `Merge branch '${node.mergedTopic}'`;
    } else {
      const parent = states[first] as FileState;
      s = { comments: new Map(parent.comments), lab: { ...parent.lab } };
      const e = edit(rng, node.line);
      subject = e.subject;
      s.comments.set(e.path, [...(s.comments.get(e.path) ?? []), comment(subject, node.idx)]);
      touched = [e.path];
    }
    if (broken.has(node.idx)) {
      s.lab.broken = true;
      touched.push(SYS_C);
      if (node.idx === plan.broken[0]) subject = 'prctl: scale lab lookups by the batch size';
    }
    if (node.idx === plan.fix) {
      s.lab.broken = false;
      touched.push(SYS_C);
      subject = 'prctl: fix the build: drop the batch scaling call';
    }
    if (node.idx === plan.culprit) {
      s.lab.bug = { kind: o.kind, permille };
      touched.push(SYS_C);
      subject = LINUX_BUG_SUBJECT[o.kind];
    }
    states.push(s);
    subjects.push(subject);
    const [name, email] = AUTHORS[node.idx % AUTHORS.length] as readonly [string, string];
    let c = `commit ${node.line === 'main' ? 'refs/heads/main' : `refs/heads/${node.line}`}\nmark :${node.idx + 1}\n`;
    c += `author ${name} <${email}> ${when(node.idx)}\ncommitter ${name} <${email}> ${when(node.idx)}\n${data(`${subject}\n`)}`;
    c += `from ${first === undefined ? baseHash : `:${first + 1}`}\n`;
    for (const p of node.parents.slice(1)) c += `merge :${p + 1}\n`;
    for (const path of new Set(touched)) c += `M 100644 inline ${path}\n${data(await render(s, path))}`;
    stream += c;
  }
  const badMark = (topo.mainline[topo.mainline.length - 1] as number) + 1;
  stream += `reset refs/tags/good\nfrom :1\n\nreset refs/tags/bad\nfrom :${badMark}\n\nreset refs/tags/culprit\nfrom :${plan.culprit + 1}\n\n`;
  stream += `get-mark :${plan.culprit + 1}\n`;
  for (const b of plan.broken) stream += `get-mark :${b + 1}\n`;
  stream += `get-mark :${((topo.nodes[plan.culprit] as HistoryNode).parents[0] as number) + 1}\n`;
  const marks = await fastImport(o.dir, stream);
  // No checkout here: the agents clone the repository; a work tree of 1 GB would only cost time.
  return {
    repo: o.dir,
    kind: o.kind,
    function: LINUX_BUG_FUNCTION,
    commits: total,
    baseHash,
    ...(await historyFacts(o.dir, marks, subjects[plan.culprit] as string, plan.broken.length)),
    seed,
    ...(o.kind === 'flaky' ? { probability: permille / 1000 } : {}),
  };
}

/** For a merge: the node its topic forked from (the topic's lab block is compared with it). */
function topicForkOf(nodes: HistoryNode[], merge: HistoryNode): number {
  let n = nodes[merge.parents[1] as number] as HistoryNode;
  while (n.line !== 'main' && n.parents[0] !== undefined) n = nodes[n.parents[0]] as HistoryNode;
  return n.idx;
}

async function kernelVersion(source: string): Promise<string> {
  const mk = await readFile(join(source, 'Makefile'), 'utf8');
  const v = (k: string) => new RegExp(`^${k} = (\\S*)`, 'm').exec(mk)?.[1] ?? '';
  return [v('VERSION'), v('PATCHLEVEL'), v('SUBLEVEL')].filter(Boolean).join('.');
}
