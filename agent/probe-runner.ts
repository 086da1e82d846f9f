/**
 * Runs one probe in one slot: check out the commit, run the recipe, store the logs, and turn
 * the outcome into a verdict. Cancellation (the signal) stops everything at once.
 *
 * A checkout that fails is never a verdict on the commit: preparing the worktree is this host's
 * business (Workspace repairs what it can), so what is left is an InfraError, and the
 * coordinator runs the probe on another agent.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CancelledError, GitError, InfraError, InvalidJobError } from '../shared/errors.js';
import { withRetry, type AgentStore } from '../shared/nats.js';
import { type Probe, Verdict } from '../shared/proto.js';
import type { RunClassification, ProbePhase, Recipe } from './recipes/types.js';
import type { Workspace } from './workspace.js';
import type { Accel } from './kernel/accel.js';
import { writeJobFiles } from './job-files.js';
import { buildKeyOf } from '../shared/build-key.js';
import type { BuildTracker } from './build-state.js';

export interface ProbeRunnerDeps {
  agentId: string;
  workspace: Workspace;
  /** The slots' last builds and the kept kernels (build affinity). */
  builds: BuildTracker;
  recipes: ReadonlyMap<string, Recipe>;
  store: () => AgentStore | undefined;
  cpus: number;
  vmCapacity: number;
  /** The accelerator proven at start-up, and the qemu binary. */
  accel: Accel;
  qemu: string;
  logger: Logger;
  progress(probe: Probe, slot: number, phase: ProbePhase | 'checkout' | 'publishing', run?: number): void;
  classify(probe: Probe, output: string): RunClassification;
  matchesPolicy(probe: Probe, title: string): boolean;
}

/**
 * Returns the verdict, or throws CancelledError (the signal was aborted) or InfraError (this host
 * cannot run the probe: the recipe is unknown here, the checkout failed, qemu is missing...).
 */
export async function runProbe(deps: ProbeRunnerDeps, probe: Probe, slot: number, signal: AbortSignal): Promise<Verdict> {
  const logger = deps.logger.child({ probeId: probe.id, jobId: probe.jobId, commit: probe.commit.slice(0, 12), slot });
  const started = Date.now();
  const kind = probe.recipe?.kind ?? 'script';
  const recipe = deps.recipes.get(kind);
  if (!recipe) throw new InfraError(`this agent cannot run the ${JSON.stringify(kind)} recipe`);
  const verdict = Verdict.fromPartial({ probeId: probe.id, jobId: probe.jobId, commit: probe.commit, agentId: deps.agentId, startedMs: started, phase: probe.phase, round: probe.round });

  deps.progress(probe, slot, 'checkout');
  let dirs;
  try {
    dirs = await deps.workspace.prepare(probe.repo, probe.commit, slot, probe.id, signal);
  } catch (err) {
    if (signal.aborted) throw new CancelledError('cancelled during checkout', { cause: err });
    if (err instanceof GitError || err instanceof InvalidJobError) {
      // Not a skip: a skip says "the commit cannot be tested", and a checkout that failed here
      // (after Workspace's repairs) says nothing about the commit. Another agent runs it.
      throw new InfraError(`slot ${slot}: cannot check out ${probe.commit}: ${err.message}`, {
        cause: err,
        hint: 'check the state directory of this agent (disk, mirror) and its access to the repository',
      });
    }
    throw err;
  }
  try {
    const jobFiles = await writeJobFiles(probe.recipe?.files ?? [], dirs.scratchDir);
    // The probe's own temporary directory: what a compiler killed by a cancellation leaves
    // (gcc's cc*.s) goes with the scratch directory instead of piling up in /tmp.
    const tmp = join(dirs.scratchDir, 'tmp');
    await mkdir(tmp, { recursive: true });
    const buildKey = buildKeyOf(probe.repo, probe.recipe);
    const kernels = deps.builds.kernels;
    const result = await recipe.run({
      probe,
      kernels: {
        take: () => kernels.take(buildKey, dirs.tree, dirs.scratchDir),
        put: (files) => kernels.put(buildKey, dirs.tree, probe.commit, files),
      },
      jobFiles: jobFiles.paths,
      worktree: dirs.worktree,
      buildDir: dirs.buildDir,
      scratchDir: dirs.scratchDir,
      slot,
      cpus: deps.cpus,
      vmCapacity: deps.vmCapacity,
      accel: deps.accel,
      qemu: deps.qemu,
      signal,
      logger,
      progress: (phase, run) => deps.progress(probe, slot, phase, run),
      saveLog: (name, content) => saveLog(deps, probe, name, content, logger),
      classify: (output) => deps.classify(probe, output),
      matchesPolicy: (title) => deps.matchesPolicy(probe, title),
      env: {
        MULTISECT_COMMIT: probe.commit,
        MULTISECT_JOB: probe.jobId,
        MULTISECT_PROBE: probe.id,
        MULTISECT_SLOT: String(slot),
        MULTISECT_RUNS: String(probe.runs),
        MULTISECT_WORKTREE: dirs.worktree,
        MULTISECT_BUILD_DIR: dirs.buildDir,
        MULTISECT_SCRATCH_DIR: dirs.scratchDir,
        MULTISECT_CPUS: String(deps.cpus),
        MULTISECT_JOB_FILES: jobFiles.dir,
        TMPDIR: tmp,
      },
    });
    // The build directory now holds (most of) this commit's build: the next probe nearest to it
    // builds incrementally here. A kept kernel left the directory as it was.
    if (!result.build.cached && result.build.durationMs > 0) await deps.builds.built(slot, dirs.buildDir, buildKey, probe.commit);
    verdict.build = result.build;
    verdict.runs = result.runs;
    verdict.abortReason = result.abortReason ?? '';
    verdict.finishedMs = Date.now();
    return verdict;
  } catch (err) {
    if (signal.aborted) throw new CancelledError('cancelled', { cause: err });
    throw err;
  } finally {
    await deps.workspace.cleanupScratch(dirs);
  }
}

async function saveLog(deps: ProbeRunnerDeps, probe: Probe, name: string, content: string | Uint8Array, logger: Logger): Promise<string> {
  const key = `${probe.jobId}/${probe.id}/${name}`;
  const data = typeof content === 'string' ? new TextEncoder().encode(content) : content;
  try {
    await withRetry(
      'store log',
      async () => {
        const s = deps.store();
        if (!s) throw new Error('not connected to NATS');
        await s.putLog(key, data);
      },
      { logger, attempts: 8 },
    );
    return key;
  } catch (err) {
    // A lost log is bad, a lost verdict is worse: go on without it.
    logger.error({ err: (err as Error).message, key }, 'log could not be stored');
    return '';
  }
}
