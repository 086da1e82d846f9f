/**
 * Starts a real nats-server for a test suite: port -1 (the server picks a free one), a ports
 * file to learn it, a temporary JetStream store. `stop()` always kills it; a process 'exit' hook
 * kills it too if the test crashed before its cleanup ran.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, jwtAuthenticator } from 'nats';
import { registerChild } from './processes.js';

export interface NatsServerHandle {
  url: string;
  port: number;
  storeDir: string;
  /** Stop the server (SIGTERM, then SIGKILL). Keeps the store. */
  stop(): Promise<void>;
  /** Kill -9 without cleanup. */
  kill(): Promise<void>;
  /** Start again on the same store and the same port. */
  restart(): Promise<void>;
  /** Stop and delete the store. Safe to call twice. */
  dispose(): Promise<void>;
}

export interface StartNatsOptions {
  /** Reuse a store (a restart test). Default: a new temporary directory. */
  storeDir?: string;
  /** Fixed port; default -1 (any free one). */
  port?: number;
  extraArgs?: string[];
  /** NATS JWT authentication (with a `-c` configuration in extraArgs): how to check it is up. */
  credentials?: { jwt: string; seed: Uint8Array };
}

export async function startNatsServer(options: StartNatsOptions = {}): Promise<NatsServerHandle> {
  const storeDir = options.storeDir ?? (await mkdtemp(join(tmpdir(), 'multisect-nats-')));
  let port = options.port ?? -1;
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const portsDir = await mkdtemp(join(tmpdir(), 'multisect-ports-'));
    const args = ['-js', '-sd', join(storeDir, 'js'), '-a', '127.0.0.1', '-p', String(port), '--ports_file_dir', portsDir, ...(options.extraArgs ?? [])];
    const proc = spawn('nats-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    registerChild(proc);
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const exited = new Promise<never>((_, reject) => {
      proc.once('error', (err) => reject(new Error(`nats-server could not start (is it installed? apt-get install nats-server): ${err.message}`)));
      proc.once('exit', (code) => reject(new Error(`nats-server exited with ${code}: ${stderr}`)));
    });
    exited.catch(() => undefined);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const files = await readdir(portsDir).catch(() => [] as string[]);
      const file = files.find((f) => f.endsWith('.ports'));
      if (file) {
        const text = await readFile(join(portsDir, file), 'utf8').catch(() => '');
        const parsed = text ? (JSON.parse(text) as { nats?: string[] }) : {};
        const u = parsed.nats?.[0];
        if (u) {
          port = Number(new URL(u).port);
          break;
        }
      }
      if (Date.now() > deadline) throw new Error(`nats-server did not write its ports file: ${stderr}`);
      await Promise.race([new Promise((r) => setTimeout(r, 25)), exited]);
    }
    await rm(portsDir, { recursive: true, force: true });
    // Wait until it accepts connections and JetStream answers.
    for (;;) {
      try {
        const auth = options.credentials ? { authenticator: jwtAuthenticator(options.credentials.jwt, options.credentials.seed) } : {};
        const nc = await connect({ servers: `nats://127.0.0.1:${port}`, timeout: 500, ...auth });
        await (await nc.jetstreamManager()).getAccountInfo();
        await nc.close();
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`nats-server on port ${port} does not accept connections: ${stderr}`);
        await Promise.race([new Promise((r) => setTimeout(r, 50)), exited]);
      }
    }
  };

  const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const done = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(timer);
  };

  await launch();
  let disposed = false;
  const handle: NatsServerHandle = {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    storeDir,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    restart: async () => {
      await stopWith('SIGTERM');
      await launch();
    },
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      await stopWith('SIGTERM');
      if (!options.storeDir) await rm(storeDir, { recursive: true, force: true });
    },
  };
  return handle;
}

let counter = 0;
/** A unique name for a test's streams, subjects and buckets. */
export function uniqueName(base = 't'): string {
  counter += 1;
  return `${base}${process.pid}x${counter}x${Math.random().toString(36).slice(2, 6)}`;
}
