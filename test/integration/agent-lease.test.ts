/**
 * The agent heartbeats as often as the coordinator asks and keeps the LeaseRenewals it gets:
 * with a lease shorter than any fixed interval it could pick it stays connected, and when no
 * renewal covers its lease it gives the Work stream up and says Hello again. Real gRPC on
 * 127.0.0.1 and a real nats-server (the agent connects to NATS before its Work stream).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { Agent } from '../../agent/agent.js';
import { Coordinator } from '../../coordinator/coordinator.js';
import { silentLogger } from '../../shared/logger.js';
import { AgentMessage, AgentServiceService, CoordinatorMessage, RegisterResponse } from '../../shared/proto.js';
import { serveGrpc, type TestGrpcServer } from '../helpers/grpc-server.js';
import { startNatsServer, uniqueName, type NatsServerHandle } from '../helpers/nats-server.js';

const logger = silentLogger();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

describe('agent heartbeats and leases', { timeout: 90_000 }, () => {
  let nats: NatsServerHandle;
  let dir: string;
  const cleanups: Array<() => Promise<unknown>> = [];
  before(async () => {
    nats = await startNatsServer();
    dir = await mkdtemp(join(tmpdir(), 'multisect-agent-lease-'));
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await nats?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const startAgent = async (coordinator: string): Promise<Agent> => {
    const id = uniqueName('agent');
    const agent = await Agent.create({ id, coordinator, stateDir: join(dir, id), security: { kind: 'insecure' }, recipeKinds: ['script'], logger });
    cleanups.push(() => agent.close());
    agent.start();
    return agent;
  };

  it('stays connected to a coordinator whose lease (500 ms) is shorter than 1 s', async () => {
    const coordinator = await Coordinator.create({
      natsServers: [nats.url],
      namespace: uniqueName('ns'),
      stateDir: join(dir, 'coordinator'),
      listen: '127.0.0.1:0',
      leaseMs: 500,
      leaderTtlMs: 5000,
      security: { kind: 'insecure' },
      logger,
    });
    cleanups.push(() => coordinator.close());
    assert.equal(coordinator.options.heartbeatIntervalMs, 250);
    const agent = await startAgent(coordinator.address);
    const entry = () => coordinator.registry.get(agent.options.id);
    await until('agent connected', () => entry()?.stream !== undefined, 15_000);
    const stream = entry()!.stream;
    // Three seconds of leases: never silent for longer than the lease, never dropped.
    let longestSilenceMs = 0;
    for (const end = Date.now() + 3000; Date.now() < end; await sleep(20)) {
      const e = entry()!;
      longestSilenceMs = Math.max(longestSilenceMs, Date.now() - e.lastSeenMs);
      assert.equal(e.stream, stream, `the coordinator dropped the agent (silent ${longestSilenceMs} ms with a 500 ms lease)`);
    }
    assert.ok(longestSilenceMs < 500, `silent for ${longestSilenceMs} ms`);
  });

  /** A coordinator of our own: real gRPC, every message counted, renewals sent or withheld. */
  async function fakeCoordinator(o: { heartbeatIntervalMs: number; leaseMs: number; renew: boolean }) {
    const seen = { hellos: 0, heartbeats: 0 };
    const server: TestGrpcServer = await serveGrpc([
      [
        AgentServiceService,
        {
          register: (_call: unknown, cb: (err: null, res: RegisterResponse) => void) =>
            cb(null, RegisterResponse.fromPartial({ agentId: 'x', heartbeatIntervalMs: o.heartbeatIntervalMs, leaseMs: o.leaseMs, natsUrls: [nats.url], namespace: uniqueName('ns') })),
          work: (call: ServerDuplexStream<AgentMessage, CoordinatorMessage>) => {
            call.on('data', (m: AgentMessage) => {
              if (m.msg?.$case === 'hello') seen.hellos += 1;
              if (m.msg?.$case === 'heartbeat') {
                seen.heartbeats += 1;
                if (o.renew) call.write(CoordinatorMessage.fromPartial({ msg: { $case: 'lease', value: { leaseDeadlineMs: Date.now() + o.leaseMs } } }));
              }
            });
            call.on('end', () => call.end());
            call.on('error', () => undefined);
          },
        } as never,
      ],
    ]);
    cleanups.push(() => server.close());
    return { server, seen };
  }

  it('heartbeats at the interval the coordinator asks, and keeps a renewed lease', async () => {
    const { server, seen } = await fakeCoordinator({ heartbeatIntervalMs: 100, leaseMs: 600, renew: true });
    const agent = await startAgent(server.address);
    await until('Hello', () => seen.hellos === 1, 15_000);
    const from = seen.heartbeats;
    await sleep(2000);
    const beats = seen.heartbeats - from;
    assert.ok(beats >= 12 && beats <= 25, `${beats} heartbeats in 2 s at a 100 ms interval`);
    assert.equal(seen.hellos, 1, 'renewed every time: the agent kept its Work stream');
    const remaining = agent.leaseRemainingMs;
    assert.ok(remaining !== undefined && remaining > 300 && remaining <= 600, `lease remaining ${remaining} ms`);
  });

  it('gives up a Work stream whose lease is not renewed, and says Hello again', async () => {
    const { server, seen } = await fakeCoordinator({ heartbeatIntervalMs: 100, leaseMs: 600, renew: false });
    await startAgent(server.address);
    await until('Hello', () => seen.hellos === 1, 15_000);
    const t0 = Date.now();
    // The lease lapses 600 ms after the Hello; the agent notices at its next heartbeat and
    // reconnects after its first back-off (200-300 ms).
    await until('a second Hello after the lease lapsed', () => seen.hellos >= 2, 5000);
    assert.ok(Date.now() - t0 >= 500, 'not before the lease ran out');
  });
});
