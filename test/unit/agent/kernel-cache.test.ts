/**
 * The agent's kept kernels (agent/kernel-cache.ts) and the build key both sides compute
 * (shared/build-key.ts): what a hit returns, least recently used out past the bound, entries
 * that survive a restart of the agent and those a crash cut short, and which recipe fields make
 * two builds the same.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { KernelCache } from '../../../agent/kernel-cache.js';
import { BuildTracker } from '../../../agent/build-state.js';
import { buildKeyOf } from '../../../shared/build-key.js';
import { silentLogger } from '../../../shared/logger.js';
import { Recipe } from '../../../shared/proto.js';
import { tempDir } from '../../helpers/temp-dirs.js';

async function built(dir: string, name: string, bytes: number): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, Buffer.alloc(bytes, name));
  return p;
}

describe('kernel cache', () => {
  it('keeps a kernel and hands a copy back, for the same key and tree only', async () => {
    const dir = await tempDir('kcache');
    const cache = await KernelCache.open({ dir: join(dir, 'kernels'), maxBytes: 10_000, minFreeBytes: 0, logger: silentLogger() });
    const kernel = await built(dir, 'bzImage', 1000);
    assert.equal(await cache.put('k1', 'tree1', 'c1', { kernel }), true);
    const scratch = join(dir, 'scratch');
    await mkdir(scratch);
    const hit = await cache.take('k1', 'tree1', scratch);
    assert.ok(hit?.kernel, 'a hit');
    assert.ok(hit.kernel.startsWith(scratch), 'copied into the probe\'s scratch directory');
    assert.equal(hit.commit, 'c1');
    assert.equal(hit.initrd, undefined);
    assert.deepEqual(await readFile(hit.kernel), await readFile(kernel));
    assert.equal(await cache.take('k2', 'tree1', scratch), undefined, 'another build key');
    assert.equal(await cache.take('k1', 'tree2', scratch), undefined, 'another tree');
    assert.deepEqual(cache.list(), [{ buildKey: 'k1', commit: 'c1' }]);
  });

  it('keeps only what the build made (an initramfs alone, as the lab builds)', async () => {
    const dir = await tempDir('kcache');
    const cache = await KernelCache.open({ dir: join(dir, 'kernels'), maxBytes: 10_000, minFreeBytes: 0, logger: silentLogger() });
    await cache.put('k', 't', 'c', { initrd: await built(dir, 'initramfs', 500) });
    await mkdir(join(dir, 's'));
    const hit = await cache.take('k', 't', join(dir, 's'));
    assert.equal(hit?.kernel, undefined);
    assert.ok(hit?.initrd && existsSync(hit.initrd));
    assert.equal(await cache.put('k', 't2', 'c2', {}), false, 'nothing built: nothing kept');
  });

  it('drops the least recently used past its bound', async () => {
    const dir = await tempDir('kcache');
    let now = 1;
    const cache = await KernelCache.open({ dir: join(dir, 'kernels'), maxBytes: 2500, minFreeBytes: 0, logger: silentLogger(), now: () => now++ });
    for (const c of ['a', 'b']) await cache.put('k', `t${c}`, c, { kernel: await built(dir, c, 1000) });
    await mkdir(join(dir, 's'));
    assert.ok(await cache.take('k', 'ta', join(dir, 's')), 'a used again: b is now the oldest');
    await cache.put('k', 'tc', 'c', { kernel: await built(dir, 'c', 1000) });
    assert.deepEqual(cache.list().map((e) => e.commit).sort(), ['a', 'c']);
    assert.ok(cache.bytes <= 2500);
    assert.equal(await cache.put('k', 'td', 'd', { kernel: await built(dir, 'd', 3000) }), false, 'bigger than the whole cache');
  });

  it('survives a restart; a store cut short by a crash is cleared', async () => {
    const dir = await tempDir('kcache');
    const o = { dir: join(dir, 'kernels'), maxBytes: 10_000, minFreeBytes: 0, logger: silentLogger() };
    const cache = await KernelCache.open(o);
    await cache.put('k', 't', 'c', { kernel: await built(dir, 'bz', 100) });
    await mkdir(join(o.dir, '.tmp-k-t2-1-x'));
    const again = await KernelCache.open(o);
    assert.deepEqual(again.list(), [{ buildKey: 'k', commit: 'c' }]);
    assert.equal(existsSync(join(o.dir, '.tmp-k-t2-1-x')), false);
  });

  it('keeps nothing when turned off (0 MiB)', async () => {
    const dir = await tempDir('kcache');
    const cache = await KernelCache.open({ dir: join(dir, 'kernels'), maxBytes: 0, minFreeBytes: 0, logger: silentLogger() });
    assert.equal(await cache.put('k', 't', 'c', { kernel: await built(dir, 'bz', 100) }), false);
    assert.deepEqual(cache.list(), []);
  });

  it('the slots\' last builds are told whole and survive a restart', async () => {
    const dir = await tempDir('builds');
    const kernels = await KernelCache.open({ dir: join(dir, 'kernels'), maxBytes: 0, minFreeBytes: 0, logger: silentLogger() });
    const tracker = await BuildTracker.open(dir, kernels, 2);
    const buildDir = join(dir, 'slots', '1', 'repokey', 'build');
    await mkdir(buildDir, { recursive: true });
    await tracker.built(1, buildDir, 'k1', 'c9');
    assert.deepEqual(tracker.message().slots, [{ slot: 1, buildKey: 'k1', commit: 'c9' }]);
    const again = await BuildTracker.open(dir, kernels, 2);
    assert.deepEqual(again.message().slots, [{ slot: 1, buildKey: 'k1', commit: 'c9' }]);
  });
});

describe('build key', () => {
  const kernel = (params: Record<string, string>, files: Array<{ name: string; sha256: string }> = []) =>
    Recipe.fromPartial({ kind: 'kernel', params, files: files.map((f) => ({ ...f, content: Buffer.alloc(0), size: 0 })) });
  const base = kernel({ config: 'kernel.config', compiler: 'gcc', reproducer: 'repro.c' }, [{ name: 'kernel.config', sha256: 'aa' }, { name: 'repro.c', sha256: 'r1' }]);
  const rows: Array<{ name: string; other: () => [string, Recipe]; same: boolean }> = [
    { name: 'another reproducer: the same build', other: () => ['r', kernel({ config: 'kernel.config', compiler: 'gcc', reproducer: 'repro.c' }, [{ name: 'kernel.config', sha256: 'aa' }, { name: 'repro.c', sha256: 'r2' }])], same: true },
    { name: 'boot and test parameters do not matter', other: () => ['r', kernel({ ...base.params, cmdline: 'x', memory: '4096', boot_timeout: '9', qemu_args: '[]', accel: 'tcg', make_jobs: '64' }, base.files)], same: true },
    { name: 'another .config is another build', other: () => ['r', kernel(base.params, [{ name: 'kernel.config', sha256: 'bb' }, { name: 'repro.c', sha256: 'r1' }])], same: false },
    { name: 'another compiler', other: () => ['r', kernel({ ...base.params, compiler: 'clang' }, base.files)], same: false },
    { name: 'another repository', other: () => ['other', base], same: false },
    { name: 'an unknown parameter counts (it may matter to the build)', other: () => ['r', kernel({ ...base.params, arch: 'arm64' }, base.files)], same: false },
    { name: 'another build command', other: () => ['r', Recipe.fromPartial({ ...base, build: { argv: ['make', 'bzImage'], env: {} } })], same: false },
    { name: 'script recipe: every parameter counts', other: () => ['r', Recipe.fromPartial({ kind: 'script', params: { cmdline: 'x' } })], same: false },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const [repo, recipe] = r.other();
      assert.equal(buildKeyOf(repo, recipe) === buildKeyOf('r', base), r.same);
    });
  }
});
