/**
 * The agent's disk: a bare mirror per repository, and per slot a worktree (checked out at the
 * exact commit of each probe, cleaned), a build directory kept between probes, and scratch space.
 *
 * Preparing the worktree is the agent's business, never the commit's. A git killed in the middle
 * of a checkout (a cancelled probe, a crash) leaves `index.lock` behind, and every later checkout
 * in that worktree fails; a worktree's gitdir may go missing. So a failed checkout is repaired and
 * tried again: first without stale lock files, then in a worktree made afresh. What still fails is
 * an InfraError: a problem of this host, and the probe runs elsewhere.
 */
import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, readdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import { InfraError } from '../shared/errors.js';
import { git } from '../shared/git.js';
import { MirrorSet } from '../shared/mirror.js';

export interface SlotDirs {
  worktree: string;
  buildDir: string;
  scratchDir: string;
  /** The git tree object id of the commit checked out (what the kernel cache keys on). */
  tree: string;
}

/** One checkout to make: which commit, in which slot's worktree, of which mirror. */
interface Target {
  mirror: string;
  worktree: string;
  commit: string;
  slot: number;
  signal: AbortSignal | undefined;
}

export class Workspace {
  private readonly mirrors: MirrorSet;
  /**
   * Everything that writes the mirror's own metadata (fetch, worktree add/prune, removing its
   * stale locks) runs one at a time per mirror, so a lock found there while holding this is
   * never one of our live gits'.
   */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly stateDir: string,
    private readonly logger: Logger,
  ) {
    this.mirrors = new MirrorSet(join(stateDir, 'mirrors'), logger);
  }

  /**
   * Check out `commit` of `repo` in the slot's worktree and prepare its directories. Throws
   * InfraError when the commit cannot be checked out even after repairs, and git's or the
   * mirror's error as is when `signal` is aborted.
   */
  async prepare(repo: string, commit: string, slot: number, probeId: string, signal?: AbortSignal): Promise<SlotDirs> {
    const mirror = this.mirrors.pathFor(repo);
    await this.locked(mirror, () => this.ensureMirror(repo, mirror, commit, slot, signal));
    const key = createHash('sha256').update(repo).digest('hex').slice(0, 12);
    const slotDir = join(this.stateDir, 'slots', String(slot));
    // wt and build side by side under one directory per repository: the same relative layout in
    // every slot and for every repository, which is what lets ccache share objects between them
    // (agent/kernel/build.ts).
    const worktree = join(slotDir, key, 'wt');
    const buildDir = join(slotDir, key, 'build');
    const scratchDir = join(slotDir, `scratch-${probeId}`);
    await mkdir(buildDir, { recursive: true });
    await mkdir(scratchDir, { recursive: true });
    await this.checkout({ mirror, worktree, commit, slot, signal });
    const tree = (await git(worktree, ['rev-parse', 'HEAD^{tree}'], { signal })).stdout.trim();
    return { worktree, buildDir, scratchDir, tree };
  }

  async cleanupScratch(dirs: SlotDirs): Promise<void> {
    await rm(dirs.scratchDir, { recursive: true, force: true });
  }

  /** Fetch what is needed (once more without stale mirror locks if that fails), then make sure the commit is there. */
  private async ensureMirror(repo: string, mirror: string, commit: string, slot: number, signal: AbortSignal | undefined): Promise<void> {
    try {
      await this.mirrors.ensure(repo, { wanted: [commit], signal });
    } catch (err) {
      if (signal?.aborted) throw err;
      // A fetch killed half-way leaves packed-refs.lock, shallow.lock... and every later fetch fails.
      if ((await this.removeMirrorLocks(mirror)) === 0) throw err;
      await this.mirrors.ensure(repo, { wanted: [commit], signal });
    }
    const r = await git(mirror, ['cat-file', '-e', `${commit}^{commit}`], { check: false });
    if (r.code !== 0) {
      throw new InfraError(`slot ${slot}: commit ${commit} is not in this agent's mirror of ${repo}, even after a fetch`, {
        hint: 'check that this host fetches the same repository as the coordinator (a rewritten history, another remote?)',
      });
    }
  }

  /** Check out, repairing on failure: as is; without stale locks; in a fresh worktree. */
  private async checkout(t: Target): Promise<void> {
    let failure: unknown;
    try {
      return await this.attempt(t);
    } catch (err) {
      if (t.signal?.aborted) throw err;
      failure = err;
    }
    const log = this.logger.child({ slot: t.slot, commit: t.commit.slice(0, 12), worktree: t.worktree });
    log.warn({ err: gitMessage(failure) }, 'checkout failed; removing stale locks');
    const removed = (await this.removeWorktreeLocks(t)) + (await this.locked(t.mirror, () => this.removeMirrorLocks(t.mirror)));
    if (removed > 0) {
      try {
        return await this.attempt(t);
      } catch (err) {
        if (t.signal?.aborted) throw err;
        failure = err;
      }
    }
    log.warn({ err: gitMessage(failure) }, 'checkout failed; making the worktree afresh');
    try {
      await this.locked(t.mirror, () => this.recreate(t));
      await this.attempt(t);
    } catch (err) {
      if (t.signal?.aborted) throw err;
      throw new InfraError(`slot ${t.slot}: cannot check out ${t.commit} in ${t.worktree}, even in a fresh worktree: ${gitMessage(err)}`, {
        cause: err,
        hint: `check the disk of this agent (space, permissions) and the mirror ${t.mirror}; removing the slot's directory makes it afresh`,
      });
    }
  }

  private async attempt(t: Target): Promise<void> {
    if (!(await this.healthy(t))) await this.locked(t.mirror, () => this.recreate(t));
    await git(t.worktree, ['checkout', '--force', '--detach', t.commit], { signal: t.signal });
    await git(t.worktree, ['clean', '-ffdxq'], { signal: t.signal });
  }

  /**
   * Is the worktree a worktree of this mirror, rooted where it should be? A `.git` file with
   * garbage in it or naming a gitdir that is gone fails here; and git, not finding the worktree's
   * repository, must not wander up to some repository above the state directory.
   */
  private async healthy(t: Target): Promise<boolean> {
    if (!(await stat(join(t.worktree, '.git')).then(() => true, () => false))) return false;
    const r = await git(t.worktree, ['rev-parse', '--show-toplevel', '--git-common-dir'], { check: false }).catch(() => undefined);
    if (r?.code !== 0) return false;
    const [top, common] = r.stdout.trim().split('\n');
    if (!top || !common) return false;
    const [realTop, realCommon, realWorktree, realMirror] = await Promise.all(
      [top, resolve(t.worktree, common), t.worktree, t.mirror].map((p) => realpath(p).catch(() => undefined)),
    );
    return realTop !== undefined && realTop === realWorktree && realCommon !== undefined && realCommon === realMirror;
  }

  /** Remove the worktree and make it again at the commit (the caller holds the mirror's lock). */
  private async recreate(t: Target): Promise<void> {
    await rm(t.worktree, { recursive: true, force: true });
    await git(t.mirror, ['worktree', 'prune']);
    await git(t.mirror, ['worktree', 'add', '--force', '--detach', t.worktree, t.commit], { signal: t.signal });
  }

  /**
   * Remove the lock files of the worktree's own gitdir (`<mirror>/worktrees/<name>/`). A slot runs
   * one probe at a time, so any lock there was left by a dead git of this agent.
   */
  private async removeWorktreeLocks(t: Target): Promise<number> {
    const r = await git(t.worktree, ['rev-parse', '--absolute-git-dir'], { check: false }).catch(() => undefined);
    if (r?.code !== 0) return 0; // broken beyond locks: the next step makes it afresh
    const gitDir = await realpath(r.stdout.trim()).catch(() => '');
    const ours = join(await realpath(t.mirror).catch(() => t.mirror), 'worktrees') + sep;
    if (!gitDir.startsWith(ours)) return 0; // not this mirror's worktree: touch nothing there
    return this.removeLocks(await findLocks(gitDir, () => false), 'worktree');
  }

  /**
   * Remove the mirror's own stale lock files (HEAD.lock, packed-refs.lock, shallow.lock,
   * refs/.../x.lock...). The caller holds the mirror's lock, so no fetch or worktree add of this
   * agent is running; the other slots' gitdirs under worktrees/ are theirs and are left alone.
   * A `git gc` run in the background after a fetch holds its locks rightly: then nothing is removed.
   */
  private async removeMirrorLocks(mirror: string): Promise<number> {
    if (await gcRunning(mirror)) {
      this.logger.warn({ mirror }, 'git gc is running on the mirror: its locks are left alone');
      return 0;
    }
    const skip = (rel: string): boolean => rel === 'worktrees' || /^objects\/[0-9a-f]{2}$/.test(rel);
    return this.removeLocks(await findLocks(mirror, skip), 'mirror');
  }

  private async removeLocks(paths: string[], where: 'worktree' | 'mirror'): Promise<number> {
    for (const path of paths) {
      this.logger.warn({ path, where }, 'removing a stale git lock file left by a git that died');
      await rm(path, { force: true });
    }
    return paths.length;
  }

  private async locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.locks.set(key, next.catch(() => undefined));
    return next;
  }
}

/** Lock files (`*.lock`) under `dir`, not descending into the directories `skip` names (relative paths). */
async function findLocks(dir: string, skip: (rel: string) => boolean): Promise<string[]> {
  const found: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(dir, rel), { withFileTypes: true }).catch((): Dirent[] => []);
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!skip(r)) await walk(r);
      } else if (e.name.endsWith('.lock')) found.push(join(dir, r));
    }
  };
  await walk('');
  return found;
}

/** Does `gc.pid` name a live process? (git writes "<pid> <host>" there while gc runs.) */
async function gcRunning(mirror: string): Promise<boolean> {
  const text = await readFile(join(mirror, 'gc.pid'), 'utf8').catch(() => '');
  const pid = Number(text.trim().split(/\s+/)[0]);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Git's own words (its stderr, in GitError's message), for logs and the InfraError. */
function gitMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
