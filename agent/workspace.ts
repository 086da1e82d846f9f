/**
 * The agent's disk: a bare mirror per repository, and per slot a worktree (checked out at the
 * exact commit of each probe, cleaned), a build directory kept between probes, and scratch space.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { git } from '../shared/git.js';
import { MirrorSet } from '../shared/mirror.js';

export interface SlotDirs {
  worktree: string;
  buildDir: string;
  scratchDir: string;
}

export class Workspace {
  private readonly mirrors: MirrorSet;
  /** Worktree add/remove touch the mirror's metadata: one at a time per mirror. */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly stateDir: string,
    private readonly logger: Logger,
  ) {
    this.mirrors = new MirrorSet(join(stateDir, 'mirrors'), logger);
  }

  /** Check out `commit` of `repo` in the slot's worktree and prepare its directories. */
  async prepare(repo: string, commit: string, slot: number, probeId: string, signal?: AbortSignal): Promise<SlotDirs> {
    const mirror = await this.mirrors.ensure(repo, { wanted: [commit], signal });
    const key = createHash('sha256').update(repo).digest('hex').slice(0, 12);
    const slotDir = join(this.stateDir, 'slots', String(slot));
    const worktree = join(slotDir, `wt-${key}`);
    const buildDir = join(slotDir, `build-${key}`);
    const scratchDir = join(slotDir, `scratch-${probeId}`);
    await mkdir(buildDir, { recursive: true });
    await mkdir(scratchDir, { recursive: true });
    const exists = await stat(join(worktree, '.git')).then(() => true, () => false);
    await this.locked(mirror, async () => {
      if (!exists) {
        await rm(worktree, { recursive: true, force: true });
        await git(mirror, ['worktree', 'prune']);
        await git(mirror, ['worktree', 'add', '--force', '--detach', worktree, commit], { signal });
      }
    });
    await git(worktree, ['checkout', '--force', '--detach', commit], { signal });
    await git(worktree, ['clean', '-ffdxq'], { signal });
    return { worktree, buildDir, scratchDir };
  }

  async cleanupScratch(dirs: SlotDirs): Promise<void> {
    await rm(dirs.scratchDir, { recursive: true, force: true });
  }

  private async locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.locks.set(key, next.catch(() => undefined));
    return next;
  }
}
