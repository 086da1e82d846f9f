/**
 * The lab's recipe for a job spec: build = deploy/lab/build.sh (module + initramfs, in the slot's
 * build directory), test = boot Debian's kernel from the lab cache with that initramfs. Used by
 * the demo, the benchmarks and the tests; `multisect bisect` users can copy the printed params.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Recipe } from '../../shared/proto.js';

export const LAB_DIR = dirname(fileURLToPath(import.meta.url));
export const LAB_DONE_MARKER = 'multisect-lab: reproducer finished';
/** The guest's command line: panic on WARNING and on oops, reboot (= qemu exits) on panic, and a
 * short hung-task timeout so the hang kind is reported in seconds, not minutes. */
export const LAB_CMDLINE =
  'console=ttyS0 panic_on_warn=1 oops=panic panic=-1 hung_task_panic=1 sysctl.kernel.hung_task_timeout_secs=5';

export interface LabRecipeOptions {
  /** The kernel image from deploy/lab/setup (its "kernel" field). */
  kernel: string;
  /** The lab cache when it is not the default one. */
  cache?: string;
  bootTimeoutS?: number;
  noOutputTimeoutS?: number;
  totalTimeoutS?: number;
  memoryMb?: number;
}

export function labRecipe(o: LabRecipeOptions): Recipe {
  return Recipe.fromPartial({
    kind: 'kernel',
    build: {
      argv: ['bash', join(LAB_DIR, 'build.sh')],
      env: o.cache ? { MULTISECT_LAB_CACHE: o.cache } : {},
      timeoutSeconds: 600,
    },
    params: {
      kernel: o.kernel,
      initrd: 'initramfs.cpio.gz',
      cmdline: LAB_CMDLINE,
      memory: String(o.memoryMb ?? 512),
      boot_timeout: String(o.bootTimeoutS ?? 120),
      no_output_timeout: String(o.noOutputTimeoutS ?? 60),
      total_timeout: String(o.totalTimeoutS ?? 300),
      done_marker: LAB_DONE_MARKER,
      // build.sh exits 3 when the headers, busybox or cpio are missing: the agent's problem.
      build_infra_exit: '3',
    },
  });
}
