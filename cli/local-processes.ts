/**
 * Child processes of `multisect up`: a nats-server with its store under the state directory,
 * and this same program started again as coordinator and agents. Their output goes to log files
 * so the terminal shows only what the operator needs.
 *
 * They end when the process that started them ends, however it ends: each is started through
 * `setpriv --pdeathsig TERM` (util-linux), so the kernel sends it SIGTERM the moment its parent
 * dies, kill -9 included. The coordinator and agents also watch their parent themselves
 * (parentGone), for hosts without setpriv. What survives both is stopped by the next
 * `multisect up` on the same state directory (cli/farm-pids.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InfraError } from '../shared/errors.js';
import { PARENT_PID_VAR } from './env.js';
import { dieWithThisProcess } from '../shared/pdeathsig.js';

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export function spawnManaged(name: string, program: string, args: string[], logDir: string, env: NodeJS.ProcessEnv = process.env): ManagedProcess {
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  // setpriv execs the program: same pid, so signals and the pid file reach the program itself.
  const cmd = dieWithThisProcess(program, args);
  const child = spawn(cmd.program, cmd.args, { stdio: ['ignore', fd, fd], env });
  const stop = async (graceMs = 15_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return { name, child, logFile, stop };
}

/** The CLI's entry point next to this file: main.ts under tsx, main.js in dist/. */
const CLI_MAIN = fileURLToPath(new URL(`./main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/**
 * The CLI again, with other arguments (works from dist/ and under tsx alike). Not process.argv[1]:
 * a script that calls startLocalFarm (the demos, the benchmarks) would start itself again.
 */
export function selfCommand(args: string[]): { program: string; args: string[]; env: NodeJS.ProcessEnv } {
  return { program: process.execPath, args: [...process.execArgv, CLI_MAIN, ...args], env: { ...process.env, [PARENT_PID_VAR]: String(process.pid) } };
}

/**
 * For a coordinator or agent started by `multisect up` (whose pid is `parentPid`): resolves
 * once that process is gone, i.e. is no longer our parent (checked every `everyMs`). Undefined
 * when it is not our parent to begin with (the variable inherited by something further down).
 */
export function parentGone(parentPid: number | undefined, everyMs = 1000): Promise<void> | undefined {
  if (parentPid === undefined || process.ppid !== parentPid) return undefined;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (process.ppid === parentPid) return;
      clearInterval(timer);
      resolve();
    }, everyMs);
    timer.unref();
  });
}

export function natsServerInstalled(): boolean {
  return spawnSync('nats-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Start nats-server with JetStream on a free loopback port; resolves with its URL. */
export async function startLocalNats(storeDir: string, logDir: string, onSpawn?: (p: ManagedProcess) => void): Promise<{ url: string; proc: ManagedProcess }> {
  if (!natsServerInstalled()) {
    throw new InfraError('nats-server is not installed', {
      hint: 'install it with `sudo apt-get install nats-server` (Debian/Ubuntu), or point at a running server with --nats URL',
    });
  }
  const portsDir = join(storeDir, 'ports');
  rmSync(portsDir, { recursive: true, force: true });
  mkdirSync(portsDir, { recursive: true });
  const proc = spawnManaged('nats-server', 'nats-server', ['-js', '-sd', join(storeDir, 'jetstream'), '-a', '127.0.0.1', '-p', '-1', '--ports_file_dir', portsDir], logDir);
  onSpawn?.(proc);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new InfraError(`nats-server exited at start; see ${proc.logFile}`);
    const file = readdirSync(portsDir).find((f) => f.endsWith('.ports'));
    if (file) {
      try {
        const ports = JSON.parse(readFileSync(join(portsDir, file), 'utf8')) as { nats?: string[] };
        const url = ports.nats?.[0];
        if (url) return { url: url.replace('0.0.0.0', '127.0.0.1'), proc };
      } catch {
        /* half-written; read again */
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await proc.stop();
  throw new InfraError(`nats-server did not start within 10 s; see ${proc.logFile}`);
}
