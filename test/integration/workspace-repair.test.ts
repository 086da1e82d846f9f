/**
 * A slot's worktree repairs itself: a stale index.lock, a broken gitdir or a checkout killed
 * half-way must not make later probes on that slot fail (they used to be turned into skips, and
 * jobs ended with wrong answers). What cannot be repaired is an InfraError, never a verdict.
 * Real git repositories and real git processes, in temporary directories.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, watch } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { runProbe, type ProbeRunnerDeps } from '../../agent/probe-runner.js';
import type { Recipe } from '../../agent/recipes/types.js';
import { Workspace } from '../../agent/workspace.js';
import { BuildTracker } from '../../agent/build-state.js';
import { KernelCache } from '../../agent/kernel-cache.js';
import { InfraError } from '../../shared/errors.js';
import { git } from '../../shared/git.js';
import { silentLogger } from '../../shared/logger.js';
import { BuildFacts, Probe } from '../../shared/proto.js';
import { makeRepo, type Repo } from '../helpers/git-repo.js';

/** A fresh agent state directory, removed when the test ends (pass or fail). */
async function stateDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'multisect-ws-repair-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function gitDirOf(worktree: string): Promise<string> {
  return (await git(worktree, ['rev-parse', '--absolute-git-dir'])).stdout.trim();
}

/** The worktree is exactly at `commit`: HEAD there, nothing modified, nothing untracked or ignored. */
async function assertAt(worktree: string, commit: string): Promise<void> {
  assert.equal((await git(worktree, ['rev-parse', 'HEAD'])).stdout.trim(), commit);
  assert.equal((await git(worktree, ['status', '--porcelain', '--untracked-files=all', '--ignored'])).stdout, '');
}

/** The pid of our own `git checkout ... <commit>` child, from /proc (Linux); undefined elsewhere. */
function checkoutChild(commit: string): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  for (const p of pids) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (ppid === process.pid && argv[0] === 'git' && argv[1] === 'checkout' && argv.includes(commit)) return Number(p);
    } catch {
      /* gone meanwhile */
    }
  }
  return undefined;
}

