/**
 * Bad input through the real CLI: each case gets a clear message naming what is wrong, a
 * non-zero exit, and leaves nothing running.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git } from '../../shared/git.js';
import { makeHistory, type History } from '../helpers/history.js';
import { freePort, runCli, startTestFarm, type TestFarm } from '../helpers/farm.js';
import { makeTestScript, type TestScript } from '../helpers/scripts.js';

describe('bad input', { timeout: 300_000 }, () => {
  let farm: TestFarm;
  let h: History;
  let script: TestScript;
  const bisect = (args: string[]) => runCli(['bisect', '--coordinator', farm.address, ...args], { timeoutMs: 120_000 });

  before(async () => {
    h = await makeHistory({ commits: 60, seed: 2 });
    script = await makeTestScript({ sleepSeconds: 0 });
    farm = await startTestFarm({ agents: 1 });
  });
  after(async () => {
    await farm?.dispose();
    await h?.dispose();
  });

  it('a repository that does not exist', async () => {
    const r = await bisect(['--repo', '/nonexistent/repo', '--bad', 'HEAD', '--test', 'true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--repo: \/nonexistent\/repo does not exist/);
  });

  it('a directory that is not a repository', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'multisect-notrepo-'));
    try {
      const r = await bisect(['--repo', dir, '--bad', 'HEAD', '--test', 'true']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /repo: cannot clone/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an unknown ref', async () => {
    const r = await bisect(['--repo', h.dir, '--bad', 'no-such-branch', '--good', h.good, '--test', script.command]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /bad.*unknown revision "no-such-branch"/);
  });

  it('a ref that looks like an option', async () => {
    const r = await bisect(['--repo', h.dir, '--bad=--output=/tmp/x', '--good', h.good, '--test', script.command]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /bad/);
  });

  it('a good commit that is not an ancestor of bad', async () => {
    // A commit on its own branch, off the root: not an ancestor of main.
    await git(h.dir, ['checkout', '-q', '-b', 'side', h.good]);
    await git(h.dir, ['-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '-q', '--allow-empty', '-m', 'side']);
    const side = (await git(h.dir, ['rev-parse', 'HEAD'])).stdout.trim();
    await git(h.dir, ['checkout', '-q', 'main']);
    const r = await bisect(['--repo', h.dir, '--bad', h.bad, '--good', side, '--test', script.command]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /good.*not an ancestor/i);
  });

  it('an empty range', async () => {
    const r = await bisect(['--repo', h.dir, '--bad', h.good, '--good', h.good, '--test', script.command]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /empty|nothing to bisect/i);
  });

  it('a test command that does not exist', async () => {
    const r = await bisect(['--repo', h.dir, '--bad', h.bad, '--good', h.good, '--test', '/no/such/test-command']);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /test command "\/no\/such\/test-command" cannot be started: ENOENT/);
  });

  it('watching a job that does not exist fails at once, text and --json', async () => {
    for (const json of [[], ['--json']]) {
      const t0 = Date.now();
      const r = await runCli(['watch', 'jnosuchjob000', '--coordinator', farm.address, ...json], { timeoutMs: 60_000 });
      assert.notEqual(r.code, 0);
      assert.match(r.stdout + r.stderr, /no job \\?"jnosuchjob000\\?"/);
      if (json.length) assert.match(r.stdout, /"name":"JobNotFoundError"/);
      assert.ok(Date.now() - t0 < 20_000, `took ${Date.now() - t0} ms`);
    }
  });

  it('no coordinator at the address', async () => {
    const port = await freePort();
    const r = await runCli(['bisect', '--coordinator', `127.0.0.1:${port}`, '--repo', h.dir, '--bad', h.bad, '--good', h.good, '--test', script.command]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`no coordinator answers at 127\\.0\\.0\\.1:${port}`));
    assert.match(r.stderr, /multisect up/);
  });

  it('no NATS at the URL', async () => {
    const port = await freePort();
    const listen = `127.0.0.1:${await freePort()}`;
    const r = await runCli(['coordinator', '--listen', listen, '--nats', `nats://127.0.0.1:${port}`, '--state-dir', join(tmpdir(), 'multisect-nonats')], { timeoutMs: 60_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`cannot connect to NATS at nats://127\\.0\\.0\\.1:${port}`));
  });
});
