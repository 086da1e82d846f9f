/**
 * `<state dir>/farm.pids`: the processes a `multisect up` started, so that the next one on the
 * same state directory finds and stops what a dead one left (kill -9 gives it no time to stop
 * them itself, and a child may miss or hang on its parent-death signal).
 *
 * A pid alone is not an identity: each is recorded with its start time (/proc/<pid>/stat), and a
 * process is taken for ours only when its start time matches and its command line names the
 * state directory. Without /proc (not Linux) nothing is ever stopped on a guess.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InfraError, InvalidOptionError } from '../shared/errors.js';

export const PID_FILE = 'farm.pids';

export interface PidRecord {
  name: string;
  pid: number;
  /** Start time in clock ticks after boot (/proc/<pid>/stat field 22); null without /proc. */
  start: number | null;
}

export interface FarmPids {
  up: PidRecord;
  stateDir: string;
  children: PidRecord[];
}

interface ProcStat {
  state: string;
  ppid: number;
  start: number;
}

/** /proc/<pid>/stat of a live process; undefined when gone or a zombie (exited, not yet reaped). */
function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses; fields follow the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = f[0] ?? '';
  if (state === 'Z' || state === 'X' || state === 'x') return undefined;
  return { state, ppid: Number(f[1]), start: Number(f[19]) };
}

const haveProc = (): boolean => procStat(process.pid) !== undefined;

function startOf(pid: number): number | null {
  return procStat(pid)?.start ?? null;
}

/** The recorded process is still running (same start time, so not a reused pid). */
function alive(r: PidRecord): boolean {
  if (r.start === null) {
    try {
      process.kill(r.pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  return procStat(r.pid)?.start === r.start;
}

/** Alive, and its command line names the state directory: one of the farm's processes. */
function ours(r: PidRecord, stateDir: string): boolean {
  if (r.start === null || !alive(r)) return false;
  try {
    const argv = readFileSync(`/proc/${r.pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => a === stateDir || a.startsWith(`${stateDir}/`));
  } catch {
    return false;
  }
}

/** Every live descendant of `roots` (qemu, builds, tests an agent started), with start times. */
function descendants(roots: number[]): PidRecord[] {
  const children = new Map<number, PidRecord[]>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    const s = procStat(pid);
    if (!s) continue;
    const list = children.get(s.ppid) ?? [];
    list.push({ name: readComm(pid), pid, start: s.start });
    children.set(s.ppid, list);
  }
  const out: PidRecord[] = [];
  const queue = [...roots];
  while (queue.length) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c.pid);
    }
  }
  return out;
}

function readComm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone meanwhile */
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitGone(records: PidRecord[], ms: number): Promise<PidRecord[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = records.filter(alive);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await sleep(100);
  }
}

/**
 * SIGTERM (and SIGCONT, should they be stopped), SIGKILL after `graceMs`; then SIGKILL whatever
 * they had started that outlived them. Returns how each ended.
 */
async function stopGroup(group: PidRecord[], graceMs: number): Promise<{ r: PidRecord; how: string }[]> {
  const below = descendants(group.map((r) => r.pid));
  for (const r of group) {
    signal(r.pid, 'SIGTERM');
    signal(r.pid, 'SIGCONT');
  }
  const stubborn = await waitGone(group, graceMs);
  for (const r of stubborn) signal(r.pid, 'SIGKILL');
  const unkillable = await waitGone(stubborn, 5000);
  if (unkillable.length) {
    throw new InfraError(`could not stop what a previous multisect up left: ${unkillable.map((r) => `${r.name} (pid ${r.pid})`).join(', ')}`, {
      hint: 'a process that outlives SIGKILL is stuck in the kernel (see its /proc/<pid>/stack); the state directory stays in use until it ends',
    });
  }
  const orphans = below.filter(alive);
  for (const r of orphans) signal(r.pid, 'SIGKILL');
  await waitGone(orphans, 5000);
  return [
    ...group.map((r) => ({ r, how: stubborn.includes(r) ? 'killed' : '' })),
    ...orphans.map((r) => ({ r, how: 'started by the farm, killed' })),
  ];
}

/** Stop order of a farm: agents (they hand work back), the coordinator, then NATS. */
function rank(name: string): number {
  if (name.startsWith('agent')) return 0;
  if (name === 'coordinator') return 1;
  if (name === 'nats-server') return 3;
  return 2;
}

/** The pid file of one `multisect up`; rewritten whole (write, then rename) at each change. */
export class FarmPidFile {
  readonly path: string;
  private readonly record: FarmPids;

  constructor(readonly stateDir: string) {
    this.path = join(stateDir, PID_FILE);
    this.record = { up: { name: 'multisect up', pid: process.pid, start: startOf(process.pid) }, stateDir, children: [] };
  }

  /**
   * Take the state directory over: refuse while the `multisect up` recorded there still runs;
   * when it is gone, stop what it left (SIGTERM, SIGKILL after `graceMs`). Then record this
   * process. Returns a line telling what was stopped, or undefined when nothing was.
   */
  async takeOver(graceMs = 10_000): Promise<string | undefined> {
    mkdirSync(this.stateDir, { recursive: true });
    const previous = this.read();
    let line: string | undefined;
    if (previous) {
      if (alive(previous.up)) {
        throw new InvalidOptionError('--state-dir', `${this.stateDir} is in use by multisect up (pid ${previous.up.pid}), which is still running`, {
          hint: `stop it (kill -INT ${previous.up.pid}), or give this one another --state-dir`,
        });
      }
      // Their command lines name the state directory as that `up` spelled it.
      const spelled = typeof previous.stateDir === 'string' ? previous.stateDir : this.stateDir;
      const left = haveProc() ? previous.children.filter((r) => ours(r, spelled)) : [];
      const stopped: { r: PidRecord; how: string }[] = [];
      for (const k of [...new Set(left.map((r) => rank(r.name)))].sort((a, b) => a - b)) {
        stopped.push(...(await stopGroup(left.filter((r) => rank(r.name) === k), graceMs)));
      }
      if (stopped.length) {
        const what = stopped.map(({ r, how }) => `${r.name} (pid ${r.pid}${how ? `, ${how}` : ''})`).join(', ');
        line = `stopped what a previous multisect up (pid ${previous.up.pid}) left: ${what}`;
      }
    }
    this.write();
    return line;
  }

  add(name: string, pid: number | undefined): void {
    if (pid === undefined) return;
    this.record.children.push({ name, pid, start: startOf(pid) });
    this.write();
  }

  /** After a clean stop: nothing is left to find. */
  remove(): void {
    rmSync(this.path, { force: true });
  }

  private read(): FarmPids | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const v = JSON.parse(text) as FarmPids;
      if (typeof v?.up?.pid === 'number' && Array.isArray(v.children)) return v;
    } catch {
      /* unreadable: nothing can be trusted in it */
    }
    return undefined;
  }

  private write(): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.record, null, 2)}\n`);
    renameSync(tmp, this.path);
  }
}
