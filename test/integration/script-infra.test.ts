/**
 * The script recipe's `INFRA: <reason>` convention, with real shell scripts in a real git
 * worktree: a test run that says so is RUN_OUTCOME_INFRA (whatever its exit status), a failed
 * build that says so is an InfraError (not a skip), and without the line nothing changes.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { infraReason, ScriptRecipe } from '../../agent/recipes/script.js';
import type { ProbeContext, ProbePhase } from '../../agent/recipes/types.js';
import { InfraError } from '../../shared/errors.js';
import { git } from '../../shared/git.js';
import { silentLogger } from '../../shared/logger.js';
import { Policy, Probe, Recipe, RunOutcome } from '../../shared/proto.js';

const TEST_SH = `#!/bin/sh
case "$MODE" in
  infra-ok) echo "INFRA: no /dev/kvm on this host" >&2; exit 0 ;;
  infra-last) echo "INFRA: first reason"; echo "CRASH: boom"; echo "INFRA:   the disk is full  "; exit 1 ;;
  infra-abort) echo "INFRA: killed by the OOM killer"; exit 200 ;;
  per-run) if [ "$MULTISECT_RUN" = 0 ]; then echo "INFRA: flaky network"; exit 1; fi; exit 0 ;;
  crash) echo "CRASH: null deref in frob()"; exit 1 ;;
  *) exit 0 ;;
esac
`;

const BUILD_SH = `#!/bin/sh
echo "building"
case "$BMODE" in
  infra) echo "INFRA: compiler cache unreachable" >&2; exit 2 ;;
  infra-ok) echo "INFRA: ccache is cold (harmless)"; exit 0 ;;
  broken) echo "error: syntax error in frob.c"; exit 2 ;;
  *) exit 0 ;;
esac
`;

interface Ctx extends ProbeContext {
  phases: string[];
  logs: Map<string, string>;
}

describe('script recipe: INFRA lines', { timeout: 60_000 }, () => {
  let dir: string;
  let worktree: string;
  let commit: string;
  const recipe = new ScriptRecipe();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'multisect-script-infra-'));
    worktree = join(dir, 'wt');
    await git(dir, ['init', '-q', '-b', 'main', worktree]);
    await writeFile(join(worktree, 'test.sh'), TEST_SH);
    await writeFile(join(worktree, 'build.sh'), BUILD_SH);
    await chmod(join(worktree, 'test.sh'), 0o755);
    await chmod(join(worktree, 'build.sh'), 0o755);
    await git(worktree, ['add', '.']);
    await git(worktree, ['-c', 'user.name=T', '-c', 'user.email=t@multisect.invalid', 'commit', '-q', '-m', 'scripts']);
    commit = (await git(worktree, ['rev-parse', 'HEAD'])).stdout.trim();
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A ProbeContext like test/helpers/lab.ts's fakeContext, for the script recipe. */
  async function context(o: { mode?: string; build?: string; runs?: number }): Promise<Ctx> {
    const phases: string[] = [];
    const logs = new Map<string, string>();
    const scratchDir = await mkdtemp(join(dir, 'scratch-'));
    const r = Recipe.fromPartial({
      kind: 'script',
      test: { argv: ['./test.sh'], env: { MODE: o.mode ?? 'good' } },
      ...(o.build !== undefined ? { build: { argv: ['./build.sh'], env: { BMODE: o.build } } } : {}),
    });
    return {
      probe: Probe.fromPartial({ id: `p-${commit.slice(0, 8)}`, jobId: 'job-infra', commit, runs: o.runs ?? 1, recipe: r, policy: Policy.fromPartial({}) }),
      worktree,
      buildDir: join(dir, 'build'),
      scratchDir,
      jobFiles: {},
      kernels: { take: async () => undefined, put: async () => false },
      slot: 0,
      cpus: 1,
      vmCapacity: 1,
      accel: 'tcg',
      qemu: 'qemu-system-x86_64',
      signal: new AbortController().signal,
      logger: silentLogger(),
      progress: (phase: ProbePhase, run?: number) => phases.push(run ? `${phase}:${run}` : phase),
      saveLog: async (name, content) => {
        logs.set(name, typeof content === 'string' ? content : Buffer.from(content).toString());
        return `logs/${name}`;
      },
      classify: () => ({ crashed: false, matches: false, title: '', type: '' }),
      matchesPolicy: () => true,
      env: { MULTISECT_COMMIT: commit, MULTISECT_JOB: 'job-infra' },
      phases,
      logs,
    };
  }

  it('finds the last INFRA line', () => {
    assert.equal(infraReason('a\nINFRA: one\nb\nINFRA:  two \r\nc'), 'two');
    assert.equal(infraReason('INFRA:'), 'no reason given');
    assert.equal(infraReason('no INFRA: here\n  INFRA: indented'), undefined);
  });

  it('makes a run infra whatever its exit status', async () => {
    for (const [mode, title, exitCode] of [
      ['infra-ok', 'infra: no /dev/kvm on this host', 0],
      ['infra-last', 'infra: the disk is full', 1],
      ['infra-abort', 'infra: killed by the OOM killer', 200],
    ] as const) {
      const result = await recipe.run(await context({ mode }));
      assert.equal(result.abortReason, undefined, mode);
      assert.equal(result.runs.length, 1, mode);
      const run = result.runs[0]!;
      assert.equal(run.outcome, RunOutcome.RUN_OUTCOME_INFRA, mode);
      assert.equal(run.title, title, mode);
      assert.equal(run.exitCode, exitCode, mode);
      assert.equal(run.matches, false, mode);
    }
  });

  it('judges each run on its own', async () => {
    const ctx = await context({ mode: 'per-run', runs: 3 });
    const result = await recipe.run(ctx);
    assert.deepEqual(
      result.runs.map((r) => r.outcome),
      [RunOutcome.RUN_OUTCOME_INFRA, RunOutcome.RUN_OUTCOME_OK, RunOutcome.RUN_OUTCOME_OK],
    );
    assert.equal(result.runs[0]!.title, 'infra: flaky network');
    assert.deepEqual(ctx.phases, ['testing:1', 'testing:2', 'testing:3']);
  });

  it('keeps the other conventions without an INFRA line', async () => {
    const crash = await recipe.run(await context({ mode: 'crash' }));
    assert.equal(crash.runs[0]!.outcome, RunOutcome.RUN_OUTCOME_CRASH);
    assert.equal(crash.runs[0]!.title, 'null deref in frob()');
    const good = await recipe.run(await context({ mode: 'good' }));
    assert.equal(good.runs[0]!.outcome, RunOutcome.RUN_OUTCOME_OK);
  });

  it('throws InfraError for a failed build that says INFRA, and runs no test', async () => {
    const ctx = await context({ build: 'infra', mode: 'good' });
    await assert.rejects(recipe.run(ctx), (err: Error) => {
      assert.ok(err instanceof InfraError, `${err.name}: ${err.message}`);
      assert.match(err.message, /compiler cache unreachable/);
      return true;
    });
    assert.match(ctx.logs.get('build.log') ?? '', /INFRA: compiler cache unreachable/);
    assert.deepEqual(ctx.phases, ['building']);
  });

  it('keeps a failed build without INFRA a skip, and a passing build with INFRA a pass', async () => {
    const broken = await recipe.run(await context({ build: 'broken' }));
    assert.equal(broken.build.ok, false);
    assert.match(broken.build.error, /syntax error in frob\.c/);
    assert.deepEqual(broken.runs, []);

    const fine = await recipe.run(await context({ build: 'infra-ok', mode: 'good' }));
    assert.equal(fine.build.ok, true);
    assert.equal(fine.runs[0]!.outcome, RunOutcome.RUN_OUTCOME_OK);
  });
});
