/**
 * The `kernel` recipe: build a kernel tree at the commit (agent/kernel/build.ts; the job may
 * replace the build), boot R VMs in parallel bounded by the slot's VM capacity, each with its own
 * console log, run the reproducer from the initramfs, and judge each console with the crash-report
 * parser and the job's policy (agent/kernel/judge.ts). Parameters: agent/kernel/params.ts.
 *
 * A build failure is a skip (no runs, the log tail in build.error); a missing qemu, kernel image or
 * build command is an InfraError (the host's fault, not a verdict); cancellation kills the build
 * and every VM at once.
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { CancelledError, InfraError, InvalidOptionError } from '../../shared/errors.js';
import { BuildFacts, RunResult } from '../../shared/proto.js';
import { buildKernel } from '../kernel/build.js';
import { buildInitramfs, DONE_MARKER } from '../kernel/initramfs.js';
import { judgeRun } from '../kernel/judge.js';
import { parseKernelParams, type KernelParams } from '../kernel/params.js';
import { runBounded } from '../kernel/pool.js';
import { runVm } from '../kernel/vm.js';
import type { ProbeContext, Recipe, RecipeResult } from './types.js';

const TAIL_LINES = 60;

function tail(text: string): string {
  return text.trimEnd().split('\n').slice(-TAIL_LINES).join('\n');
}

/** sha256 over the files that boot (kernel, then initramfs): what the commit built. */
async function hashFiles(paths: string[]): Promise<string> {
  const h = createHash('sha256');
  for (const p of paths) {
    for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
  }
  return h.digest('hex');
}

async function mustExist(path: string, what: string, hint: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch (err) {
    throw new InfraError(`${what} ${path} is missing`, { cause: err, hint });
  }
}

function cancelled(ctx: ProbeContext): never {
  throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new CancelledError('probe cancelled');
}

export class KernelRecipe implements Recipe {
  readonly kind = 'kernel';

  async run(ctx: ProbeContext): Promise<RecipeResult> {
    const recipe = ctx.probe.recipe;
    let params: KernelParams;
    try {
      params = parseKernelParams(recipe?.params ?? {}, { worktree: ctx.worktree, buildDir: ctx.buildDir, cpus: ctx.cpus, qemu: ctx.qemu, jobFiles: ctx.jobFiles });
    } catch (err) {
      if (err instanceof InvalidOptionError) return { build: BuildFacts.fromPartial({ ok: false, error: err.message }), runs: [], abortReason: err.message };
      throw err;
    }

    // Build, unless this agent keeps the kernel of this tree for this build key (any job's).
    const built = await this.build(ctx, params);
    if ('skip' in built) return built.skip;
    const { build, kernel } = built;
    await mustExist(kernel, 'kernel image', 'build the kernel, or point recipe.params.kernel at an image (the lab: deploy/lab/setup)');

    // What boots: the kernel image, and the job's initramfs or one packed here around the reproducer.
    let initrd = built.initrd;
    let doneMarker = params.doneMarker;
    if (initrd) {
      await mustExist(initrd, 'initramfs', 'the build command must produce recipe.params.initrd');
    } else if (params.reproducer) {
      const packed = await buildInitramfs({
        busybox: params.busybox, reproducer: params.reproducer, out: join(ctx.scratchDir, 'initramfs.cpio.gz'),
        scratchDir: ctx.scratchDir, compiler: params.compiler, signal: ctx.signal,
        sysctls: params.sysctls, syzExecprog: params.syzExecprog, syzExecutor: params.syzExecutor,
      });
      if (packed.compileError !== undefined) {
        // A skip, not the end of the job: reproducers include the tree's headers, which change
        // from commit to commit. (If it does not compile for the bad commit, the job ends there.)
        return { build: { ...build, ok: false, error: `the reproducer does not compile:\n${tail(packed.compileError)}` }, runs: [] };
      }
      initrd = packed.path;
      doneMarker ??= DONE_MARKER;
    }
    build.artifactHash = await hashFiles(initrd ? [kernel, initrd] : [kernel]);

    // Test: R VMs, at most vmCapacity at once.
    const n = Math.max(1, ctx.probe.runs);
    const runs = await runBounded(n, ctx.vmCapacity, async (i, signal) => {
      ctx.progress('booting', i + 1);
      const vm = await runVm({
        kernel, initrd, cmdline: params.cmdline, consoleLog: join(ctx.scratchDir, `console-${i}.log`),
        qemu: params.qemu, memoryMb: params.memoryMb, cpus: params.cpus, accel: params.accel === 'auto' ? ctx.accel : params.accel, extraArgs: params.qemuArgs,
        bootMarker: params.bootMarker, bootTimeoutMs: params.bootTimeoutMs, noOutputTimeoutMs: params.noOutputTimeoutMs,
        totalTimeoutMs: params.totalTimeoutMs, signal, logger: ctx.logger, onBoot: () => ctx.progress('testing', i + 1),
      });
      const logKey = await ctx.saveLog(`console-${i}.log`, vm.console);
      const j = judgeRun(vm, (c) => ctx.classify(c), (t) => ctx.matchesPolicy(t), doneMarker);
      ctx.logger.debug({ run: i, end: vm.end, ms: vm.durationMs, title: j.title }, 'VM finished');
      return RunResult.fromPartial({
        index: i, outcome: j.outcome, title: j.title, crashType: j.crashType, matches: j.matches,
        durationMs: vm.durationMs, logKey, exitCode: vm.exitCode ?? -1, bootFailed: j.bootFailed ?? false,
      });
    }, ctx.signal).catch((err: unknown) => {
      if (ctx.signal.aborted) cancelled(ctx);
      throw err;
    });
    return { build, runs };
  }

