/**
 * The scale benchmark's processes: a real nats-server (JetStream, with its monitoring port), a
 * real coordinator (`multisect coordinator` from a source tree, optionally under --cpu-prof) and
 * child processes of simulated agents. Every one starts through `setpriv --pdeathsig` (it dies
 * with the bench, kill -9 included) and is registered with test/helpers/processes.ts (killed at
 * exit, on Ctrl-C and on SIGTERM); `stop()` ends each in order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dieWithThisProcess } from '../../../shared/pdeathsig.js';
import { registerChild } from '../../helpers/processes.js';
import { freePort } from '../../helpers/farm.js';
import type { SimConfig, SimMessage, SimRecord } from './sim-agents.js';

const SIM_MAIN = fileURLToPath(new URL('./sim-agents.ts', import.meta.url));

export interface Child {
  child: ChildProcess;
  pid: number;
  log: string;
  exited: Promise<number | string>;
  /** SIGTERM (or `signal`), then SIGKILL after `graceMs`. */
  stop(graceMs?: number, signal?: NodeJS.Signals): Promise<void>;
}

function start(program: string, args: string[], log: string, opts: { env?: NodeJS.ProcessEnv; cwd?: string; ipc?: boolean; deathSignal?: 'TERM' | 'KILL' } = {}): Child {
  const fd = openSync(log, 'a');
  const cmd = dieWithThisProcess(program, args, opts.deathSignal ?? 'TERM');
  const child = spawn(cmd.program, cmd.args, { stdio: ['ignore', fd, fd, ...(opts.ipc ? (['ipc'] as const) : [])], env: opts.env ?? process.env, cwd: opts.cwd });
  closeSync(fd);
  registerChild(child);
  const exited = new Promise<number | string>((r) => {
    child.once('exit', (code, sig) => r(code ?? sig ?? -1));
    // A program that cannot be started (missing, or a cwd that is gone): no 'exit' follows.
    child.once('error', (err) => {
      process.stderr.write(`cannot start ${cmd.program} ${cmd.args.slice(0, 6).join(' ')}...: ${err.message}\n`);
      r(-1);
    });
  });
  return {
    child,
    pid: child.pid ?? -1,
    log,
    exited,
    async stop(graceMs = 10_000, signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

async function waitFor<T>(what: string, ms: number, fn: () => Promise<T | undefined>, proc?: Child): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (proc && (proc.child.exitCode !== null || proc.child.pid === undefined)) throw new Error(`${what}: the process exited (${proc.child.exitCode}); see ${proc.log}:\n${tail(proc.log)}`);
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms; see ${proc?.log ?? ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export interface NatsProc extends Child {
  url: string;
  monitor: string;
}

/** nats-server with JetStream on a free port, its monitoring (/varz, /jsz) on another. */
export async function startNats(dir: string): Promise<NatsProc> {
  const ports = join(dir, 'ports');
  await mkdir(ports, { recursive: true });
  const mport = await freePort();
  const p = start('nats-server', ['-js', '-sd', join(dir, 'js'), '-a', '127.0.0.1', '-p', '-1', '-m', String(mport), '--ports_file_dir', ports], join(dir, 'nats.log'));
  const url = await waitFor(
    'nats-server',
    10_000,
    async () => {
      const f = (await readdir(ports)).find((x) => x.endsWith('.ports'));
      if (!f) return undefined;
      const u = (JSON.parse(await readFile(join(ports, f), 'utf8')) as { nats?: string[] }).nats?.[0];
      return u?.replace('0.0.0.0', '127.0.0.1');
    },
    p,
  );
  await rm(ports, { recursive: true, force: true });
  return { ...p, url, monitor: `http://127.0.0.1:${mport}` };
}

export interface CoordinatorProc extends Child {
  address: string;
}

/**
 * `multisect coordinator` from `root` (a source tree: its cli/main.ts under tsx), plaintext on
 * loopback, the default lease (30 s, heartbeats every 5 s) and log level (info) of production.
 * `profileDir`: run under node --cpu-prof (the profile is written when it exits after SIGTERM).
 * `nodeFlags`: more flags for its node (--trace-gc, a heap size), before the script.
 */
export async function startCoordinator(o: { root: string; nats: string; namespace: string; dir: string; profileDir?: string; nodeFlags?: string[] }): Promise<CoordinatorProc> {
  const address = `127.0.0.1:${await freePort()}`;
  const log = join(o.dir, 'coordinator.log');
  const prof = o.profileDir ? ['--cpu-prof', '--cpu-prof-dir', o.profileDir] : [];
  const flags = o.nodeFlags ?? [];
  const args = [...prof, ...flags, '--import', 'tsx', join(o.root, 'cli/main.ts'), 'coordinator', '--insecure', '--listen', address, '--nats', o.nats, '--state-dir', join(o.dir, 'coordinator'), '--namespace', o.namespace, '--instance-id', 'scale-coordinator'];
  const p = start(process.execPath, args, log, { cwd: o.root, env: { ...process.env, MULTISECT_LOG_LEVEL: process.env.SCALE_LOG_LEVEL ?? 'info' } });
  await waitFor('the coordinator', 60_000, async () => (/coordinator serving/.test(await readFile(log, 'utf8')) ? true : undefined), p);
  return { ...p, address };
}

export interface SimProc extends Child {
  ready: Promise<void>;
  counts: { assigns: number; verdicts: number; cancels: number };
  /** Ask for the record and wait for the process to end. */
  finish(): Promise<SimRecord>;
}

export function startSims(index: number, config: SimConfig, dir: string): SimProc {
  const p = start(process.execPath, ['--import', 'tsx', SIM_MAIN], join(dir, `sim-${index}.log`), { ipc: true, deathSignal: 'KILL', env: { ...process.env, SCALE_SIM: JSON.stringify(config) } });
  const counts = { assigns: 0, verdicts: 0, cancels: 0 };
  let record: ((r: SimRecord) => void) | undefined;
  const recorded = new Promise<SimRecord>((r) => (record = r));
  const ready = new Promise<void>((resolve, reject) => {
    p.child.on('message', (m: SimMessage) => {
      if (m.type === 'ready') resolve();
      else if (m.type === 'progress') Object.assign(counts, { assigns: m.assigns, verdicts: m.verdicts, cancels: m.cancels });
      else if (m.type === 'record') record?.(m.record);
      else if (m.type === 'error') {
        process.stderr.write(`sim process ${index}: ${m.message}\n`);
        reject(new Error(`sim process ${index}: ${m.message}`));
      }
    });
    void p.exited.then((code) => reject(new Error(`sim process ${index} exited (${code}); see ${p.log}:\n${tail(p.log)}`)));
  });
  ready.catch(() => undefined);
  return {
    ...p,
    ready,
    counts,
    async finish() {
      if (p.child.connected) p.child.send({ type: 'stop' });
      const r = await Promise.race([recorded, p.exited.then(() => undefined), new Promise<undefined>((res) => setTimeout(() => res(undefined), 15_000))]);
      await p.stop(3000);
      if (!r) throw new Error(`sim process ${index} sent no record; see ${p.log}`);
      return r;
    },
  };
}

/** CPU seconds (user + system, all threads) and memory of a process, from /proc. */
export function procStats(pid: number): { cpuS: number; rssMb: number; hwmMb: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { cpuS: ticks / CLOCK_TICKS, rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS = 100;
