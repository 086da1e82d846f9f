/** `multisect coordinator`, `multisect agent`, `multisect up`: the processes of a farm. */
import { join } from 'node:path';
import type { Command } from 'commander';
import { createLogger } from '../../shared/logger.js';
import { parseIntFlag, parseNumberFlag } from '../../shared/options.js';
import { agentIdFor, defaultStateDir, startAgent, startCoordinator, startLocalFarm } from '../actions/farm.js';
import { securityFrom, withTlsOptions, type TlsFlags } from '../client.js';
import { env } from '../env.js';
import { collect, runCommand } from '../run.js';
import { Backoff } from '../../shared/backoff.js';
import type { Coordinator } from '../../coordinator/coordinator.js';
import { parentGone } from '../local-processes.js';
import { DEFAULT_DASHBOARD_LISTEN } from '../dashboard/start.js';

/**
 * A coordinator or agent started by `multisect up`: resolves when that process is gone (the
 * second line behind setpriv's parent-death signal; see cli/local-processes.ts).
 */
function upGone(): Promise<string> | undefined {
  const pid = env.parentPid();
  return parentGone(pid)?.then(() => `multisect up (pid ${pid}) is gone`);
}

/**
 * How long a process may take to stop after the first signal before it exits anyway. Every wait
 * of a stopping coordinator is bounded well below this (coordinator.ts); this is the last line,
 * so that a handle someone forgot to close never makes an operator (or systemd, which would wait
 * out its stop timeout) send a second signal.
 */
const STOP_GRACE_MS = 15_000;

/**
 * An AbortSignal that aborts at the first SIGINT/SIGTERM (or when the `up` that started us is
 * gone); a second signal exits at once.
 */