describe('worktree repair', { timeout: 180_000 }, () => {
  let repo: Repo;
  before(async () => {
    // Commit k has k+1 files: the tip has 8000, so checking it out takes long enough to kill.
    repo = await makeRepo({ commits: 8000 });
  });
  after(async () => {
    await repo?.dispose();
  });

  it('removes a stale index.lock of the worktree and checks out the commit', async (t) => {
    const ws = new Workspace(await stateDir(t), silentLogger());
    const [a, b] = [repo.hashes[1]!, repo.hashes[2]!];
    const first = await ws.prepare(repo.dir, a, 0, 'p1');
    await assertAt(first.worktree, a);
    const gitDir = await gitDirOf(first.worktree);
    await writeFile(join(gitDir, 'index.lock'), '');
    await writeFile(join(gitDir, 'HEAD.lock'), '');

    const second = await ws.prepare(repo.dir, b, 0, 'p2');
    assert.equal(second.worktree, first.worktree);
    await assertAt(second.worktree, b);
    assert.equal(existsSync(join(gitDir, 'index.lock')), false);
    assert.equal(existsSync(join(gitDir, 'HEAD.lock')), false);
  });

  it('removes a stale lock of the mirror before fetching', async (t) => {
    const state = await stateDir(t);
    const ws = new Workspace(state, silentLogger());
    await ws.prepare(repo.dir, repo.hashes[1]!, 0, 'p1');
    const mirrors = join(state, 'mirrors');
    const mirror = join(mirrors, readdirSync(mirrors).find((n) => n.endsWith('.git'))!);
    await writeFile(join(mirror, 'packed-refs.lock'), '');
    await writeFile(join(mirror, 'refs/heads/main.lock'), '');
    // A commit the mirror lacks: the fetch must get past the lock a dead fetch left.
    await git(repo.dir, ['-c', 'user.name=T', '-c', 'user.email=t@multisect.invalid', 'commit', '-q', '--allow-empty', '-m', 'new']);
    const fresh = (await git(repo.dir, ['rev-parse', 'HEAD'])).stdout.trim();
    t.after(() => git(repo.dir, ['reset', '-q', '--hard', repo.bad]));

    const dirs = await ws.prepare(repo.dir, fresh, 0, 'p2');
    await assertAt(dirs.worktree, fresh);
    assert.equal(existsSync(join(mirror, 'packed-refs.lock')), false);
    assert.equal(existsSync(join(mirror, 'refs/heads/main.lock')), false);
  });

  it('makes the worktree afresh when its gitdir is gone or its .git file is garbage', async (t) => {
    const ws = new Workspace(await stateDir(t), silentLogger());
    const [a, b, c] = [repo.hashes[1]!, repo.hashes[2]!, repo.hashes[3]!];
    const first = await ws.prepare(repo.dir, a, 0, 'p1');
    await rm(await gitDirOf(first.worktree), { recursive: true, force: true });
    await assertAt((await ws.prepare(repo.dir, b, 0, 'p2')).worktree, b);

    await writeFile(join(first.worktree, '.git'), 'not a gitfile\n');
    await assertAt((await ws.prepare(repo.dir, c, 0, 'p3')).worktree, c);
    assert.match(await readFile(join(first.worktree, '.git'), 'utf8'), /^gitdir: /);
  });

  it('recovers from a probe cancelled in the middle of its checkout', async (t) => {
    const ws = new Workspace(await stateDir(t), silentLogger());
    const first = await ws.prepare(repo.dir, repo.good, 0, 'p1');
    const gitDir = await gitDirOf(first.worktree);

    // When the checkout takes index.lock, kill git as a crash would (SIGKILL: it cannot remove
    // its lock), and cancel the probe in the same tick, as the agent does.
    const abort = new AbortController();
    let killed = false;
    const watcher = watch(gitDir, (_event, name) => {
      if (name !== 'index.lock' || abort.signal.aborted) return;
      const pid = checkoutChild(repo.bad);
      if (pid !== undefined) {
        process.kill(pid, 'SIGKILL');
        killed = true;
      }
      abort.abort();
    });
    const outcome = await ws.prepare(repo.dir, repo.bad, 0, 'p2', abort.signal).then(
      () => 'finished before the cancellation',
      (err: Error) => `cancelled: ${err.message}`,
    );
    watcher.close();
    t.diagnostic(`${outcome}; git killed: ${killed}; stale index.lock: ${existsSync(join(gitDir, 'index.lock'))}`);

    const next = await ws.prepare(repo.dir, repo.bad, 0, 'p3');
    await assertAt(next.worktree, repo.bad);
  });

  it('reports an unrepairable checkout as an InfraError, never a skip', async (t) => {
    const state = await stateDir(t);
    const ws = new Workspace(state, silentLogger());
    const missing = 'deadbeef'.repeat(5);
    const first = await ws.prepare(repo.dir, repo.hashes[1]!, 0, 'p1');
    await assert.rejects(ws.prepare(repo.dir, missing, 0, 'p2'), (err: Error) => {
      assert.ok(err instanceof InfraError, `${err.name}: ${err.message}`);
      assert.match(err.message, /slot 0/);
      assert.match(err.message, new RegExp(missing));
      return true;
    });
    // The slot's worktree was not thrown away for a commit that is not there.
    await assertAt(first.worktree, repo.hashes[1]!);

    let ran = 0;
    const recipe: Recipe = {
      kind: 'script',
      run: async () => {
        ran++;
        return { build: BuildFacts.fromPartial({ ok: true }), runs: [] };
      },
    };
    const deps: ProbeRunnerDeps = {
      agentId: 'agent-test',
      workspace: ws,
      builds: await BuildTracker.open(state, await KernelCache.open({ dir: join(state, 'kernels'), maxBytes: 0, minFreeBytes: 0, logger: silentLogger() }), 1),
      recipes: new Map([['script', recipe]]),
      store: () => undefined,
      cpus: 1,
      vmCapacity: 1,
      accel: 'tcg',
      qemu: 'qemu-system-x86_64',
      logger: silentLogger(),
      progress: () => undefined,
      classify: () => ({ crashed: false, matches: false, title: '', type: '' }),
      matchesPolicy: () => true,
    };
    const probe = (commit: string, repoDir = repo.dir): Probe =>
      Probe.fromPartial({ id: `p-${commit.slice(0, 8)}`, jobId: 'job-repair', commit, repo: repoDir, runs: 1, recipe: { kind: 'script' } });

    // A commit the mirror does not have (InfraError from the workspace) and a repository that
    // cannot be cloned (InvalidJobError from the mirror): both are this host's problem.
    for (const p of [probe(missing), probe(repo.hashes[2]!, join(tmpdir(), 'multisect-no-such-repo'))]) {
      await assert.rejects(runProbe(deps, p, 0, new AbortController().signal), (err: Error) => {
        assert.ok(err instanceof InfraError, `${err.name}: ${err.message}`);
        return true;
      });
    }
    assert.equal(ran, 0);

    const verdict = await runProbe(deps, probe(repo.hashes[2]!), 0, new AbortController().signal);
    assert.equal(ran, 1);
    assert.equal(verdict.build?.ok, true);
    await assertAt(first.worktree, repo.hashes[2]!);
  });
});