  /**
   * The kept kernel (no build), or a build whose boot files are then kept: those the build made,
   * in the build directory. A kernel or initramfs the job names outside it is not the build's
   * output and is used as it is.
   */
  private async build(ctx: ProbeContext, params: KernelParams): Promise<{ skip: RecipeResult } | { build: BuildFacts; kernel: string; initrd: string | undefined }> {
    const started = Date.now();
    const made = (p: string | undefined) => p !== undefined && p.startsWith(ctx.buildDir + sep);
    const buildsBootFiles = made(params.kernel) || made(params.initrd);
    const kept = buildsBootFiles ? await ctx.kernels.take() : undefined;
    if (kept) {
      ctx.logger.info({ builtBy: kept.commit.slice(0, 12) }, 'kernel kept from an earlier build: nothing to build');
      const build = BuildFacts.fromPartial({ ok: true, cached: true, durationMs: Date.now() - started, compiler: params.compiler });
      return { build, kernel: made(params.kernel) ? kept.kernel! : params.kernel, initrd: made(params.initrd) ? kept.initrd : params.initrd };
    }
    ctx.progress('building');
    const recipe = ctx.probe.recipe;
    const b = await buildKernel({ worktree: ctx.worktree, buildDir: ctx.buildDir, scratchDir: ctx.scratchDir, env: ctx.env, signal: ctx.signal, params, command: recipe?.build });
    if (ctx.signal.aborted) cancelled(ctx);
    const build = BuildFacts.fromPartial({ compiler: b.compiler, durationMs: b.durationMs, ok: b.ok, logKey: await ctx.saveLog('build.log', b.log) });
    if (b.infra) throw new InfraError(b.infra, { hint: 'for the lab, run deploy/lab/setup on this agent' });
    if (!b.ok) {
      build.error = b.timedOut ? 'build timed out' : tail(b.log);
      return { skip: { build, runs: [] } };
    }
    if (buildsBootFiles) await ctx.kernels.put({ kernel: made(params.kernel) ? params.kernel : undefined, initrd: made(params.initrd) ? params.initrd : undefined });
    return { build, kernel: params.kernel, initrd: params.initrd };
  }
}
