/**
 * Test helpers for the kernel lab: run deploy/lab/setup once per test process (tests on a fresh
 * machine install and download what they need; they skip only when apt cannot download), generate
 * lab histories, check out commits, and a fake ProbeContext for the kernel recipe.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { git } from '../../shared/git.js';
import { silentLogger } from '../../shared/logger.js';
import { Policy, Probe, type Recipe } from '../../shared/proto.js';
import { makeHistory, type HistoryOptions, type HistoryResult } from '../../deploy/lab/history/generate.js';
import type { KeptKernels, ProbeContext, ProbePhase, RunClassification } from '../../agent/recipes/types.js';
import { decideAccel, type Accel } from '../../agent/kernel/accel.js';
import { writeJobFiles } from '../../agent/job-files.js';
import type { TestFarm } from './farm.js';
import { tempDir } from './temp-dirs.js';

const pexec = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

export interface LabSetup {
  version: string;
  release: string;
  kernel: string;
  headers: string;
  cache: string;
  busybox: string;
  qemu: string;
}

/**
 * Run a lab set-up script with --json (idempotent; quick when already done). Resolves to a skip
 * reason only when apt cannot download (the scripts exit 2 then).
 */
async function runSetup<T>(script: string, what: string, timeoutMs: number): Promise<T | { skip: string }> {
  try {
    const { stdout } = await pexec('bash', [join(ROOT, script), '--json'], { maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs });
    return JSON.parse(stdout.trim().split('\n').pop() as string) as T;
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    if (e.code === 2) return { skip: `${what} cannot be set up (apt download impossible): ${(e.stderr ?? '').trim().split('\n').slice(-2).join(' / ')}` };
    throw err;
  }
}

let setupOnce: Promise<LabSetup | { skip: string }> | undefined;

/** deploy/lab/setup once per test process: qemu, busybox, Debian's kernel and headers. */
export function ensureLab(): Promise<LabSetup | { skip: string }> {
  setupOnce ??= runSetup<LabSetup>('deploy/lab/setup', 'the kernel lab', 1_200_000);
  return setupOnce;
}

export interface LinuxLabSetup {
  version: string;
  /** The unpacked Linux tree. */
  source: string;
  /** The lab's kernel config (tinyconfig + deploy/lab/linux/lab.config.fragment). */
  config: string;
  busybox: string;
  qemu: string;
  /** Debian's prebuilt kernel: the accelerator proof boots it. */
  kernel: string;
}

let linuxOnce: Promise<LinuxLabSetup | { skip: string }> | undefined;

/** deploy/lab/setup-linux once per test process: the real Linux tree and the lab config. */
export function ensureLinuxLab(): Promise<LinuxLabSetup | { skip: string }> {
  linuxOnce ??= runSetup<LinuxLabSetup>('deploy/lab/setup-linux', 'the real-kernel lab', 1_800_000);
  return linuxOnce;
}

let labAccelOnce: Promise<Accel> | undefined;

/** The accelerator for lab VMs, proven as an agent proves it: with the lab's kernel booted under KVM. */
export function labAccel(setup: Pick<LabSetup, 'kernel'>): Promise<Accel> {
  labAccelOnce ??= decideAccel('auto', { kernel: setup.kernel }).then((d) => d.accel);
  return labAccelOnce;
}


export async function labHistory(opts: Omit<HistoryOptions, 'dir'>): Promise<HistoryResult> {
  const dir = await tempDir(`lab-${opts.kind}`);
  return makeHistory({ ...opts, dir: join(dir, 'repo') });
}

/** A detached worktree of `repo` at `commit`. */
export async function checkout(repo: string, commit: string): Promise<string> {
  const dir = join(await tempDir('wt'), 'wt');
  await git(repo, ['worktree', 'add', '-q', '--detach', dir, commit]);
  return dir;
}

