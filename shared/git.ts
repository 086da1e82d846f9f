/**
 * Git access without a shell: every call is an argument vector to execFile, refs are checked
 * with `rev-parse --verify --end-of-options` so a ref can never be taken for an option.
 */
import { execFile, spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { GitError, InvalidJobError } from './errors.js';
import { activeSpawnHelper, SpawnFailure, type HelperRunResult, type SpawnHelper } from './spawn-helper.js';

export interface GitResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface GitRunOptions {
  /** Throw GitError on a non-zero exit. Default true. */
  check?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Kill git after this long. Default 10 minutes (a first fetch of a kernel mirror is long). */
  timeoutMs?: number;
  signal?: AbortSignal;
  maxBuffer?: number;
}

const GIT_ENV = {
  GIT_TERMINAL_PROMPT: '0',
  GIT_CONFIG_NOSYSTEM: '1',
  LC_ALL: 'C',
};

export function git(cwd: string, args: readonly string[], options: GitRunOptions = {}): Promise<GitResult> {
  const helper = activeSpawnHelper();
  if (helper) return gitViaHelper(helper, cwd, args, options);
  return gitHere(cwd, args, options);
}

function gitHere(cwd: string, args: readonly string[], options: GitRunOptions): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      args as string[],
      {
        cwd,
        env: { ...process.env, ...GIT_ENV, ...options.env },
        timeout: options.timeoutMs ?? 600_000,
        maxBuffer: options.maxBuffer ?? 256 * 1024 * 1024,
        signal: options.signal,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? ((err as unknown as { code: number }).code) : 1) : 0;
        if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT' && !stderr) {
          reject(new GitError(`cannot run git in ${cwd}: ${err?.message}`, args, '', { cause: err, hint: 'is git installed, and does the directory exist?' }));
          return;
        }
        if (err && options.check !== false) {
          reject(new GitError(`git ${args.join(' ')} failed in ${cwd}: ${stderr.trim() || err.message}`, args, stderr, { cause: err }));
          return;
        }
        resolve({ stdout, stderr, code });
      },
    );
  });
}

/**
 * git() through the spawn helper (spawn-helper.ts), with the same results and errors. A helper
 * that dies under a run is not a git failure: the run is made here instead.
 */
async function gitViaHelper(helper: SpawnHelper, cwd: string, args: readonly string[], options: GitRunOptions): Promise<GitResult> {
  let r: HelperRunResult;
  try {
    r = await helper.run('git', args, {
      cwd,
      env: { ...process.env, ...GIT_ENV, ...options.env },
      timeoutMs: options.timeoutMs ?? 600_000,
      maxBuffer: options.maxBuffer ?? 256 * 1024 * 1024,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (err) {
    if (err instanceof SpawnFailure) throw spawnFailure(cwd, args, err);
    if (options.signal?.aborted) throw err;
    return gitHere(cwd, args, options);
  }
  return gitOutcome(cwd, args, r, options.check !== false);
}

function spawnFailure(cwd: string, args: readonly string[], err: SpawnFailure): GitError {
  return new GitError(`cannot run git in ${cwd}: ${err.message}`, args, '', { cause: err, hint: err.code === 'ENOENT' ? 'is git installed, and does the directory exist?' : undefined });
}

function gitOutcome(cwd: string, args: readonly string[], r: HelperRunResult, check: boolean): GitResult {
  const stdout = r.stdout.toString('utf8');
  const stderr = r.stderr.toString('utf8');
  const failed = r.code !== 0 || r.signal !== '' || r.timedOut || r.overflow;
  const code = failed ? r.code || 1 : 0;
  if (failed && check) {
    const why = r.timedOut ? 'timed out' : r.overflow ? 'printed more than its output limit' : r.signal ? `killed by ${r.signal}` : `exit status ${r.code}`;
    throw new GitError(`git ${args.join(' ')} failed in ${cwd}: ${stderr.trim() || why}`, args, stderr);
  }
  return { stdout, stderr, code };
}

/** Resolve a ref to a full commit hash, or throw InvalidJobError naming the field. */
export async function resolveCommit(repoDir: string, ref: string, field: string): Promise<string> {
  if (ref.trim() === '' || ref.startsWith('-')) {
    throw new InvalidJobError(field, `${JSON.stringify(ref)} is not a valid ref`);
  }
  const r = await git(repoDir, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], { check: false });
  const hash = r.stdout.trim();
  if (r.code !== 0 || !/^[0-9a-f]{40,64}$/.test(hash)) {
    throw new InvalidJobError(field, `unknown revision ${JSON.stringify(ref)} in ${repoDir}`, {
      hint: 'give a commit hash, branch or tag that exists in the repository (fetch it first if it is new)',
    });
  }
  return hash;
}

/** Is `ancestor` an ancestor-or-self of `descendant`? */
export async function isAncestor(repoDir: string, ancestor: string, descendant: string): Promise<boolean> {
  const r = await git(repoDir, ['merge-base', '--is-ancestor', ancestor, descendant], { check: false });
  if (r.code === 0) return true;
  if (r.code === 1) return false;
  throw new GitError(`git merge-base --is-ancestor failed: ${r.stderr.trim()}`, ['merge-base'], r.stderr);
}

/** Is the directory a git repository (bare or not)? */
export async function isRepository(dir: string): Promise<boolean> {
  const r = await git(dir, ['rev-parse', '--git-dir'], { check: false }).catch(() => undefined);
  return r?.code === 0;
}

/**
 * Stream the stdout of a git command line by line (for rev-list over a big history: one process,
 * nothing held but the current line).
 */
export async function* gitLines(cwd: string, args: readonly string[], options: { signal?: AbortSignal } = {}): AsyncGenerator<string> {
  const helper = activeSpawnHelper();
  if (helper) {
    yield* gitLinesViaHelper(helper, cwd, args, options);
    return;
  }
  const child = spawn('git', args as string[], { cwd, env: { ...process.env, ...GIT_ENV }, stdio: ['ignore', 'pipe', 'pipe'], signal: options.signal });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exit = new Promise<number>((resolve, reject) => {
    child.once('error', (err) => reject(new GitError(`cannot run git: ${err.message}`, args, '', { cause: err })));
    child.once('close', (code) => resolve(code ?? 1));
  });
  let rest = '';
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      const text = rest + chunk.toString('utf8');
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) yield line;
    }
    if (rest) yield rest;
  } finally {
    if (child.exitCode === null) child.kill();
  }
  const code = await exit;
  if (code !== 0) throw new GitError(`git ${args.join(' ')} failed in ${cwd}: ${stderr.trim()}`, args, stderr);
}

