/**
 * What this agent could reuse, as the coordinator's scheduler sees it (BuildState): per slot, the
 * build key and commit each of its build directories last built, and the kernels it keeps. A
 * probe given to the slot whose last build is nearest its commit builds incrementally in seconds
 * instead of minutes; one whose kernel is kept builds nothing.
 *
 * A build directory's last build is written beside it (`last-build.json`, next to `build/`), so
 * it survives a restart of the agent along with the directory itself.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BuildState } from '../shared/proto.js';
import type { KernelCache } from './kernel-cache.js';

const MARKER = 'last-build.json';

interface LastBuild {
  buildKey: string;
  commit: string;
}

export class BuildTracker {
  /** slot → build directory → its last build. */
  private readonly slots = new Map<number, Map<string, LastBuild>>();

  private constructor(readonly kernels: KernelCache) {}

  /** Read the last builds the slots' directories recorded (slots/<n>/<repo key>/last-build.json). */
  static async open(stateDir: string, kernels: KernelCache, slotCount: number): Promise<BuildTracker> {
    const t = new BuildTracker(kernels);
    for (let slot = 0; slot < slotCount; slot++) {
      const slotDir = join(stateDir, 'slots', String(slot));
      for (const name of await readdir(slotDir).catch((): string[] => [])) {
        const buildDir = join(slotDir, name, 'build');
        const last = await readFile(markerOf(buildDir), 'utf8').then((s) => JSON.parse(s) as LastBuild, () => undefined);
        if (last?.buildKey && last.commit) t.remember(slot, buildDir, last);
      }
    }
    return t;
  }

  /** The build directory now holds a build of `commit` with `buildKey` (finished or not: most objects are there). */
  async built(slot: number, buildDir: string, buildKey: string, commit: string): Promise<void> {
    const last = { buildKey, commit };
    this.remember(slot, buildDir, last);
    await writeFile(markerOf(buildDir), JSON.stringify(last)).catch(() => undefined);
  }

  message(): BuildState {
    const slots = [...this.slots.entries()].flatMap(([slot, dirs]) => [...dirs.values()].map((b) => ({ slot, buildKey: b.buildKey, commit: b.commit })));
    return BuildState.fromPartial({ slots, kernels: this.kernels.list() });
  }

  private remember(slot: number, buildDir: string, last: LastBuild): void {
    let dirs = this.slots.get(slot);
    if (!dirs) this.slots.set(slot, (dirs = new Map()));
    dirs.set(buildDir, last);
  }
}

function markerOf(buildDir: string): string {
  return join(dirname(buildDir), MARKER);
}