function firstSignal(): AbortSignal {
  const stop = new AbortController();
  const onSignal = (sig: string) => {
    if (stop.signal.aborted) process.exit(130);
    process.stderr.write(`\n${sig}: stopping...\n`);
    setTimeout(() => {
      process.stderr.write(`multisect: still running ${STOP_GRACE_MS / 1000} s after ${sig}; exiting\n`);
      process.exit(1);
    }, STOP_GRACE_MS).unref();
    stop.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  void upGone()?.then(onSignal);
  return stop.signal;
}

/** Resolves when `signal` aborts. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
}

/** Run until SIGINT/SIGTERM (or until the `up` that started us is gone), then call `close` once; a second signal exits at once. */
function untilSignal(close: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let closing = false;
    const onSignal = (sig: string) => {
      if (closing) process.exit(130);
      closing = true;
      process.stderr.write(`\n${sig}: stopping...\n`);
      close().then(resolve, resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    void upGone()?.then(onSignal);
  });
}

export function registerFarm(program: Command): void {
  withTlsOptions(
    program
      .command('coordinator')
      .description('Run the coordinator: gRPC for agents and operators, state in NATS JetStream (needs --tls-* files or --insecure)')
      .option('--listen <addr>', 'gRPC address to listen on', env.coordinator())
      .option('--nats <url>', 'NATS server URL (repeat for a cluster; tls:// uses the --tls-* files)', collect, [])
      .option('--advertise-nats <url>', 'NATS URL agents are told to use (repeatable; default: --nats)', collect, [])
      .option('--state-dir <dir>', 'where the git mirrors live')
      .option('--lease <seconds>', 'lease of an assignment without heartbeat', '30')
      .option('--no-build-affinity', 'give probes to free slots in the engine\'s order, not to the slot that built nearest (to measure what affinity buys)')
      .option('--namespace <ns>', 'prefix of the JetStream names (for sharing one NATS)', env.namespace())
      .option('--replicas <n>', 'JetStream replicas of the streams and buckets it creates (3 on a 3-server cluster)', '1')
      .option('--instance-id <id>', 'id in leader election (default: host name/listen address)')
      .option('--leader-ttl <seconds>', 'leader lease; a standby takes over this long after the leader stops renewing', '10')
      .option('--nats-account-seed <file>', 'NATS JWT authentication: the account seed (from `multisect nats-auth init`); agents then get per-job verdict credentials', env.natsAccountSeed())
      .option('--log-level <level>', 'log level', env.logLevel()),
  )
    .addHelpText(
      'after',
      '\nExample:\n  multisect coordinator --listen 0.0.0.0:7420 --nats tls://n1:4222 --nats tls://n2:4222 --nats tls://n3:4222 --replicas 3 \\\n    --tls-ca /etc/multisect/tls/ca.crt --tls-cert /etc/multisect/tls/coordinator.crt --tls-key /etc/multisect/tls/coordinator.key --state-dir /var/lib/multisect\n  Run a second one on another host with the same flags: it stands by and takes over when the first stops.',
    )
    .action(async (o) =>
      runCommand(false, async () => {
        const security = securityFrom('the coordinator', o as TlsFlags);
        const nats = o.nats.length ? o.nats : [env.nats() ?? 'nats://127.0.0.1:4222'];
        const logger = createLogger({ level: o.logLevel, base: { role: 'coordinator' } });
        const stop = firstSignal();
        // Between attempts to stand by again after a lost lease (NATS may be down for a while).
        const restart = new Backoff({ baseMs: 1000, maxMs: 10_000, jitter: 0.2 });
        // Leadership can be lost (a NATS outage longer than the lease, a partition): the process
        // then stands by again in place and takes the lease back when it can, instead of
        // relying on a supervisor to restart it. The signal reaches every wait: connecting to
        // NATS, standing by, serving.
        for (let attempt = 0; ; attempt++) {
          let coordinator: Coordinator;
          try {
            coordinator = await startCoordinator({
              listen: o.listen,
              nats,
              advertiseNats: o.advertiseNats,
              stateDir: o.stateDir ?? join(env.stateDir() ?? defaultStateDir(), 'coordinator'),
              leaseMs: parseNumberFlag('--lease', o.lease) * 1000,
              buildAffinity: o.buildAffinity,
              namespace: o.namespace,
              replicas: parseIntFlag('--replicas', o.replicas),
              instanceId: o.instanceId,
              leaderTtlMs: parseNumberFlag('--leader-ttl', o.leaderTtl) * 1000,
              natsAccountSeedFile: o.natsAccountSeed,
              signal: stop,
              security,
              logger,
            });
          } catch (err) {
            if (stop.aborted) return; // stopped while connecting or standing by
            // The first start reports its error; after a lost lease, NATS may still be
            // recovering (a cluster electing stream leaders answers 503): try again.
            if (attempt === 0) throw err;
            logger.warn({ err: (err as Error).message, retryInMs: restart.nextDelayMs }, 'could not stand by again yet; retrying');
            await restart.wait(stop);
            if (stop.aborted) return;
            continue;
          }
          restart.reset();
          process.stderr.write(`coordinator serving on ${coordinator.address}\n`);
          const lost = await Promise.race([aborted(stop).then(() => undefined), coordinator.lost]);
          if (lost === undefined) {
            await coordinator.close();
            return;
          }
          process.stderr.write(`leadership lost (${lost}); standing by to take it back\n`);
          if (stop.aborted) return;
          attempt = 0;
        }
      }),
    );

  withTlsOptions(
    program
      .command('agent')
    .description('Run an agent: build and test the commits the coordinator assigns')
      .option('--coordinator <addrs>', 'coordinator address; several separated by commas (active and standbys)', env.coordinator())
      .option('--id <id>', 'agent id (default: the CN of --tls-cert, else the host name)')
      .option('--slots <n>', 'probes at once', '1')
      .option('--cpus <n>', 'CPUs for builds (default: all)')
      .option('--vms <n>', 'VMs at once (default: CPUs / 2)')
      .option('--nats <url>', 'NATS URL (default: what the coordinator advertises)', collect, [])
      .option('--state-dir <dir>', 'mirrors, worktrees, build directories, verdict outbox')
    .option('--drain <seconds>', 'on SIGTERM, wait this long for running probes before handing them back', '10')
      .option('--accel <mode>', 'qemu accelerator: auto (KVM only once a test guest ran under it at start-up), kvm or tcg', 'auto')
      .option('--kvm-device <path>', 'the KVM device to prove', '/dev/kvm')
      .option('--accel-probe-kernel <image>', 'a kernel image booted under KVM at start-up to prove it (default: /boot/vmlinuz-$(uname -r) when readable; "" for none)')
      .option('--qemu <binary>', 'qemu binary for the proof and for jobs that name none', 'qemu-system-x86_64')
      .option('--kernel-cache <MiB>', 'built kernels kept for reuse by any job, least recently used out; 0 keeps none', '2048')
    .option('--log-level <level>', 'log level', env.logLevel()),
  )
    .addHelpText(
      'after',
      '\nExample:\n  multisect agent --coordinator coord1.lab:7420,coord2.lab:7420 --slots 4 --state-dir /var/lib/multisect-agent \\\n    --tls-ca /etc/multisect/tls/ca.crt --tls-cert /etc/multisect/tls/agent.crt --tls-key /etc/multisect/tls/agent.key\n  With TLS the id defaults to the CN of the certificate; the coordinator refuses any other.\n  At start-up the agent proves KVM (a test guest must run under it) or falls back to TCG; `multisect agents` shows which and why.',
    )
    .action(async (o) =>
      runCommand(false, async () => {
        const security = securityFrom('the agent', o as TlsFlags);
        const logger = createLogger({ level: o.logLevel, base: { role: 'agent' } });
        const id: string | undefined = agentIdFor(o.id, security);
        const agent = await startAgent({
          security,
          id,
          coordinator: o.coordinator,
          nats: o.nats,
          slots: parseIntFlag('--slots', o.slots),
          cpus: o.cpus ? parseIntFlag('--cpus', o.cpus) : undefined,
          vmCapacity: o.vms ? parseIntFlag('--vms', o.vms) : undefined,
          stateDir: o.stateDir ?? join(env.stateDir() ?? defaultStateDir(), 'agent', id ?? 'default'),
          drainMs: parseNumberFlag('--drain', o.drain) * 1000,
          accel: o.accel,
          kvmDevice: o.kvmDevice,
          accelProbeKernel: o.accelProbeKernel,
          qemu: o.qemu,
          kernelCacheMb: parseIntFlag('--kernel-cache', o.kernelCache),
          logger,
        });
        await untilSignal(() => agent.close());
      }),
    );

  program
    .command('up')
    .description('Run a whole farm on this machine: nats-server, a coordinator and N agents (Ctrl-C stops them all)')
    .option('--agents <n>', 'number of agents', '4')
    .option('--slots <n>', 'slots per agent', '1')
    .option('--nats <url>', 'use this NATS server instead of starting one', env.nats())
    .option('--state-dir <dir>', 'state directory (NATS store, mirrors, worktrees, logs)', env.stateDir() ?? defaultStateDir())
    .option('--listen <addr>', 'coordinator address', env.coordinator())
    .option('--lease <seconds>', 'lease of an assignment without heartbeat', '30')
    .option('--accel <mode>', "the agents' qemu accelerator: auto (proven at start-up), kvm or tcg", 'auto')
    .option('--accel-probe-kernel <image>', 'a kernel image the agents boot under KVM to prove it')
    .option('--dashboard <addr>', 'serve the web dashboard here (loopback)', DEFAULT_DASHBOARD_LISTEN)
    .option('--no-dashboard', 'no web dashboard')
    .addHelpText('after', '\nExample:\n  multisect up --agents 4 --slots 2          # the dashboard: http://127.0.0.1:7480/\n  multisect bisect --repo . --bad HEAD --good v1.0 --test ./t.sh   # in another terminal')
    .action(async (o) =>
      runCommand(false, async () => {
        const farm = await startLocalFarm({
          agents: parseIntFlag('--agents', o.agents),
          slots: parseIntFlag('--slots', o.slots),
          nats: o.nats,
          stateDir: o.stateDir,
          listen: o.listen,
          leaseMs: parseNumberFlag('--lease', o.lease) * 1000,
          accel: o.accel,
          accelProbeKernel: o.accelProbeKernel,
          onLine: (l) => process.stderr.write(`${l}\n`),
          dashboard: o.dashboard ? { listen: o.dashboard, logger: createLogger({ level: 'warn', base: { role: 'dashboard' } }) } : undefined,
        });
        const dashboard = farm.dashboardUrl ? `, dashboard ${farm.dashboardUrl}` : '';
        process.stdout.write(`local farm ready: coordinator ${farm.coordinator}, NATS ${farm.nats}${dashboard}; Ctrl-C stops it\n`);
        await untilSignal(() => farm.stop());
      }),
    );
}