/** Run build.sh in a worktree; returns its exit code and output. */
export async function labBuild(worktree: string, buildDir: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await pexec('bash', [join(ROOT, 'deploy/lab/build.sh'), buildDir], { cwd: worktree, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, output: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

/** A small stand-in for the crash-report parser: the first oops-like line, as the title. */
export function simpleClassify(console: string): RunClassification {
  const m = /\] ((?:BUG: |WARNING: |general protection fault|kernel BUG at |INFO: task \S+ blocked|Kernel panic - not syncing)[^\n]*)/.exec(console);
  if (!m) return { crashed: false, matches: false, title: '', type: '' };
  return { crashed: true, matches: true, title: (m[1] as string).trim(), type: '' };
}

export interface FakeContext extends ProbeContext {
  phases: string[];
  logs: Map<string, string>;
  abort: AbortController;
}

/** No kept kernels: every probe builds. */
export const NO_KEPT_KERNELS: KeptKernels = { take: async () => undefined, put: async () => false };

export async function fakeContext(o: { commit: string; worktree: string; buildDir: string; recipe: Recipe; runs: number; vmCapacity: number; accel: Accel; kernels?: KeptKernels }): Promise<FakeContext> {
  const abort = new AbortController();
  const phases: string[] = [];
  const logs = new Map<string, string>();
  const scratchDir = await tempDir('scratch');
  // As the probe runner does: the job's files written into the probe's scratch directory.
  const jobFiles = (await writeJobFiles(o.recipe.files, scratchDir)).paths;
  return {
    probe: Probe.fromPartial({ id: `p-${o.commit.slice(0, 8)}`, jobId: 'job-lab', commit: o.commit, runs: o.runs, recipe: o.recipe, policy: Policy.fromPartial({}) }),
    worktree: o.worktree,
    buildDir: o.buildDir,
    scratchDir,
    jobFiles,
    kernels: o.kernels ?? NO_KEPT_KERNELS,
    slot: 0,
    cpus: 2,
    vmCapacity: o.vmCapacity,
    accel: o.accel,
    qemu: 'qemu-system-x86_64',
    signal: abort.signal,
    logger: silentLogger(),
    progress: (phase: ProbePhase, run?: number) => phases.push(run ? `${phase}:${run}` : phase),
    saveLog: async (name, content) => {
      logs.set(name, typeof content === 'string' ? content : Buffer.from(content).toString());
      return `logs/${name}`;
    },
    classify: simpleClassify,
    matchesPolicy: () => true,
    env: { MULTISECT_COMMIT: o.commit, MULTISECT_JOB: 'job-lab' },
    phases,
    logs,
    abort,
  };
}

/**
 * Kill (SIGKILL, by pid) the processes whose command line names a path under `dir`: the qemu VMs
 * and build steps of a test farm's agents. An agent killed with SIGKILL (a test's clean-up, or the
 * test process dying) cannot kill its VMs itself; the farm's state directory is unique to the test,
 * so this touches nothing else. Synchronous, so that it can run in a process 'exit' handler.
 * Returns the pids it killed.
 */
export function reapProcessesUnder(dir: string): number[] {
  const killed: number[] = [];
  if (!dir.startsWith('/tmp/') && !dir.startsWith(tmpdir())) return killed; // only test directories
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return killed; // no /proc
  }
  for (const p of pids) {
    const pid = Number(p);
    if (pid === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${p}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!cmdline.split('\0').some((arg) => arg.includes(`${dir}/`))) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      /* already gone */
    }
  }
  return killed;
}

/** Reap the processes under `dir` when this process exits, too (a failing or interrupted test). */
export function reapOnExit(dir: string): () => void {
  const reap = () => void reapProcessesUnder(dir);
  process.once('exit', reap);
  return () => process.removeListener('exit', reap);
}

export async function removeDir(dir: string): Promise<void> {
  // Retried: a process just killed (a git, a build) may still be writing into it for a moment.
  await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}

/**
 * Guard a test farm that runs VMs and builds (children of its agents): they are reaped when this
 * process exits, however it exits, and `stop()` ends the farm: SIGTERM to the agents first (an
 * agent stopping kills its VMs and builds itself), then whatever is left under its state directory.
 */
export function guardLabFarm(farm: TestFarm): { stop(): Promise<void> } {
  const unhook = reapOnExit(farm.stateDir);
  return {
    async stop() {
      await Promise.all([...farm.agents.values()].map((a) => a.kill('SIGTERM')));
      reapProcessesUnder(farm.stateDir);
      await farm.dispose();
      unhook();
    },
  };
}
