/**
 * The `script` recipe, like `git bisect run`: the job's build command once, then its test
 * command R times, in the slot's worktree at the commit.
 *
 * Test exit codes: 0 good, 125 skip, 1..127 bad (a crash whose title is the last output line
 * starting with `CRASH:`, else "exit status N"); 126/127 on the job's first probe, or >= 128 (or
 * death by a signal), abort the job: the command is missing or broken, and every other commit
 * would say the same.
 *
 * A test whose output (stdout or stderr) has a line `INFRA: <reason>` says the host is at fault,
 * whatever its exit status: the run is RUN_OUTCOME_INFRA, titled `infra: <reason>` (the last such
 * line wins), evidence of nothing about the commit (the coordinator runs the probe elsewhere when
 * most runs are infra). For a test that checks its own environment first (a device, a service).
 *
 * A build that exits non-zero makes the commit a skip, unless its output has an `INFRA: <reason>`
 * line: then it is the host's fault, an InfraError (no verdict; the agent reports it and the probe
 * runs elsewhere). A build command that cannot be started aborts.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InfraError } from '../../shared/errors.js';
import { RunOutcome, RunResult, BuildFacts, type Command } from '../../shared/proto.js';
import { runProcess, type ProcessResult } from '../process.js';
import type { ProbeContext, Recipe, RecipeResult } from './types.js';

const TAIL_LINES = 40;

export function crashTitle(output: string, code: number): string {
  let title = '';
  for (const line of output.split('\n')) {
    const m = /^CRASH:\s*(.*?)\s*$/.exec(line);
    if (m && m[1]) title = m[1];
  }
  return (title || `exit status ${code}`).slice(0, 240);
}

/** The reason of the last `INFRA:` line of a command's output, or undefined when there is none. */
export function infraReason(output: string): string | undefined {
  let reason: string | undefined;
  for (const line of output.split('\n')) {
    const m = /^INFRA:\s*(.*?)\s*$/.exec(line);
    if (m) reason = m[1] || 'no reason given';
  }
  return reason?.slice(0, 240);
}

export function tail(text: string, lines = TAIL_LINES): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

function describeFailure(what: string, argv: readonly string[], r: ProcessResult): string {
  if (r.spawnError) return `${what} command ${JSON.stringify(argv[0])} cannot be started: ${r.spawnError.code ?? r.spawnError.message}`;
  if (r.signal) return `${what} command ${JSON.stringify(argv[0])} was killed by ${r.signal}`;
  return `${what} command ${JSON.stringify(argv[0])} exited with status ${r.code}`;
}

/**
 * The sha256 of the build's artifact, when the job names one (recipe param `artifact`, a path in
 * the worktree): "the culprit built the same binary as its parent" is then flagged.
 */
async function artifactHash(ctx: ProbeContext): Promise<string> {
  const rel = ctx.probe.recipe?.params.artifact;
  if (!rel) return '';
  const path = resolve(ctx.worktree, rel);
  if (!path.startsWith(ctx.worktree + '/')) return '';
  try {
    return createHash('sha256').update(await readFile(path)).digest('hex');
  } catch {
    return '';
  }
}

export class ScriptRecipe implements Recipe {
  readonly kind = 'script';

  async run(ctx: ProbeContext): Promise<RecipeResult> {
    const recipe = ctx.probe.recipe!;
    const env = { ...process.env, ...ctx.env };
    const build = await this.build(ctx, recipe.build, env);
    if (build.abort) return { build: build.facts, runs: [], abortReason: build.abort };
    if (!build.facts.ok) return { build: build.facts, runs: [] };

    const test = recipe.test!;
    const runs: RunResult[] = [];
    for (let i = 0; i < Math.max(1, ctx.probe.runs); i++) {
      ctx.progress('testing', i + 1);
      const r = await runProcess(test.argv, {
        cwd: ctx.worktree,
        env: { ...env, ...test.env, MULTISECT_RUN: String(i), MULTISECT_RUNS: String(ctx.probe.runs) },
        timeoutMs: test.timeoutSeconds ? test.timeoutSeconds * 1000 : undefined,
        signal: ctx.signal,
      });
      if (r.cancelled) throw ctx.signal.reason ?? new Error('cancelled');
      const logKey = await ctx.saveLog(`run-${i}.log`, r.output);
      const base = { index: i, durationMs: r.durationMs, logKey, exitCode: r.code ?? -1 };
      // First: the test's word that the host is at fault outweighs what its exit status would say.
      const infra = infraReason(r.output);
      if (infra !== undefined) {
        runs.push(RunResult.fromPartial({ ...base, outcome: RunOutcome.RUN_OUTCOME_INFRA, title: `infra: ${infra}` }));
        continue;
      }
      if (r.timedOut) {
        runs.push(RunResult.fromPartial({ ...base, outcome: RunOutcome.RUN_OUTCOME_SKIP, title: `test timed out after ${test.timeoutSeconds}s` }));
        continue;
      }
      if (r.spawnError || r.signal || (r.code !== null && r.code >= 128) || ((r.code === 126 || r.code === 127) && ctx.probe.first)) {
        return { build: build.facts, runs, abortReason: `${describeFailure('test', test.argv, r)}; fix the test command and submit again` };
      }
      if (r.code === 0) runs.push(RunResult.fromPartial({ ...base, outcome: RunOutcome.RUN_OUTCOME_OK }));
      else if (r.code === 125) runs.push(RunResult.fromPartial({ ...base, outcome: RunOutcome.RUN_OUTCOME_SKIP, title: 'test exited 125 (skip)' }));
      else {
        const title = crashTitle(r.output, r.code ?? -1);
        runs.push(RunResult.fromPartial({ ...base, outcome: RunOutcome.RUN_OUTCOME_CRASH, title, matches: ctx.matchesPolicy(title) }));
      }
    }
    return { build: build.facts, runs };
  }

  private async build(ctx: ProbeContext, cmd: Command | undefined, env: NodeJS.ProcessEnv): Promise<{ facts: BuildFacts; abort?: string }> {
    if (!cmd || cmd.argv.length === 0) return { facts: BuildFacts.fromPartial({ ok: true }) };
    ctx.progress('building');
    const r = await runProcess(cmd.argv, {
      cwd: ctx.worktree,
      env: { ...env, ...cmd.env },
      timeoutMs: cmd.timeoutSeconds ? cmd.timeoutSeconds * 1000 : undefined,
      signal: ctx.signal,
    });
    if (r.cancelled) throw ctx.signal.reason ?? new Error('cancelled');
    const logKey = await ctx.saveLog('build.log', r.output);
    const facts = BuildFacts.fromPartial({ durationMs: r.durationMs, logKey, ok: r.code === 0, compiler: ctx.env.MULTISECT_COMPILER ?? '' });
    if (r.spawnError) return { facts, abort: `${describeFailure('build', cmd.argv, r)}; fix the build command and submit again` };
    const infra = r.code !== 0 ? infraReason(r.output) : undefined;
    if (infra !== undefined) {
      // Not a skip: the build could not be carried out on this host, which says nothing about the commit.
      throw new InfraError(`build failed on this host: infra: ${infra}`, {
        hint: `the build command printed "INFRA: ${infra}" and failed; fix this agent (the log is ${logKey || 'not stored'})`,
      });
    }
    if (r.code !== 0) facts.error = r.timedOut ? `build timed out after ${cmd.timeoutSeconds}s` : tail(r.output) || describeFailure('build', cmd.argv, r);
    else facts.artifactHash = await artifactHash(ctx);
    return { facts };
  }
}
