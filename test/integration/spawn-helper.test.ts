/**
 * git through the spawn helper (shared/spawn-helper.ts) on a real repository made by the test:
 * the same results and errors as spawning in-process, streamed output at the consumer's pace,
 * a helper that dies is replaced by spawning here, and the helper process ends on release.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GitError } from '../../shared/errors.js';
import { git, gitLines, gitWithInput, isAncestor, resolveCommit } from '../../shared/git.js';
import { acquireSpawnHelper, activeSpawnHelper } from '../../shared/spawn-helper.js';
import { makeRepo, type Repo } from '../helpers/git-repo.js';

const helperPid = (): number => {
  const h = activeSpawnHelper() as unknown as { child: { pid: number } } | undefined;
  assert.ok(h, 'a helper is active');
  return h.child.pid;
};
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  return !alive(pid);
}

describe('git through the spawn helper', () => {
  let repo: Repo;
  let release: () => void = () => undefined;
  before(async () => {
    repo = await makeRepo({ commits: 3000, merges: 100, seed: 3 });
    release = await acquireSpawnHelper();
  });
  after(async () => {
    release();
    await repo?.dispose();
  });

  it('gives what spawning here gives: output, exit codes, refs, ancestry, input', async () => {
    const pid = helperPid();
    assert.notEqual(pid, process.pid);
    const log = await git(repo.dir, ['rev-list', '--count', 'HEAD']);
    assert.equal(log.stdout.trim(), String(repo.hashes.length));
    assert.equal(await resolveCommit(repo.dir, 'HEAD', '--bad'), repo.bad);
    assert.equal(await isAncestor(repo.dir, repo.good, repo.bad), true);
    assert.equal(await isAncestor(repo.dir, repo.bad, repo.good), false);
    const unchecked = await git(repo.dir, ['rev-parse', '--verify', '--quiet', 'no-such-ref'], { check: false });
    assert.equal(unchecked.code, 1);
    await assert.rejects(git(repo.dir, ['rev-parse', '--verify', 'no-such-ref']), (e: unknown) => e instanceof GitError && /no-such-ref/.test(e.message));
    await assert.rejects(resolveCommit(repo.dir, 'no-such-ref', '--good'), /--good|unknown revision/);
    const blob = await gitWithInput(repo.dir, ['hash-object', '--stdin'], 'hello\n');
    assert.equal(blob.stdout.trim(), 'ce013625030ba8dba906f756967f9e9ca394464a');
    assert.equal(helperPid(), pid, 'the same helper served every call');
  });

  it('names a directory that does not exist, as spawning here does', async () => {
    await assert.rejects(git('/nonexistent/multisect-repo', ['status']), (e: unknown) => e instanceof GitError && /cannot run git in \/nonexistent/.test(e.message));
  });

  it('streams a long rev-list line by line, and stops git when the reader stops', async () => {
    const lines: string[] = [];
    for await (const l of gitLines(repo.dir, ['rev-list', '--parents', 'HEAD'])) lines.push(l);
    assert.equal(lines.length, repo.hashes.length);
    assert.equal(lines[0]!.split(' ')[0], repo.bad);
    let read = 0;
    for await (const _ of gitLines(repo.dir, ['rev-list', 'HEAD'])) if (++read === 5) break;
    assert.equal(read, 5);
    // The helper still serves after an abandoned stream.
    assert.equal((await git(repo.dir, ['rev-parse', 'HEAD'])).stdout.trim(), repo.bad);
    await assert.rejects(async () => {
      for await (const _ of gitLines(repo.dir, ['rev-list', 'no-such-ref'])) void _;
    }, GitError);
  });

  it('runs git here when the helper dies, and a new acquire starts another', async () => {
    const pid = helperPid();
    process.kill(pid, 'SIGKILL');
    assert.ok(await gone(pid));
    for (let i = 0; i < 50 && activeSpawnHelper(); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(activeSpawnHelper(), undefined);
    assert.equal((await git(repo.dir, ['rev-parse', 'HEAD'])).stdout.trim(), repo.bad);
    release();
    release = await acquireSpawnHelper();
    assert.notEqual(helperPid(), pid);
    assert.equal((await git(repo.dir, ['rev-parse', 'HEAD'])).stdout.trim(), repo.bad);
  });

  it('ends the helper process when the last user lets go (release is safe twice)', async () => {
    const second = await acquireSpawnHelper();
    const pid = helperPid();
    second();
    second();
    assert.ok(alive(pid), 'still held by the first user');
    release();
    release = () => undefined;
    assert.ok(await gone(pid), 'the helper exited');
    assert.equal(activeSpawnHelper(), undefined);
  });
});
