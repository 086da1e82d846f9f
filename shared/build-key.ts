/**
 * A build key names what a build's output depends on besides the commit: the repository, the
 * recipe kind, the build command and the parameters and files the build reads (the kernel's
 * .config, the compiler...). Two probes with the same key and the same tree build the same
 * kernel, whichever job asked.
 *
 * The agent and the coordinator compute it the same way from the probe (this module): the agent
 * tags its build directories and cached kernels with it, the coordinator matches its jobs'
 * probes against them (build affinity). A wrong match would boot the wrong kernel, a missed one
 * only costs a build, so for the kernel recipe only the parameters known to matter to the test
 * alone are left out; everything else, known or not, is part of the key.
 */
import { createHash } from 'node:crypto';
import type { Recipe } from './proto.js';

/** Kernel recipe parameters that only the boot and the test read (agent/kernel/params.ts). */
const KERNEL_TEST_ONLY_PARAMS = new Set([
  'make_jobs', 'reproducer', 'sysctl', 'syz_execprog', 'syz_executor', 'busybox', 'cmdline', 'memory', 'cpus',
  'boot_timeout', 'no_output_timeout', 'total_timeout', 'boot_marker', 'done_marker', 'qemu', 'qemu_args', 'accel',
  'build_infra_exit',
]);

export function buildKeyOf(repo: string, recipe: Recipe | undefined): string {
  const kind = recipe?.kind || 'script';
  const params = recipe?.params ?? {};
  const kernel = kind === 'kernel';
  const testOnlyFile = kernel && params.reproducer ? params.reproducer : undefined;
  const h = createHash('sha256');
  const add = (field: string, value: string) => h.update(`${field}\0${value}\0`);
  add('repo', repo);
  add('kind', kind);
  add('build', JSON.stringify({ argv: recipe?.build?.argv ?? [], env: sortedEntries(recipe?.build?.env ?? {}) }));
  // The script recipe's build may read anything: every parameter counts.
  for (const [k, v] of sortedEntries(params)) if (!(kernel && KERNEL_TEST_ONLY_PARAMS.has(k))) add(`param:${k}`, v);
  for (const f of [...(recipe?.files ?? [])].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (f.name !== testOnlyFile) add(`file:${f.name}`, f.sha256 || createHash('sha256').update(f.content).digest('hex'));
  }
  return h.digest('hex').slice(0, 24);
}

function sortedEntries(o: Record<string, string>): Array<[string, string]> {
  return Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
