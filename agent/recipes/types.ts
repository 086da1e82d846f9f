/**
 * What a recipe is: given a checked-out commit, build it and run the test R times, and say what
 * happened in every run. The agent's work loop owns the worktree, logs, progress reporting and
 * publishing; a recipe only builds and tests.
 */
import type { Logger } from 'pino';
import type { BuildFacts, Probe, RunResult } from '../../shared/proto.js';
import type { Accel } from '../kernel/accel.js';
import type { KernelFiles } from '../kernel-cache.js';

export type ProbePhase = 'building' | 'booting' | 'testing';

/** How one run's output is judged: the crash-report parser plus the job's crash policy. */
export interface RunClassification {
  crashed: boolean;
  /** The crash counts against the commit under the job's policy. */
  matches: boolean;
  title: string;
  type: string;
}

export interface ProbeContext {
  probe: Probe;
  /** The slot's worktree, checked out at probe.commit (clean). */
  worktree: string;
  /** A build directory owned by this slot, kept between probes (incremental builds). */
  buildDir: string;
  /** A scratch directory for this probe only; deleted afterwards. */
  scratchDir: string;
  /** The agent's kept kernels for this probe's tree and build key (agent/kernel-cache.ts). */
  kernels: KeptKernels;
  /** The job's files (Recipe.files), written for this probe: name → path. */
  jobFiles: Record<string, string>;
  slot: number;
  /** CPUs this slot may use for a build. */
  cpus: number;
  /** VMs this slot may run at once. */
  vmCapacity: number;
  /** The accelerator the agent proved at start-up; a job's recipe.params.accel may force another. */
  accel: Accel;
  /** The agent's qemu binary, for jobs that name none. */
  qemu: string;
  /** Aborted when the probe is cancelled or the agent shuts down: kill everything at once. */
  signal: AbortSignal;
  logger: Logger;
  /** Report the phase (and 1-based run) for live progress. */
  progress(phase: ProbePhase, run?: number): void;
  /** Store a log in the object store; returns its key. */
  saveLog(name: string, content: string | Uint8Array): Promise<string>;
  /** Judge a run's console/output with the parser and the job's crash policy. */
  classify(output: string): RunClassification;
  /** Does a crash with this title count against the commit under the job's crash policy? */
  matchesPolicy(title: string): boolean;
  /** Environment for commands: MULTISECT_COMMIT, MULTISECT_JOB, MULTISECT_PROBE, ... */
  env: Record<string, string>;
}

/** The kernel cache as one probe sees it: its own tree and build key are bound in. */
export interface KeptKernels {
  /** The kept kernel, copied into the probe's scratch directory; undefined when none is kept. */
  take(): Promise<(KernelFiles & { commit: string }) | undefined>;
  /** Keep the kernel just built (never throws). */
  put(files: KernelFiles): Promise<boolean>;
}

export interface RecipeResult {
  build: BuildFacts;
  /** One entry per run; empty when the build failed (a skip). */
  runs: RunResult[];
  /** Set when the job cannot go on (the test command is missing or broken). */
  abortReason?: string;
}

export interface Recipe {
  readonly kind: string;
  /** Throw InfraError for host problems (qemu missing...): not a verdict on the commit. */
  run(ctx: ProbeContext): Promise<RecipeResult>;
}
