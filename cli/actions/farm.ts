/**
 * Actions behind `multisect coordinator`, `multisect agent` and `multisect up`.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { Agent } from '../../agent/agent.js';
import type { AgentOptionsInput } from '../../agent/options.js';
import { Coordinator } from '../../coordinator/coordinator.js';
import { CoordinatorUnavailableError, InvalidOptionError } from '../../shared/errors.js';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { DEFAULT_COORDINATOR_ADDRESS } from '../../shared/grpc.js';
import { positiveInt } from '../../shared/options.js';
import { ownIdentity, type Security } from '../../shared/tls.js';
import { OperatorClient } from '../client.js';
import { extraRecipes } from './recipes.js';
import { selfCommand, spawnManaged, startLocalNats, type ManagedProcess } from '../local-processes.js';
import { FarmPidFile } from '../farm-pids.js';
import { startDashboard, type Dashboard } from '../dashboard/start.js';

export function defaultStateDir(): string {
  const base = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'multisect');
}

export interface CoordinatorActionOptions {
  listen: string;
  nats: string[];
  stateDir: string;
  leaseMs?: number;
  /** false: probes go to free slots in the engine's order (to measure what affinity buys). */
  buildAffinity?: boolean;
  namespace?: string;
  security: Security;
  /** NATS URLs told to agents (default: `nats`). */
  advertiseNats?: string[];
  replicas?: number;
  instanceId?: string;
  leaderTtlMs?: number;
  /** NATS JWT authentication: file holding the account seed (account.seed of `nats-auth init`). */
  natsAccountSeedFile?: string;
  /** Stop starting (a signal while connecting or standing by): rejects with CancelledError. Default none. */
  signal?: AbortSignal;
  logger: Logger;
}

export async function startCoordinator(o: CoordinatorActionOptions): Promise<Coordinator> {
  const natsAccountSeed = o.natsAccountSeedFile ? await readSecret('--nats-account-seed', o.natsAccountSeedFile) : undefined;
  return Coordinator.create({
    natsAccountSeed,
    listen: o.listen,
    natsServers: o.nats,
    advertiseNats: o.advertiseNats,
    stateDir: resolve(o.stateDir),
    leaseMs: o.leaseMs,
    buildAffinity: o.buildAffinity,
    namespace: o.namespace,
    security: o.security,
    replicas: o.replicas,
    instanceId: o.instanceId,
    leaderTtlMs: o.leaderTtlMs,
    signal: o.signal,
    logger: o.logger,
  });
}

export interface AgentActionOptions {
  id?: string;
  coordinator: string;
  nats: string[];
  slots: number;
  stateDir: string;
  cpus?: number;
  vmCapacity?: number;
  drainMs?: number;
  /** auto | kvm | tcg (validated by compileAgentOptions). */
  accel?: string;
  kvmDevice?: string;
  accelProbeKernel?: string;
  qemu?: string;
  /** Kept kernels, MiB (0: none). */
  kernelCacheMb?: number;
  security: Security;
  logger: Logger;
}

/** The agent id to use: --id, else (with TLS) the CN of the agent's certificate, else the host name. */
export function agentIdFor(id: string | undefined, security: Security): string | undefined {
  if (id || security.kind !== 'tls') return id;
  return ownIdentity(security.files.cert)?.id;
}

export async function startAgent(o: AgentActionOptions): Promise<Agent> {
  const agent = await Agent.create(
    {
      id: agentIdFor(o.id, o.security),
      coordinator: o.coordinator,
      natsServers: o.nats,
      slots: o.slots,
      stateDir: resolve(o.stateDir),
      cpus: o.cpus,
      vmCapacity: o.vmCapacity,
      drainMs: o.drainMs,
      accel: o.accel as AgentOptionsInput['accel'],
      kvmDevice: o.kvmDevice,
      accelProbeKernel: o.accelProbeKernel,
      qemu: o.qemu,
      kernelCacheMb: o.kernelCacheMb,
      security: o.security,
      logger: o.logger,
    },
    extraRecipes(),
  );
  agent.start();
  return agent;
}

export interface UpOptions {
  agents: number;
  slots: number;
  nats?: string;
  stateDir: string;
  listen: string;
  leaseMs?: number;
  namespace?: string;
  /** The agents' --accel and --accel-probe-kernel. */
  accel?: string;
  accelProbeKernel?: string;
  /** The coordinator's --no-build-affinity when false. */
  buildAffinity?: boolean;
  /** The agents' --kernel-cache (MiB). */
  kernelCacheMb?: number;
  /** Called with progress lines ("nats-server on ...", "agent-1 ready"). */
  onLine?: (line: string) => void;
  /** Also serve the dashboard (in this process) on this address. Default: none. */
  dashboard?: { listen: string; logger: Logger };
}

export interface LocalFarm {
  coordinator: string;
  nats: string;
  stateDir: string;
  processes: ManagedProcess[];
  /** The dashboard's URL, when one was asked for and could start. */
  dashboardUrl?: string;
  stop(): Promise<void>;
}

/**
 * Start a local farm: nats-server (unless given), a coordinator and N agents, as child processes.
 * They end when this process ends, however it ends (see cli/local-processes.ts); the ones that do
 * not are recorded in `<stateDir>/farm.pids`, and the next start on that state directory stops
 * them first. It refuses a state directory whose farm is still running.
 */
