/**
 * One SIGTERM stops the coordinator in every state, including those where it waits on NATS:
 * standing by behind another leader, standing by again after NATS went away, and connecting to
 * a NATS where nothing listens. The coordinator is the real CLI in a child process; NATS is a
 * real nats-server.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from 'nats';
import { leaderBucketName } from '../../shared/nats.js';
import { freePort, startProc, type Proc } from '../helpers/farm.js';
import { startNatsServer, uniqueName, type NatsServerHandle } from '../helpers/nats-server.js';

/** How long a stopping coordinator may take: well under systemd's stop timeout. */
const STOP_WITHIN_MS = 10_000;

async function waitForOutput(p: Proc, re: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!re.test(p.output())) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) assert.fail(`the coordinator exited before ${re}:\n${p.output().slice(-3000)}`);
    if (Date.now() > deadline) assert.fail(`no ${re} within ${timeoutMs} ms:\n${p.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Send one SIGTERM; resolve with the exit status and how long it took (SIGKILL after the limit). */
async function stopOnce(p: Proc): Promise<{ status: number | string; ms: number }> {
  const t0 = Date.now();
  p.child.kill('SIGTERM');
  const killer = setTimeout(() => p.child.kill('SIGKILL'), STOP_WITHIN_MS);
  const status = await p.exited;
  clearTimeout(killer);
  return { status, ms: Date.now() - t0 };
}

function assertStopped(p: Proc, r: { status: number | string; ms: number }): void {
  const out = p.output().split("\n").filter((l) => !/"nats status"/.test(l)).join("\n").slice(-4000);
  assert.notEqual(r.status, 'SIGKILL', `still running ${STOP_WITHIN_MS} ms after one SIGTERM:\n${out}`);
  assert.equal(r.status, 0, `exit status after SIGTERM:\n${out}`);
  assert.ok(r.ms < STOP_WITHIN_MS, `took ${r.ms} ms`);
  assert.doesNotMatch(out, /still running .* after SIGTERM/, 'stopped by the last-resort timer, not by itself');
}

describe('the coordinator stops at the first SIGTERM', { timeout: 120_000 }, () => {
  let dir: string;
  const procs: Proc[] = [];
  const coordinator = async (args: string[]): Promise<Proc> => {
    const listen = `127.0.0.1:${await freePort()}`;
    const p = startProc(['coordinator', '--insecure', '--listen', listen, '--state-dir', join(dir, uniqueName('c')), ...args], { env: { MULTISECT_LOG_LEVEL: 'debug' } });
    procs.push(p);
    return p;
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'multisect-coordinator-stop-'));
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL', 1000)));
    await rm(dir, { recursive: true, force: true });
  });

  it('while standing by behind another leader', async () => {
    const nats = await startNatsServer();
    try {
      const namespace = uniqueName('ns');
      // A leader that renews (as far as the standby can tell: its ttl is long) and never stops.
      const nc = await connect({ servers: nats.url });
      const kv = await nc.jetstream().views.kv(leaderBucketName(namespace), { history: 1 });
      await kv.create('leader', new TextEncoder().encode(JSON.stringify({ id: 'elsewhere', address: '127.0.0.1:1', term: 1, acquiredMs: Date.now() })));
      await nc.close();
      const p = await coordinator(['--nats', nats.url, '--namespace', namespace, '--leader-ttl', '60']);
      await waitForOutput(p, /coordinator standing by/, 30_000);
      assertStopped(p, await stopOnce(p));
    } finally {
      await nats.dispose();
    }
  });

  it('while standing by again after NATS went away', async () => {
    const nats: NatsServerHandle = await startNatsServer();
    try {
      const p = await coordinator(['--nats', nats.url, '--namespace', uniqueName('ns'), '--leader-ttl', '1', '--lease', '1']);
      await waitForOutput(p, /coordinator serving on/, 30_000);
      await nats.kill();
      await waitForOutput(p, /leadership lost/, 15_000);
      // Give it time to be retrying its start against the NATS that is gone.
      await new Promise((r) => setTimeout(r, 1500));
      assertStopped(p, await stopOnce(p));
    } finally {
      await nats.dispose();
    }
  });

  it('while connecting to a NATS where nothing listens', async () => {
    const p = await coordinator(['--nats', `nats://127.0.0.1:${await freePort()}`]);
    await waitForOutput(p, /nats connect failed/, 30_000);
    assertStopped(p, await stopOnce(p));
  });
});