/** gitLines() through the spawn helper: its stdout comes a chunk at a time, at this consumer's pace. */
async function* gitLinesViaHelper(helper: SpawnHelper, cwd: string, args: readonly string[], options: { signal?: AbortSignal }): AsyncGenerator<string> {
  const stop = new AbortController();
  const onAbort = () => stop.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const chunks: { data: Buffer; next: () => void }[] = [];
  let wake: (() => void) | undefined;
  let ended: { result?: HelperRunResult; error?: unknown } | undefined;
  helper
    .run('git', args, { cwd, env: { ...process.env, ...GIT_ENV }, signal: stop.signal }, (data, next) => {
      chunks.push({ data, next });
      wake?.();
    })
    .then(
      (result) => (ended = { result }),
      (error: unknown) => (ended = { error }),
    )
    .finally(() => wake?.());
  const decoder = new StringDecoder('utf8');
  let rest = '';
  try {
    for (;;) {
      const c = chunks.shift();
      if (!c) {
        if (ended) break;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
        continue;
      }
      const lines = (rest + decoder.write(c.data)).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) yield line;
      c.next();
    }
    rest += decoder.end();
    if (rest) yield rest;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (!ended) stop.abort();
  }
  if (ended.error instanceof SpawnFailure) throw new GitError(`cannot run git: ${ended.error.message}`, args, '', { cause: ended.error });
  if (ended.error !== undefined) throw ended.error;
  gitOutcome(cwd, args, ended.result!, true);
}

/** All merge bases of two commits (full hashes); empty when they share no history. */
export async function mergeBases(repoDir: string, a: string, b: string): Promise<string[]> {
  const r = await git(repoDir, ['merge-base', '--all', '--end-of-options', a, b], { check: false });
  if (r.code === 1 && r.stdout.trim() === '') return [];
  if (r.code !== 0) throw new GitError(`git merge-base failed: ${r.stderr.trim()}`, ['merge-base', '--all', a, b], r.stderr);
  return r.stdout.split('\n').filter((l) => l !== '');
}

/** Run git with `input` on its stdin (git fast-import, hash-object --stdin...). */
export function gitWithInput(cwd: string, args: readonly string[], input: string | Buffer, options: { env?: NodeJS.ProcessEnv } = {}): Promise<GitResult> {
  const helper = activeSpawnHelper();
  if (helper) {
    return helper.run('git', args, { cwd, env: { ...process.env, ...GIT_ENV, ...options.env }, input }).then(
      (r) => gitOutcome(cwd, args, r, true),
      (err: unknown) => {
        throw err instanceof SpawnFailure ? spawnFailure(cwd, args, err) : err;
      },
    );
  }
  return new Promise((resolve, reject) => {
    const child = spawn('git', args as string[], { cwd, env: { ...process.env, ...GIT_ENV, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.once('error', (e) => reject(new GitError(`cannot run git: ${e.message}`, args, '', { cause: e })));
    child.once('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code !== 0) reject(new GitError(`git ${args.join(' ')} failed in ${cwd}: ${stderr.trim()}`, args, stderr));
      else resolve({ stdout, stderr, code: 0 });
    });
    child.stdin.on('error', () => {
      /* git exited early; the close handler reports it */
    });
    child.stdin.end(input);
  });
}
