/**
 * Starting programs from a small helper process instead of from this one.
 *
 * Why: Node starts a child by fork + exec, and fork copies the page tables of the whole process.
 * Measured here (test/bench/spawn-cost.ts): the loop is held 1.6 ms a spawn by a fresh Node, 7.6 ms
 * with 200 MB of heap, 17 ms with 500 MB; through the helper 0.13 ms at any size (a git's result
 * then takes ~5.5 ms to come back, but nothing waits for it meanwhile). The coordinator holds ~500 MB with
 * 50 jobs and runs a dozen git processes per job (range load, culprit facts, fetches): in the
 * scale benchmark that was 15% of its CPU, in stalls that every waiting verdict sat behind.
 * The helper (spawn-helper-main.ts) is forked once; each program then costs this process one
 * IPC message each way.
 *
 * One helper per process, shared by whoever acquired it (a coordinator; tests may run several in
 * one process), ended when the last one lets go. If it dies, callers fall back to spawning here
 * (`activeSpawnHelper()` is then undefined) and the next acquire starts a new one.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HelperReply, HelperRequest } from './spawn-helper-protocol.js';

/** The helper's entry point next to this file: .ts under tsx, .js in dist/. */
const HELPER_MAIN = fileURLToPath(new URL(`./spawn-helper-main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

export interface HelperRunOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  input?: Buffer | string;
  /** 0: none. */
  timeoutMs?: number;
  maxBuffer?: number;
  signal?: AbortSignal;
}

export interface HelperRunResult {
  stdout: Buffer;
  stderr: Buffer;
  code: number;
  signal: string;
  timedOut: boolean;
  /** stdout passed maxBuffer (the program was stopped). */
  overflow: boolean;
}

/** The program could not be started; `code` is the errno name (ENOENT, EACCES...). */
export class SpawnFailure extends Error {
  override readonly name = 'SpawnFailure';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  resolve: (r: HelperRunResult) => void;
  reject: (e: Error) => void;
  onChunk?: (data: Buffer, next: () => void) => void;
}

const toBuffer = (u: Buffer | Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));

/** Flags of this process that must not reach the helper (a profiler, debugger or test runner would run twice). */
function helperExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (/^--(cpu-prof|heap-prof|inspect|prof|diagnostic-dir|max-old-space-size|test)/.test(a)) {
      // "--cpu-prof-dir X": the value is the next word.
      if (!a.includes('=') && /-(dir|name|interval|reporter|destination|concurrency|timeout|name-pattern)$/.test(a)) i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

export class SpawnHelper {
  private state: 'running' | 'closed' = 'running';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: HelperReply) => this.onReply(m));
    child.once('exit', () => this.fail(new Error('the spawn helper process exited')));
    child.unref();
    (child.channel as unknown as { unref?: () => void } | undefined)?.unref?.();
  }

  static async create(): Promise<SpawnHelper> {
    const child = fork(HELPER_MAIN, [], { execArgv: helperExecArgv(), serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', reject);
    });
    return new SpawnHelper(child);
  }

  get alive(): boolean {
    return this.state === 'running' && this.child.connected;
  }

  /**
   * Run a program to its end. With `onChunk`, stdout comes to it in chunks instead, one at a
   * time: the next after `next()` is called (the consumer's pace; nothing piles up here).
   */
  run(file: string, args: readonly string[], o: HelperRunOptions, onChunk?: (data: Buffer, next: () => void) => void): Promise<HelperRunResult> {
    if (!this.alive) return Promise.reject(new Error('the spawn helper is not running'));
    const id = this.nextId++;
    const input = o.input === undefined ? undefined : Buffer.isBuffer(o.input) ? o.input : Buffer.from(o.input);
    const req: HelperRequest = {
      type: 'run', id, file, args: [...args], cwd: o.cwd, env: o.env, input,
      timeoutMs: o.timeoutMs ?? 0, maxBuffer: o.maxBuffer ?? 256 * 1024 * 1024, stream: onChunk !== undefined,
    };
    return new Promise<HelperRunResult>((resolve, reject) => {
      if (o.signal?.aborted) {
        reject(o.signal.reason instanceof Error ? o.signal.reason : new Error('aborted'));
        return;
      }
      const onAbort = () => this.send({ type: 'kill', id });
      o.signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        o.signal?.removeEventListener('abort', onAbort);
        this.pending.delete(id);
        if (this.pending.size === 0) this.unrefChannel();
      };
      this.pending.set(id, {
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
        ...(onChunk ? { onChunk } : {}),
      });
      // Keep this process alive while a program runs for it (idle, the helper holds nothing open).
      if (this.pending.size === 1) this.refChannel();
      this.send(req);
    });
  }

  /** Safe to call twice. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.child.connected) this.child.disconnect();
    this.fail(new Error('the spawn helper was closed'));
  }

  private send(m: HelperRequest): void {
    if (this.child.connected) this.child.send(m);
  }

  private onReply(m: HelperReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === 'chunk') p.onChunk?.(toBuffer(m.data), () => this.send({ type: 'more', id: m.id }));
    else if (m.type === 'error') p.reject(new SpawnFailure(m.code, m.message));
    else p.resolve({ stdout: toBuffer(m.stdout), stderr: toBuffer(m.stderr), code: m.code, signal: m.signal, timedOut: m.timedOut, overflow: m.overflow });
  }

  private fail(err: Error): void {
    this.state = 'closed';
    for (const p of [...this.pending.values()]) p.reject(err);
    this.pending.clear();
  }

  private refChannel(): void {
    (this.child.channel as unknown as { ref?: () => void } | undefined)?.ref?.();
  }

  private unrefChannel(): void {
    (this.child.channel as unknown as { unref?: () => void } | undefined)?.unref?.();
  }
}

let shared: { helper: Promise<SpawnHelper>; users: number } | undefined;
let current: SpawnHelper | undefined;

/**
 * Route this process's git runs through a helper until the returned release is called (safe to
 * call twice). Call it at an entry point that holds a large heap (the coordinator).
 */
export async function acquireSpawnHelper(): Promise<() => void> {
  if (shared) {
    const h = await shared.helper.catch(() => undefined);
    if (!h?.alive) shared = undefined;
  }
  shared ??= { helper: SpawnHelper.create(), users: 0 };
  const mine = shared;
  mine.users++;
  current = await mine.helper;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    mine.users--;
    if (mine.users === 0) {
      void mine.helper.then((h) => h.close()).catch(() => undefined);
      if (shared === mine) {
        shared = undefined;
        current = undefined;
      }
    }
  };
}


/** The helper to run programs through, when one is acquired and alive. */
export function activeSpawnHelper(): SpawnHelper | undefined {
  return current?.alive ? current : undefined;
}
