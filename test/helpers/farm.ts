/**
 * A farm of real processes for end-to-end tests: a real nats-server (test helper), the
 * coordinator and agents as child processes of the real CLI, each killable on its own
 * (SIGTERM or kill -9) and restartable. Everything is killed when the test ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
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

/**
 * A port that is free now, for a server a test starts (and may restart on the same port) later.
 * It is picked *below* the kernel's ephemeral range: a port from listen(0) comes from that range,
 * so once freed it can be taken as the source port of any outgoing connection on the machine
 * (other tests run alongside), and a later bind fails with EADDRINUSE.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  const from = Math.max(1024, low - 22_000);
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = from + Math.floor(Math.random() * (low - from));
    if (await bindable(port)) return port;
  }
  return listenZero();
}

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 2048 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

async function bindable(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const srv = createServer();
    srv.once('error', () => resolvePort(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolvePort(true)));
  });
}

async function listenZero(): Promise<number> {
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
  kill(signal?: NodeJS.Signals, graceMs?: number): Promise<number | string>;
}

/**
 * Test processes run on loopback: plaintext gRPC is the default there (MULTISECT_INSECURE=1),
 * which explicit TLS flags override; a test of the TLS checks sets MULTISECT_INSECURE=''.
 */
const TEST_ENV = { MULTISECT_INSECURE: process.env.MULTISECT_INSECURE ?? '1' };

export function startProc(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Proc {
  const child = spawn(process.execPath, cliArgv(args), {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, ...TEST_ENV, MULTISECT_LOG_LEVEL: process.env.MULTISECT_LOG_LEVEL ?? 'info', ...opts.env },
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
    kill: async (signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}

/** Run the CLI to completion. */
export async function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, cliArgv(args), { cwd: opts.cwd ?? REPO_ROOT, env: { ...process.env, ...TEST_ENV, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
  /** Every NATS URL the coordinators use (one, or a cluster's three). */
  natsUrls: string[];
  /** What to pass as --coordinator: one address, or all of them separated by commas. */
  address: string;
  /** Each coordinator's own address (index 0 is the one started first). */
  addresses: string[];
  namespace: string;
  stateDir: string;
  /** The coordinator started last by startCoordinator() (index 0). */
  coordinator: Proc;
  /** Coordinator processes by index. */
  coordinators: Proc[];
  agents: Map<string, Proc>;
  /** (Re)start coordinator 0 and wait until it serves. */
  startCoordinator(): Promise<Proc>;
  /** (Re)start coordinator `index`; wait until it serves, or only until it stands by. */
  startCoordinatorAt(index: number, waitFor?: 'serving' | 'standby'): Promise<Proc>;
  startAgent(id: string, slots?: number, args?: string[]): Proc;
  dispose(): Promise<void>;
}

export interface TestFarmOptions {
  agents: number;
  slots?: number;
  leaseSeconds?: number;
  /** Coordinators: the first serves, the others stand by. Default 1. */
  coordinators?: number;
  /** Leader lease of the coordinators in seconds. Default: the coordinator's default. */
  leaderTtlSeconds?: number;
  /** Use these NATS servers (a cluster) instead of starting one; `nats` is the handle kept in `farm.nats`. */
  external?: { nats: NatsServerHandle; urls: string[]; replicas?: number };
  /** NATS JWT authentication: the account seed file the coordinators mint credentials with. */
  natsAccountSeedFile?: string;
  /** More arguments for every `multisect agent` (e.g. --accel-probe-kernel). */
  agentArgs?: string[];
}

export async function startTestFarm(options: TestFarmOptions): Promise<TestFarm> {
  const nats = options.external?.nats ?? (await startNatsServer());
  const natsUrls = options.external?.urls ?? [nats.url];
  const stateDir = await mkdtemp(join(tmpdir(), 'multisect-farm-'));
  const count = options.coordinators ?? 1;
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) addresses.push(`127.0.0.1:${await freePort()}`);
  const address = addresses.join(',');
  const namespace = uniqueName('e2e');
  const lease = String(options.leaseSeconds ?? 4);
  const extra = [
    ...(options.leaderTtlSeconds ? ['--leader-ttl', String(options.leaderTtlSeconds)] : []),
    ...(options.external?.replicas ? ['--replicas', String(options.external.replicas)] : []),
    ...(options.natsAccountSeedFile ? ['--nats-account-seed', options.natsAccountSeedFile] : []),
  ];
  const farm: TestFarm = {
    nats,
    natsUrls,
    address,
    addresses,
    namespace,
    stateDir,
    coordinator: undefined as unknown as Proc,
    coordinators: [],
    agents: new Map(),
    startCoordinator() {
      return farm.startCoordinatorAt(0);
    },
    async startCoordinatorAt(index: number, waitFor: 'serving' | 'standby' = 'serving') {
      const listen = addresses[index]!;
      // The test farm runs on loopback: plaintext, explicitly.
      const p = startProc([
        'coordinator',
        '--insecure',
        '--listen',
        listen,
        ...natsUrls.flatMap((u) => ['--nats', u]),
        '--state-dir',
        join(stateDir, `coordinator-${index}`),
        '--namespace',
        namespace,
        '--lease',
        lease,
        '--instance-id',
        `coordinator-${index}`,
        ...extra,
      ]);
      farm.coordinators[index] = p;
      if (index === 0) farm.coordinator = p;
      const ready = waitFor === 'serving' ? /coordinator serving/ : /coordinator standing by|coordinator serving/;
      const deadline = Date.now() + 30_000;
      while (!ready.test(p.output())) {
        if (p.child.exitCode !== null || Date.now() > deadline) throw new Error(`coordinator did not start:\n${p.output()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return p;
    },
    startAgent(id: string, slots = options.slots ?? 1, args: string[] = options.agentArgs ?? []) {
      const p = startProc(['agent', '--insecure', '--id', id, '--coordinator', address, '--slots', String(slots), '--state-dir', join(stateDir, 'agents', id), '--drain', '0', ...args]);
      farm.agents.set(id, p);
      return p;
    },
    async dispose() {
      // SIGTERM first: an agent then kills its VMs and builds (SIGKILL would orphan them).
      await Promise.all([...farm.agents.values()].map((a) => a.kill('SIGTERM', 5000)));
      await Promise.all(farm.coordinators.filter(Boolean).map((c) => c.kill('SIGKILL')));
      if (!options.external) await nats.dispose();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
  try {
    await farm.startCoordinator();
    for (let i = 1; i < count; i++) await farm.startCoordinatorAt(i, 'standby');
    for (let i = 1; i <= options.agents; i++) farm.startAgent(`agent-${i}`);
  } catch (err) {
    await farm.dispose();
    throw err;
  }
  return farm;
}