export async function startLocalFarm(o: UpOptions): Promise<LocalFarm> {
  positiveInt('agents', o.agents, { max: 64 });
  positiveInt('slots', o.slots, { max: 64 });
  const stateDir = resolve(o.stateDir);
  const logDir = join(stateDir, 'logs');
  const say = o.onLine ?? (() => undefined);
  const pids = new FarmPidFile(stateDir);
  const leftovers = await pids.takeOver();
  if (leftovers) say(leftovers);
  const processes: ManagedProcess[] = [];
  const started = (p: ManagedProcess): ManagedProcess => {
    processes.push(p);
    pids.add(p.name, p.child.pid);
    return p;
  };
  let dashboard: Dashboard | undefined;
  const stop = async () => {
    await dashboard?.close();
    // Agents first (they hand back work), then the coordinator, then NATS.
    await Promise.all(processes.filter((p) => p.name.startsWith('agent')).map((p) => p.stop()));
    await Promise.all(processes.filter((p) => p.name === 'coordinator').map((p) => p.stop()));
    await Promise.all(processes.filter((p) => p.name === 'nats-server').map((p) => p.stop()));
    pids.remove();
  };
  try {
    let nats = o.nats;
    if (!nats) {
      const local = await startLocalNats(join(stateDir, 'nats'), logDir, started);
      nats = local.url;
      say(`nats-server on ${nats} (store ${join(stateDir, 'nats')})`);
    }
    const ns = o.namespace ? ['--namespace', o.namespace] : [];
    const lease = o.leaseMs ? ['--lease', String(o.leaseMs / 1000)] : [];
    const affinity = o.buildAffinity === false ? ['--no-build-affinity'] : [];
    // Plaintext on purpose: every process of a local farm is on this machine's loopback.
    const c = selfCommand(['coordinator', '--insecure', '--listen', o.listen, '--nats', nats, '--state-dir', join(stateDir, 'coordinator'), ...ns, ...lease, ...affinity]);
    const coord = started(spawnManaged('coordinator', c.program, c.args, logDir, c.env));
    const client = await waitForCoordinator(o.listen, coord);
    say(`coordinator on ${o.listen} (log ${coord.logFile})`);
    for (let i = 1; i <= o.agents; i++) {
      const accel = [...(o.accel ? ['--accel', o.accel] : []), ...(o.accelProbeKernel !== undefined ? ['--accel-probe-kernel', o.accelProbeKernel] : [])];
      if (o.kernelCacheMb !== undefined) accel.push('--kernel-cache', String(o.kernelCacheMb));
      const a = selfCommand(['agent', '--insecure', '--id', `agent-${i}`, '--coordinator', o.listen, '--slots', String(o.slots), '--state-dir', join(stateDir, 'agents', `agent-${i}`), ...accel]);
      started(spawnManaged(`agent-${i}`, a.program, a.args, logDir, a.env));
    }
    const deadline = Date.now() + 30_000;
    for (;;) {
      const agents = await client.agents();
      if (agents.filter((a) => a.connected).length >= o.agents) break;
      if (Date.now() > deadline) throw new CoordinatorUnavailableError(o.listen, `only ${agents.length} of ${o.agents} agents connected within 30 s; see ${logDir}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    client.close();
    say(`${o.agents} agents with ${o.slots} slot(s) each connected (logs in ${logDir})`);
    if (o.dashboard) {
      // The farm is what matters: a dashboard that cannot start (its port taken) is only a warning.
      try {
        dashboard = await startDashboard({ coordinator: o.listen, listen: o.dashboard.listen, security: { kind: 'insecure' }, logger: o.dashboard.logger });
      } catch (err) {
        say(`dashboard not started: ${(err as Error).message} (pass --dashboard HOST:PORT, or run \`multisect dashboard\` later)`);
      }
    }
    return { coordinator: o.listen, nats, stateDir, processes, dashboardUrl: dashboard?.url, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function waitForCoordinator(address: string, proc: ManagedProcess): Promise<OperatorClient> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.child.exitCode !== null) {
      const said = lastErrorOf(proc.logFile);
      throw new CoordinatorUnavailableError(
        address,
        `the coordinator exited at start (status ${proc.child.exitCode})${said ? `: ${said.message}` : ''}; its log: ${proc.logFile}`,
        said?.hint ? { hint: said.hint } : undefined,
      );
    }
    try {
      return await OperatorClient.connect(address, 500, { kind: 'insecure' });
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
  }
}

/**
 * The error a child process printed last (`multisect: ...` and its hint, see cli/run.ts), from
 * the tail of its log, so that `up` says why its coordinator would not start.
 */
function lastErrorOf(logFile: string): { message: string; hint?: string } | undefined {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8').slice(-16_384);
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const at = lines.findLastIndex((l) => l.startsWith('multisect: '));
  if (at < 0) return undefined;
  const message = lines[at]!.slice('multisect: '.length);
  const next = lines[at + 1] ?? '';
  return next.startsWith('  hint: ') ? { message, hint: next.slice('  hint: '.length) } : { message };
}

export { DEFAULT_COORDINATOR_ADDRESS };

/** A secret file named by a flag, or an error naming both. */
async function readSecret(flag: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new InvalidOptionError(flag, `cannot read ${file}: ${(err as Error).message}`, { cause: err, hint: 'create it with `multisect nats-auth init --out DIR` (DIR/account.seed)' });
  }
}
