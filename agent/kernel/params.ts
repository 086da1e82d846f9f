/**
 * The kernel recipe's parameters (Recipe.params, all strings in the job spec), with defaults that
 * fit a real Linux tree. Paths: `kernel`, `initrd` and `artifact` are relative to the slot's build
 * directory; `config` and `reproducer` name one of the job's files (Recipe.files) if it has one of
 * that name, else a path relative to the worktree; absolute paths are used as they are.
 *
 * | param              | default                                                          |
 * |--------------------|------------------------------------------------------------------|
 * | config             | none: `make defconfig` (else the file is copied to <build>/.config, then `make olddefconfig`) |
 * | compiler           | gcc (CC=...; with ccache in front when ccache is installed)     |
 * | make_jobs          | the slot's CPUs                                                  |
 * | kernel             | arch/x86/boot/bzImage                                            |
 * | initrd             | packed by the recipe from `reproducer` + busybox                 |
 * | reproducer         | none (required when the recipe packs the initramfs): a C program (.c, compiled statically), a syz program (.syz, run by syz-execprog), else a shell script |
 * | sysctl             | none: lines of key=value, set by the init before the reproducer runs |
 * | syz_execprog       | syz-execprog on the agent's PATH (syzkaller's; for .syz reproducers) |
 * | syz_executor       | syz-executor beside syz_execprog, else on the PATH               |
 * | busybox            | /bin/busybox                                                     |
 * | cmdline            | console=ttyS0 ... panic_on_warn=1 oops=panic panic=-1 ...        |
 * | memory / cpus      | 1024 (MiB) / 1                                                   |
 * | boot_timeout       | 300 s   (the boot marker must show up in time)                   |
 * | no_output_timeout  | 180 s   ("no output from test machine")                          |
 * | total_timeout      | 900 s                                                            |
 * | boot_marker        | Run \S+ as init process                                          |
 * | done_marker        | the default initramfs's marker; when set, a clean run without it is a skip |
 * | qemu               | the agent's qemu (--qemu, default qemu-system-x86_64)            |
 * | qemu_args          | JSON array of extra qemu arguments                               |
 * | accel              | auto: the agent's proven accelerator (kvm only once a guest ran under it); kvm or tcg force it |
 * | build_infra_exit   | none: a build exit status that means "host not ready" (infra), not a skip |
 */
import { isAbsolute, resolve } from 'node:path';
import { InvalidJobError, InvalidOptionError } from '../../shared/errors.js';
import { parseSysctls } from '../../shared/job-spec.js';
import type { Accel } from './accel.js';

export const DEFAULT_CMDLINE =
  'console=ttyS0 earlyprintk=serial panic_on_warn=1 oops=panic panic=-1 hung_task_panic=1 ' +
  'sysctl.kernel.hung_task_timeout_secs=60 nokaslr';

export interface KernelParams {
  config?: string;
  compiler: string;
  makeJobs: number;
  kernel: string;
  initrd?: string;
  reproducer?: string;
  sysctls: { key: string; value: string }[];
  syzExecprog: string;
  syzExecutor?: string;
  busybox: string;
  cmdline: string;
  memoryMb: number;
  cpus: number;
  bootTimeoutMs: number;
  noOutputTimeoutMs: number;
  totalTimeoutMs: number;
  bootMarker: RegExp;
  doneMarker?: string;
  qemu: string;
  qemuArgs: string[];
  accel: Accel | 'auto';
  buildInfraExit?: number;
}

function num(params: Record<string, string>, key: string, def: number, min = 1): number {
  const v = params[key];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new InvalidOptionError(`recipe.params.${key}`, `${JSON.stringify(v)} is not a number >= ${min}`);
  return n;
}

export function parseKernelParams(
  params: Record<string, string>,
  dirs: { worktree: string; buildDir: string; cpus: number; qemu?: string; jobFiles?: Record<string, string> },
): KernelParams {
  const inBuild = (p: string) => (isAbsolute(p) ? p : resolve(dirs.buildDir, p));
  const inTree = (p: string) => dirs.jobFiles?.[p] ?? (isAbsolute(p) ? p : resolve(dirs.worktree, p));
  let sysctls: KernelParams['sysctls'] = [];
  try {
    sysctls = parseSysctls(params.sysctl ?? '');
  } catch (err) {
    if (err instanceof InvalidJobError) throw new InvalidOptionError('recipe.params.sysctl', err.message, { cause: err });
    throw err;
  }
  let qemuArgs: string[] = [];
  if (params.qemu_args) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(params.qemu_args);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) {
      throw new InvalidOptionError('recipe.params.qemu_args', 'must be a JSON array of strings');
    }
    qemuArgs = parsed;
  }
  let bootMarker: RegExp;
  try {
    bootMarker = new RegExp(params.boot_marker || 'Run \\S+ as init process');
  } catch (err) {
    throw new InvalidOptionError('recipe.params.boot_marker', 'is not a valid regular expression', { cause: err });
  }
  const accel = params.accel || 'auto';
  if (accel !== 'auto' && accel !== 'kvm' && accel !== 'tcg') throw new InvalidOptionError('recipe.params.accel', 'must be auto, kvm or tcg');
  return {
    config: params.config ? inTree(params.config) : undefined,
    compiler: params.compiler || 'gcc',
    makeJobs: num(params, 'make_jobs', dirs.cpus),
    kernel: inBuild(params.kernel || 'arch/x86/boot/bzImage'),
    initrd: params.initrd ? inBuild(params.initrd) : undefined,
    reproducer: params.reproducer ? inTree(params.reproducer) : undefined,
    sysctls,
    syzExecprog: params.syz_execprog || 'syz-execprog',
    syzExecutor: params.syz_executor || undefined,
    busybox: params.busybox || '/bin/busybox',
    cmdline: params.cmdline || DEFAULT_CMDLINE,
    memoryMb: num(params, 'memory', 1024, 64),
    cpus: num(params, 'cpus', 1),
    bootTimeoutMs: num(params, 'boot_timeout', 300) * 1000,
    noOutputTimeoutMs: num(params, 'no_output_timeout', 180) * 1000,
    totalTimeoutMs: num(params, 'total_timeout', 900) * 1000,
    bootMarker,
    doneMarker: params.done_marker || undefined,
    qemu: params.qemu || dirs.qemu || 'qemu-system-x86_64',
    qemuArgs,
    accel,
    buildInfraExit: params.build_infra_exit ? num(params, 'build_infra_exit', 0, 1) : undefined,
  };
}
