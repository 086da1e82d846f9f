/**
 * Run a command as an argument vector (never through a shell), in its own process group so a
 * cancellation kills everything it started, with a timeout and bounded output capture.
 */
import { spawn } from 'node:child_process';

export interface ProcessResult {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr interleaved, the last `maxOutput` bytes. */
  output: string;
  truncated: boolean;
  timedOut: boolean;
  cancelled: boolean;
  /** Set when the program could not be started at all (ENOENT, EACCES). */
  spawnError: NodeJS.ErrnoException | undefined;
  durationMs: number;
}

export interface ProcessOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Bytes of output kept (the tail). Default 4 MiB. */
  maxOutput?: number;
  onOutput?: (chunk: Buffer) => void;
}

export function runProcess(argv: readonly string[], options: ProcessOptions): Promise<ProcessResult> {
  const started = Date.now();
  const maxOutput = options.maxOutput ?? 4 * 1024 * 1024;
  return new Promise((resolve) => {
    const [program, ...args] = argv;
    if (!program) {
      resolve({ code: null, signal: null, output: '', truncated: false, timedOut: false, cancelled: false, spawnError: Object.assign(new Error('empty command'), { code: 'ENOENT' }), durationMs: 0 });
      return;
    }
    const child = spawn(program, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    let timedOut = false;
    let cancelled = false;
    let spawnError: NodeJS.ErrnoException | undefined;
    const onData = (d: Buffer) => {
      options.onOutput?.(d);
      chunks.push(d);
      size += d.length;
      if (size > maxOutput * 2) {
        const all = Buffer.concat(chunks);
        chunks = [all.subarray(all.length - maxOutput)];
        size = maxOutput;
        truncated = true;
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          killGroup();
        }, options.timeoutMs)
      : undefined;
    const onAbort = () => {
      cancelled = true;
      killGroup();
    };
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (err: NodeJS.ErrnoException) => {
      spawnError = err;
    });
    child.once('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      let all = Buffer.concat(chunks);
      if (all.length > maxOutput) {
        all = all.subarray(all.length - maxOutput);
        truncated = true;
      }
      resolve({ code, signal, output: all.toString('utf8'), truncated, timedOut, cancelled, spawnError, durationMs: Date.now() - started });
    });
  });
}
