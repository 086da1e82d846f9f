/**
 * "Nothing left behind": the processes of a local farm end when `multisect up` ends, however it
 * ends, and a second `multisect up` on the same state directory stops what a dead one left.
 * Runs the real CLI; reads the pids of the farm from its pid file and checks them in /proc
 * (a zombie, exited but not yet reaped by init, counts as gone).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runCli, startProc, type Proc } from '../helpers/farm.js';

interface Rec {
  name: string;
  pid: number;
  start: number;
}

/** Start time of a running (not zombie) process, from /proc/<pid>/stat; undefined when gone. */
function startOf(pid: number): number | undefined {
  try {
    const t = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = t.slice(t.lastIndexOf(')') + 2).split(' ');
    return f[0] === 'Z' || f[0] === 'X' ? undefined : Number(f[19]);
  } catch {
    return undefined;
  }
}
const running = (r: Rec) => startOf(r.pid) === r.start;

/** Every farm process the tests saw: killed when the tests end, whatever happened. */
const seen: Rec[] = [];
const dirs: string[] = [];
after(async () => {
  for (const r of seen) {
    if (running(r)) {
      try {
        process.kill(r.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function readPids(stateDir: string): { up: Rec; children: Rec[] } {
  const v = JSON.parse(readFileSync(join(stateDir, 'farm.pids'), 'utf8')) as { up: Rec; children: Rec[] };
  seen.push(...v.children);
  return v;
}

async function waitFor(what: string, cond: () => boolean, ms: number, proc?: Proc): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms${proc ? `\n${proc.output()}` : ''}`);
    if (proc && proc.child.exitCode !== null) throw new Error(`${what}: it exited (status ${proc.child.exitCode}) first\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - t0;
}

async function up(stateDir: string, listen: string): Promise<Proc> {
  // --accel tcg: no KVM proof at start-up (no VM boots); the agents are otherwise the real ones.
  const p = startProc(['up', '--agents', '2', '--state-dir', stateDir, '--listen', listen, '--accel', 'tcg']);
  await waitFor('multisect up ready', () => /local farm ready/.test(p.output()), 120_000, p);
  return p;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

describe('multisect up leaves nothing behind', { timeout: 300_000 }, () => {
  it('kill -9 of multisect up: no process of its farm is left a few seconds later', async (t) => {
    const stateDir = await mkdtemp(join(tmpdir(), 'multisect-up-'));
    dirs.push(stateDir);
    const port = await freePort();
    const p = await up(stateDir, `127.0.0.1:${port}`);
    const pids = readPids(stateDir);
    assert.equal(pids.up.pid, p.child.pid);
    assert.deepEqual(pids.children.map((c) => c.name).sort(), ['agent-1', 'agent-2', 'coordinator', 'nats-server']);
    assert.ok(pids.children.every(running), 'every child runs');

    p.child.kill('SIGKILL');
    assert.equal(await p.exited, 'SIGKILL');
    const ms = await waitFor('the children of a killed multisect up end', () => !pids.children.some(running), 10_000);
    t.diagnostic(`children gone ${ms} ms after kill -9 of multisect up`);
    assert.ok(await portFree(port), 'the coordinator port is free again');
  });

  it('a second multisect up stops what a dead one left, and comes up itself', async (t) => {
    const stateDir = await mkdtemp(join(tmpdir(), 'multisect-up-'));
    dirs.push(stateDir);
    const listen = `127.0.0.1:${await freePort()}`;
    const first = await up(stateDir, listen);
    const old = readPids(stateDir);
    // Children that cannot notice their parent's death: stopped (SIGSTOP), they neither act on
    // the kernel's parent-death SIGTERM nor see their parent go, as a hung process would not.
    for (const c of old.children) process.kill(c.pid, 'SIGSTOP');
    first.child.kill('SIGKILL');
    await first.exited;
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(old.children.every(running), 'the stopped children outlived multisect up');

    const t0 = Date.now();
    const second = await up(stateDir, listen);
    t.diagnostic(`the second multisect up was ready ${Date.now() - t0} ms after its start`);
    const said = second.output();
    assert.match(said, new RegExp(`stopped what a previous multisect up \\(pid ${old.up.pid}\\) left: `));
    for (const c of old.children) assert.match(said, new RegExp(`${c.name} \\(pid ${c.pid}[,)]`));
    assert.ok(!old.children.some(running), 'the leftovers are gone');
    t.diagnostic(said.split('\n').find((l) => l.startsWith('stopped what')) ?? '');

    const now = readPids(stateDir);
    assert.equal(now.up.pid, second.child.pid);
    assert.equal(now.children.length, 4);

    // While it runs, a third one on the same state directory is refused, naming it.
    const third = await runCli(['up', '--agents', '1', '--state-dir', stateDir, '--listen', `127.0.0.1:${await freePort()}`, '--accel', 'tcg'], { timeoutMs: 60_000 });
    assert.equal(third.code, 2);
    assert.match(third.stderr, new RegExp(`--state-dir: ${stateDir} is in use by multisect up \\(pid ${second.child.pid}\\), which is still running`));
    assert.ok(now.children.every(running), 'the refused one touched nothing');

    assert.equal(await second.kill('SIGINT'), 0);
    assert.ok(!now.children.some(running), 'a clean stop leaves nothing');
    assert.ok(!existsSync(join(stateDir, 'farm.pids')), 'and removes the pid file');
  });

  it('an address in use: multisect up says so, with the coordinator\'s own words, and leaves nothing', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'multisect-up-'));
    dirs.push(stateDir);
    // Something else on the port: it hangs up on whoever connects (up tries while it waits).
    const holder = createServer((sock) => sock.destroy());
    const port = await freePort();
    await new Promise<void>((r) => holder.listen(port, '127.0.0.1', () => r()));
    try {
      const r = await runCli(['up', '--agents', '1', '--state-dir', stateDir, '--listen', `127.0.0.1:${port}`, '--accel', 'tcg'], { timeoutMs: 60_000 });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, new RegExp(`the coordinator exited at start \\(status 2\\): --listen: 127\\.0\\.0\\.1:${port} is in use by another process`));
      assert.match(r.stderr, /hint: pick another --listen address/);
      assert.ok(!existsSync(join(stateDir, 'farm.pids')), 'nothing is left to stop');
    } finally {
      holder.close();
    }
  });
});
