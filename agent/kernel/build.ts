/**
 * The kernel recipe's build step. Default (a Linux tree): the job's .config into the slot's build
 * directory, `make olddefconfig` (or `make defconfig` without one), `make -j<N> bzImage`, all with
 * O=<build dir> so the worktree stays clean and each slot builds incrementally, CC from the job
 * (with ccache in front when installed). A job may replace all of it with its own build command
 * (recipe.build), which runs in the worktree with MULTISECT_BUILD_DIR set (the lab does).
 */
import { copyFile } from 'node:fs/promises';
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

let ccachePath: Promise<string | undefined> | undefined;
function findCcache(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  ccachePath ??= runProcess(['ccache', '--version'], { cwd: '/', env }).then((r) => (r.code === 0 ? 'ccache' : undefined));
  return ccachePath;
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
  const cc = ccache ? `${ccache} ${p.compiler}` : p.compiler;
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
  const r = await run([...make, `-j${p.makeJobs}`, 'bzImage']);
  return done(r.code === 0, compiler, r);
}
