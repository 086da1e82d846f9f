/**
 * A farm of real processes for end-to-end tests: a real nats-server (test helper), the
 * coordinator and agents as child processes of the real CLI, each killable on its own
 * (SIGTERM or kill -9) and restartable. Everything is killed when the test ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerChild } from './processes.js';
import { startNatsServer, uniqueName, type NatsServerHandle } from './nats-server.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(REPO_ROOT, 'cli/main.ts');

/** argv to run the CLI from source in a child process. */
export function cliArgv(args: string[]): string[] {
  return ['--import', 'tsx', CLI, ...args];
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

export interface Proc {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

export function startProc(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Proc {
  const child = spawn(process.execPath, cliArgv(args), {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, MULTISECT_LOG_LEVEL: process.env.MULTISECT_LOG_LEVEL ?? 'info', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  registerChild(child);
  let out = '';
  const onData = (d: Buffer) => {
    out += d.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | string>((r) => child.once('exit', (code, sig) => r(code ?? sig ?? -1)));
  return {
    child,
    output: () => out,
    exited,
    kill: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}

/** Run the CLI to completion. */
export async function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, cliArgv(args), { cwd: opts.cwd ?? REPO_ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  registerChild(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
  const code = await new Promise<number | string>((r) => child.once('exit', (c, s) => r(c ?? s ?? -1)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

export interface TestFarm {
  nats: NatsServerHandle;
  address: string;
  namespace: string;
  stateDir: string;
  coordinator: Proc;
  agents: Map<string, Proc>;
  startCoordinator(): Promise<Proc>;
  startAgent(id: string, slots?: number): Proc;
  dispose(): Promise<void>;
}

export async function startTestFarm(options: { agents: number; slots?: number; leaseSeconds?: number }): Promise<TestFarm> {
  const nats = await startNatsServer();
  const stateDir = await mkdtemp(join(tmpdir(), 'multisect-farm-'));
  const address = `127.0.0.1:${await freePort()}`;
  const namespace = uniqueName('e2e');
  const lease = String(options.leaseSeconds ?? 4);
  const farm: TestFarm = {
    nats,
    address,
    namespace,
    stateDir,
    coordinator: undefined as unknown as Proc,
    agents: new Map(),
    async startCoordinator() {
      const p = startProc(['coordinator', '--listen', address, '--nats', nats.url, '--state-dir', join(stateDir, 'coordinator'), '--namespace', namespace, '--lease', lease]);
      farm.coordinator = p;
      const deadline = Date.now() + 30_000;
      while (!/coordinator serving/.test(p.output())) {
        if (p.child.exitCode !== null || Date.now() > deadline) throw new Error(`coordinator did not start:\n${p.output()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return p;
    },
    startAgent(id: string, slots = options.slots ?? 1) {
      const p = startProc(['agent', '--id', id, '--coordinator', address, '--slots', String(slots), '--state-dir', join(stateDir, 'agents', id), '--drain', '0']);
      farm.agents.set(id, p);
      return p;
    },
    async dispose() {
      await Promise.all([...farm.agents.values()].map((a) => a.kill('SIGKILL')));
      if (farm.coordinator) await farm.coordinator.kill('SIGKILL');
      await nats.dispose();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
  try {
    await farm.startCoordinator();
    for (let i = 1; i <= options.agents; i++) farm.startAgent(`agent-${i}`);
  } catch (err) {
    await farm.dispose();
    throw err;
  }
  return farm;
}
