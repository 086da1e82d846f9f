/**
 * Built kernels kept on the agent's disk, least recently used out past a size bound, keyed by
 * build key (shared/build-key.ts: tree, config, compiler, build command) and git tree object id.
 * A probe of a tree this agent has built before with the same key, for any job, boots the kept
 * kernel and builds nothing: the verification of a culprit and its parents, a second job on the
 * same bug, a commit rewritten without a change (same tree, new hash).
 *
 * The tree id, not the commit: two commits with one tree build the same kernel. Entries are
 * directories written under a temporary name and renamed, so a crash never leaves half an entry;
 * a hit is copied into the probe's scratch directory, so an eviction never pulls a kernel from
 * under a VM that is about to boot it.
 */
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';

/**
 * The built files that boot: the kernel image, the initramfs, or both (the lab's build makes only
 * the initramfs and boots a fixed kernel). Files the build did not make are not kept.
 */
export interface KernelFiles {
  kernel?: string;
  initrd?: string;
}

const ROLES = ['kernel', 'initrd'] as const;

interface Entry {
  buildKey: string;
  tree: string;
  /** The commit that built it (the coordinator matches probes by commit). */
  commit: string;
  bytes: number;
  lastUsedMs: number;
  roles: Array<(typeof ROLES)[number]>;
}

export interface KernelCacheOptions {
  dir: string;
  /** The bound on what the cache holds; 0 turns it off. */
  maxBytes: number;
  /** Nothing is stored when the disk has less free than this (the builds need it more). */
  minFreeBytes: number;
  logger: Logger;
  now?: () => number;
}

const ENTRY_FILE = 'entry.json';

export class KernelCache {
  private readonly entries = new Map<string, Entry>();
  private readonly logger: Logger;
  private readonly now: () => number;

  private constructor(private readonly o: KernelCacheOptions) {
    this.logger = o.logger.child({ component: 'kernel-cache' });
    this.now = o.now ?? Date.now;
  }

  /** Open the cache directory and index what an earlier run of the agent kept there. */
  static async open(o: KernelCacheOptions): Promise<KernelCache> {
    const cache = new KernelCache(o);
    if (o.maxBytes <= 0) return cache;
    await mkdir(o.dir, { recursive: true });
    for (const name of await readdir(o.dir)) {
      const path = join(o.dir, name);
      if (name.startsWith('.tmp-')) {
        await rm(path, { recursive: true, force: true }); // a store cut short by a crash
        continue;
      }
      const entry = await readFile(join(path, ENTRY_FILE), 'utf8').then((t) => JSON.parse(t) as Entry, () => undefined);
      if (entry && name === entryName(entry.buildKey, entry.tree) && Array.isArray(entry.roles)) cache.entries.set(name, entry);
      else await rm(path, { recursive: true, force: true });
    }
    await cache.evict(0);
    return cache;
  }

  get enabled(): boolean {
    return this.o.maxBytes > 0;
  }

  /** What the cache holds, for the coordinator (BuildState.kernels). */
  list(): Array<{ buildKey: string; commit: string }> {
    return [...this.entries.values()].map((e) => ({ buildKey: e.buildKey, commit: e.commit }));
  }

  get bytes(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.bytes;
    return n;
  }

  /** The kept kernel for this key and tree, copied into `intoDir`; undefined when there is none. */
  async take(buildKey: string, tree: string, intoDir: string): Promise<(KernelFiles & { commit: string }) | undefined> {
    const name = entryName(buildKey, tree);
    const entry = this.entries.get(name);
    if (!entry) return undefined;
    const dir = join(this.o.dir, name);
    try {
      const files: KernelFiles = {};
      for (const role of entry.roles) {
        files[role] = join(intoDir, `cached-${role}`);
        await copyFile(join(dir, role), files[role]);
      }
      entry.lastUsedMs = this.now();
      await writeFile(join(dir, ENTRY_FILE), JSON.stringify(entry)).catch(() => undefined);
      return { ...files, commit: entry.commit };
    } catch (err) {
      // Damaged (a disk problem, a hand that removed a file): forget it, build instead.
      this.logger.warn({ err: (err as Error).message, entry: name }, 'a kept kernel could not be read; it is dropped');
      this.entries.delete(name);
      await rm(dir, { recursive: true, force: true });
      return undefined;
    }
  }

  /** Keep a kernel just built. Returns whether it was kept (never throws: a cache is optional). */
  async put(buildKey: string, tree: string, commit: string, files: KernelFiles): Promise<boolean> {
    const roles = ROLES.filter((r) => files[r] !== undefined);
    if (!this.enabled || roles.length === 0) return false;
    const name = entryName(buildKey, tree);
    if (this.entries.has(name)) return true;
    const tmp = join(this.o.dir, `.tmp-${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
    try {
      let bytes = 0;
      for (const r of roles) bytes += (await stat(files[r]!)).size;
      if (bytes > this.o.maxBytes) return false;
      const fs = await statfs(this.o.dir);
      if (fs.bavail * fs.bsize - bytes < this.o.minFreeBytes) {
        this.logger.warn({ freeBytes: fs.bavail * fs.bsize, minFreeBytes: this.o.minFreeBytes }, 'disk nearly full: the kernel is not kept');
        return false;
      }
      await this.evict(bytes);
      await mkdir(tmp, { recursive: true });
      for (const r of roles) await copyFile(files[r]!, join(tmp, r));
      const entry: Entry = { buildKey, tree, commit, bytes, lastUsedMs: this.now(), roles };
      await writeFile(join(tmp, ENTRY_FILE), JSON.stringify(entry));
      await rename(tmp, join(this.o.dir, name));
      this.entries.set(name, entry);
      return true;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, files: roles.map((r) => basename(files[r]!)) }, 'the kernel could not be kept');
      await rm(tmp, { recursive: true, force: true });
      return false;
    }
  }

  /** Remove the least recently used entries until `incoming` more bytes fit. */
  private async evict(incoming: number): Promise<void> {
    let total = this.bytes + incoming;
    const byAge = [...this.entries.entries()].sort(([, a], [, b]) => a.lastUsedMs - b.lastUsedMs);
    for (const [name, e] of byAge) {
      if (total <= this.o.maxBytes) break;
      this.entries.delete(name);
      total -= e.bytes;
      await rm(join(this.o.dir, name), { recursive: true, force: true });
      this.logger.debug({ entry: name, commit: e.commit.slice(0, 12) }, 'kept kernel evicted');
    }
  }
}

function entryName(buildKey: string, tree: string): string {
  return `${buildKey}-${tree}`;
}
