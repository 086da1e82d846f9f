/**
 * Three nats-server processes clustered on loopback with JetStream (what a lab runs on three
 * hosts, see deploy/nats/), for fault tests: each node can be killed and restarted on its store.
 * Ports are picked free up front (routes must name each other). Everything is killed when the
 * test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, jwtAuthenticator, type Authenticator } from 'nats';
import { natsAuthInit } from '../../cli/actions/nats-auth.js';
import { NatsCredentials } from '../../coordinator/nats-credentials.js';
import { DEFAULT_STORE_NAMES } from '../../shared/nats.js';
import { freePort } from './farm.js';
import type { NatsServerHandle } from './nats-server.js';
import { registerChild } from './processes.js';

export interface NatsCluster {
  nodes: NatsServerHandle[];
  urls: string[];
  dir: string;
  /**
   * With `jwt`: the account seed file (the coordinator's --nats-account-seed) and a credential
   * with every right, for the test's own connections (`natsAuth` spreads into connect options).
   */
  accountSeedFile?: string;
  natsAuth: { authenticator?: Authenticator };
  /** Wait until JetStream answers through every live node (a meta leader exists). */
  waitReady(timeoutMs?: number): Promise<void>;
  dispose(): Promise<void>;
}

/** `jwt`: NATS JWT authentication, as `multisect nats-auth init` sets it up for a lab. */
export async function startNatsCluster(size = 3, options: { jwt?: boolean } = {}): Promise<NatsCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'multisect-cluster-'));
  let accountSeedFile: string | undefined;
  let natsAuth: { authenticator?: Authenticator } = {};
  if (options.jwt) {
    await natsAuthInit({ out: join(dir, 'auth'), readers: [] });
    accountSeedFile = join(dir, 'auth', 'account.seed');
    const c = new NatsCredentials(await readFile(accountSeedFile, 'utf8'), DEFAULT_STORE_NAMES, 3600_000).forCoordinator('test');
    natsAuth = { authenticator: jwtAuthenticator(c.jwt, c.seed) };
  }
  const ports: number[] = [];
  const routePorts: number[] = [];
  for (let i = 0; i < size; i++) {
    ports.push(await freePort());
    routePorts.push(await freePort());
  }
  const routes = routePorts.map((p) => `nats-route://127.0.0.1:${p}`);
  const nodes: NatsServerHandle[] = [];
  for (let i = 0; i < size; i++) {
    const name = `n${i + 1}`;
    const storeDir = join(dir, name);
    await mkdir(storeDir, { recursive: true });
    const conf = join(dir, `${name}.conf`);
    await writeFile(
      conf,
      `server_name: ${name}
listen: 127.0.0.1:${ports[i]}
${options.jwt ? 'include auth/nats-jwt-auth.conf' : ''}
jetstream { store_dir: "${storeDir}" }
cluster {
  name: multisect-test
  listen: 127.0.0.1:${routePorts[i]}
  routes: [${routes.filter((_, j) => j !== i).join(', ')}]
}
`,
    );
    let child: ChildProcess | undefined;
    let log = '';
    const launch = async () => {
      const proc = spawn('nats-server', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
      registerChild(proc);
      proc.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-8000)));
      child = proc;
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          const nc = await connect({ servers: `nats://127.0.0.1:${ports[i]}`, timeout: 500, reconnect: false, ...natsAuth });
          await nc.close();
          return;
        } catch {
          if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`nats-server ${name} did not start: ${log}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    const stopWith = async (signal: NodeJS.Signals) => {
      const proc = child;
      child = undefined;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const done = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(t);
    };
    await launch();
    nodes.push({
      url: `nats://127.0.0.1:${ports[i]}`,
      port: ports[i]!,
      storeDir,
      stop: () => stopWith('SIGTERM'),
      kill: () => stopWith('SIGKILL'),
      restart: async () => {
        await stopWith('SIGTERM');
        await launch();
      },
      dispose: () => stopWith('SIGKILL'),
    });
  }
  const urls = nodes.map((n) => n.url);
  const cluster: NatsCluster = {
    nodes,
    urls,
    dir,
    ...(accountSeedFile ? { accountSeedFile } : {}),
    natsAuth,
    async waitReady(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          const nc = await connect({ servers: urls, timeout: 1000, reconnect: false, ...natsAuth });
          try {
            await (await nc.jetstreamManager()).getAccountInfo();
            return;
          } finally {
            await nc.close();
          }
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`the NATS cluster has no JetStream leader: ${(err as Error).message}`);
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    },
    async dispose() {
      await Promise.all(nodes.map((n) => n.dispose()));
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await cluster.waitReady();
  } catch (err) {
    await cluster.dispose();
    throw err;
  }
  return cluster;
}
