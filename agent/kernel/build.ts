/**
 * The kernel recipe's build step. Default (a Linux tree): the job's .config into the slot's build
 * directory, `make olddefconfig` (or `make defconfig` without one), `make -j<N> bzImage`, all with
 * O=<build dir> so the worktree stays clean and each slot builds incrementally, CC from the job
 * (with ccache in front when installed). A job may replace all of it with its own build command
 * (recipe.build), which runs in the worktree with MULTISECT_BUILD_DIR set (the lab does).
 *
 * Seeding. A slot's first build of a tree is a build from scratch (minutes); every later one is
 * incremental (seconds). When all slots of a farm start a job at once, their first builds would
 * all run from scratch together, each as slow as the rest combined. So with ccache, the first
 * builds of the slots that share a ccache directory run one at a time (flock on a file in it):
 * the first compiles everything, the others find nearly every object in ccache (measured here on
 * Linux 6.1: 159 s from scratch, 30 s seeded, 96% hits). The hits need CCACHE_BASEDIR: kbuild
 * passes absolute paths, which differ between slots, and under the base directory ccache hashes
 * them relative to the build directory, where every slot's layout is the same
 * (slots/<n>/<repo key>/{wt,build}, agent/workspace.ts).
 */
import { access, copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from '../../shared/proto.js';
import { runProcess, type ProcessResult } from '../process.js';
import type { KernelParams } from './params.js';

export interface BuildOutcome {
  ok: boolean;
  /** The host cannot build at all (the build command is missing, or exited with build_infra_exit). */
  infra?: string;
  log: string;
  durationMs: number;
  compiler: string;
  timedOut: boolean;
}

export interface BuildInput {
  worktree: string;
  buildDir: string;
  scratchDir: string;
  env: Record<string, string>;
  signal: AbortSignal;
  params: KernelParams;
  command?: Command;
}

interface Ccache {
  program: string;
  /** The cache directory: slots that share it share the seed lock. */
  dir: string;
}

let ccacheFound: Promise<Ccache | undefined> | undefined;
function findCcache(env: NodeJS.ProcessEnv): Promise<Ccache | undefined> {
  ccacheFound ??= runProcess(['ccache', '--get-config', 'cache_dir'], { cwd: '/', env }).then((r) =>
    r.code === 0 && r.output.trim() ? { program: 'ccache', dir: r.output.trim() } : undefined,
  );
  return ccacheFound;
}

/** The file whose flock orders the first builds of slots sharing `ccache` (see the top). */
export function seedLockPath(ccache: Ccache): string {
  return join(ccache.dir, 'multisect-seed.lock');
}

/** Whether the build directory has never finished a build: its first build is a cold one. */
async function isCold(buildDir: string): Promise<boolean> {
  try {
    await access(join(buildDir, 'vmlinux'));
    return false;
  } catch {
    return true;
  }
}

async function compilerVersion(cc: string, env: NodeJS.ProcessEnv): Promise<string> {
  const r = await runProcess([cc, '--version'], { cwd: '/', env, timeoutMs: 10_000 });
  return r.code === 0 ? (r.output.split('\n')[0] ?? cc).trim() : cc;
}

export async function buildKernel(b: BuildInput): Promise<BuildOutcome> {
  const started = Date.now();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...b.env,
    MULTISECT_BUILD_DIR: b.buildDir,
    MULTISECT_SCRATCH_DIR: b.scratchDir,
    MULTISECT_CPUS: String(b.params.makeJobs),
  };
  const logs: string[] = [];
  const run = async (argv: string[], extraEnv: Record<string, string> = {}, timeoutMs?: number): Promise<ProcessResult> => {
    logs.push(`$ ${argv.join(' ')}`);
    const r = await runProcess(argv, { cwd: b.worktree, env: { ...env, ...extraEnv }, signal: b.signal, timeoutMs });
    logs.push(r.output);
    return r;
  };
  const done = (ok: boolean, compiler: string, r?: ProcessResult, infra?: string): BuildOutcome => ({
    ok, infra, compiler, log: logs.join('\n'), durationMs: Date.now() - started, timedOut: r?.timedOut ?? false,
  });

  if (b.command && b.command.argv.length > 0) {
    const cmd = b.command;
    const r = await run(cmd.argv, cmd.env, cmd.timeoutSeconds ? cmd.timeoutSeconds * 1000 : undefined);
    const compiler = env.MULTISECT_COMPILER ?? b.params.compiler;
    if (r.spawnError) return done(false, compiler, r, `build command ${JSON.stringify(cmd.argv[0])} cannot be started: ${r.spawnError.code ?? r.spawnError.message}`);
    if (b.params.buildInfraExit !== undefined && r.code === b.params.buildInfraExit) {
      return done(false, compiler, r, `the build command says the host is not ready (exit ${r.code}): ${r.output.trim().split('\n').slice(-3).join(' / ')}`);
    }
    return done(r.code === 0, compiler, r);
  }

  const p = b.params;
  const ccache = await findCcache(env);
  const cc = ccache ? `${ccache.program} ${p.compiler}` : p.compiler;
  // One directory holds both the worktree and the build directory (see the top).
  if (ccache) env.CCACHE_BASEDIR ??= dirname(b.buildDir);
  const compiler = await compilerVersion(p.compiler, env);
  const make = ['make', '-C', b.worktree, `O=${b.buildDir}`, `CC=${cc}`, `HOSTCC=${p.compiler}`];
  if (p.config) {
    await copyFile(p.config, `${b.buildDir}/.config`);
    const r = await run([...make, 'olddefconfig']);
    if (r.spawnError) return done(false, compiler, r, `make cannot be started: ${r.spawnError.message}`);
    if (r.code !== 0) return done(false, compiler, r);
  } else {
    const r = await run([...make, 'defconfig']);
    if (r.spawnError) return done(false, compiler, r, `make cannot be started: ${r.spawnError.message}`);
    if (r.code !== 0) return done(false, compiler, r);
  }
  const build = [...make, `-j${p.makeJobs}`, 'bzImage'];
  const seeded = ccache && (await isCold(b.buildDir));
  if (seeded) await mkdir(ccache.dir, { recursive: true });
  // flock(1) holds the lock for as long as make runs and drops it however make ends.
  const r = await run(seeded ? ['flock', seedLockPath(ccache), ...build] : build);
  if (r.spawnError) return done(false, compiler, r, `${seeded ? 'flock' : 'make'} cannot be started: ${r.spawnError.message}`);
  return done(r.code === 0, compiler, r);
}
