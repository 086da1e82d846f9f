/**
 * Bare git mirrors, one per repository, kept under a state directory. Coordinator and agents
 * each keep their own: the coordinator to resolve refs and list candidates, agents to check out.
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { InvalidJobError } from './errors.js';
import { git } from './git.js';

/** Schemes a repository URL may use; anything else (ext::, fd::) is refused. */
const ALLOWED_URL = /^(https?|ssh|git|file):\/\/[^\s]+$|^[\w.-]+@[\w.-]+:[^\s]+$/;

/** Check a repository location from a job spec. Local paths must be absolute. */
export function checkRepoLocation(repo: string, field = 'repo'): void {
  if (!repo || repo.trim() !== repo) throw new InvalidJobError(field, 'must be a non-empty path or URL without surrounding spaces');
  if (repo.startsWith('-')) throw new InvalidJobError(field, `${JSON.stringify(repo)} looks like an option, not a repository`);
  if (repo.includes('::')) throw new InvalidJobError(field, `${JSON.stringify(repo)}: git transport helpers (::) are not allowed`);
  if (isAbsolute(repo)) return;
  if (!ALLOWED_URL.test(repo)) {
    throw new InvalidJobError(field, `${JSON.stringify(repo)} is neither an absolute path nor an http(s)/ssh/git/file URL`, {
      hint: 'give an absolute path (the CLI makes relative paths absolute) or a URL',
    });
  }
}

export class MirrorSet {
  /** Serialise fetches per repository: git does not like concurrent fetches into one mirror. */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
  ) {}

  pathFor(repo: string): string {
    const h = createHash('sha256').update(repo).digest('hex').slice(0, 16);
    return join(this.dir, `${h}.git`);
  }

  /**
   * Make sure the mirror exists and has `wanted` commits (fetch when not, or always when
   * `refresh`). Returns the mirror's path.
   */
  async ensure(repo: string, options: { refresh?: boolean; wanted?: string[]; signal?: AbortSignal } = {}): Promise<string> {
    checkRepoLocation(repo);
    const path = this.pathFor(repo);
    return this.locked(path, async () => {
      const exists = await stat(path).then(() => true, () => false);
      if (!exists) {
        await this.clone(repo, path, options.signal);
        return path;
      }
      let need = options.refresh === true;
      for (const c of options.wanted ?? []) {
        if (need) break;
        const r = await git(path, ['cat-file', '-e', `${c}^{commit}`], { check: false });
        if (r.code !== 0) need = true;
      }
      if (need) {
        this.logger.info({ repo, path }, 'fetching mirror');
        await git(path, ['fetch', '--prune', '--force', '--tags', '--end-of-options', repo, '+refs/*:refs/*'], { signal: options.signal }).catch((err) => {
          throw new InvalidJobError('repo', `cannot fetch ${repo}: ${(err as Error).message}`, { cause: err });
        });
      }
      return path;
    });
  }

  private async clone(repo: string, path: string, signal?: AbortSignal): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
    this.logger.info({ repo, path }, 'cloning mirror');
    const source = isAbsolute(repo) ? resolve(repo) : repo;
    try {
      await git(this.dir, ['clone', '--mirror', '--quiet', '--end-of-options', source, tmp], { signal });
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw new InvalidJobError('repo', `cannot clone ${repo}: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`, {
        cause: err,
        hint: 'check that the repository exists and is readable from this host',
      });
    }
    await rename(tmp, path);
  }

  private async locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.locks.set(key, next.catch(() => undefined));
    return next;
  }
}
