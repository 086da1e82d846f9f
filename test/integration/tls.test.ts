/**
 * The coordinator's gRPC front door with mutual TLS: who gets in (certificates of the lab's CA,
 * with the right role and the right agent id) and what happens to malformed and oversized
 * requests on every RPC (INVALID_ARGUMENT, and the coordinator keeps serving).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { credentials, Metadata, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { Client } from '@grpc/grpc-js';
import { Coordinator } from '../../coordinator/coordinator.js';
import { CHANNEL_OPTIONS, channelCredentials } from '../../shared/grpc.js';
import { silentLogger } from '../../shared/logger.js';
import { AgentMessage, AgentServiceClient, AgentServiceService, type CoordinatorMessage, OperatorServiceClient, OperatorServiceService, RegisterRequest, type RegisterResponse } from '../../shared/proto.js';
import type { TlsFiles } from '../../shared/tls.js';
import { makeLabCerts, type LabCerts } from '../helpers/certs.js';
import { runCli, freePort } from '../helpers/farm.js';
import { startNatsServer, uniqueName, type NatsServerHandle } from '../helpers/nats-server.js';

const tls = (files: TlsFiles): ChannelCredentials => channelCredentials({ kind: 'tls', files });

function register(creds: ChannelCredentials, address: string, agentId: string): Promise<RegisterResponse> {
  const client = new AgentServiceClient(address, creds, CHANNEL_OPTIONS);
  const req = RegisterRequest.fromPartial({ agentId, host: 'h', slots: 1, cpus: 1, vmCapacity: 1, recipeKinds: ['script'] });
  return new Promise<RegisterResponse>((resolve, reject) =>
    client.register(req, new Metadata(), { deadline: Date.now() + 3000 }, (err, res) => (err ? reject(err) : resolve(res))),
  ).finally(() => client.close());
}

function listJobs(creds: ChannelCredentials, address: string): Promise<unknown> {
  const client = new OperatorServiceClient(address, creds, CHANNEL_OPTIONS);
  return new Promise((resolve, reject) =>
    client.listJobs({ activeOnly: false }, new Metadata(), { deadline: Date.now() + 3000 }, (err, res) => (err ? reject(err) : resolve(res))),
  ).finally(() => client.close());
}

/** The status of the first message (or end) on a Work stream that opens with `hello`. */
function workWith(creds: ChannelCredentials, address: string, first: Buffer | AgentMessage): Promise<ServiceError | 'open'> {
  const raw = new Client(address, creds, CHANNEL_OPTIONS);
  const stream = raw.makeBidiStreamRequest(
    '/multisect.v1.AgentService/Work',
    (m: Buffer | AgentMessage) => (Buffer.isBuffer(m) ? m : Buffer.from(AgentMessage.encode(m).finish())),
    (b: Buffer) => b as unknown as CoordinatorMessage,
  );
  return new Promise<ServiceError | 'open'>((resolve) => {
    const timer = setTimeout(() => resolve('open'), 1500);
    stream.on('error', (err: ServiceError) => {
      clearTimeout(timer);
      resolve(err);
    });
    stream.on('data', () => undefined);
    stream.write(first);
  }).finally(() => {
    stream.cancel();
    raw.close();
  });
}

const isCode = (code: status) => (err: ServiceError) => {
  assert.equal(err.code, code, `${status[err.code]}: ${err.details}`);
  return true;
};

describe('gRPC mutual TLS', { timeout: 120_000 }, () => {
  let nats: NatsServerHandle;
  let lab: LabCerts;
  let otherLab: LabCerts;
  let coordinator: Coordinator;
  let stateDir: string;
  let address: string;

  before(async () => {
    [nats, lab, otherLab] = await Promise.all([
      startNatsServer(),
      makeLabCerts({ agents: ['agent-1', 'agent-2'], operators: ['alice'] }),
      makeLabCerts({ agents: ['agent-1'], operators: ['mallory'], org: 'another lab' }),
    ]);
    stateDir = await mkdtemp(join(tmpdir(), 'multisect-tls-'));
    coordinator = await Coordinator.create({
      listen: '127.0.0.1:0',
      natsServers: [nats.url],
      stateDir,
      namespace: uniqueName('tls'),
      security: { kind: 'tls', files: lab.coordinator },
      leaderTtlMs: 2000,
      logger: silentLogger(),
    });
    address = coordinator.address;
  });
  after(async () => {
    await coordinator?.close();
    await nats?.dispose();
    await lab?.dispose();
    await otherLab?.dispose();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('accepts an agent whose certificate names the id it registers', async () => {
    const res = await register(tls(lab.agent('agent-1')), address, 'agent-1');
    assert.equal(res.agentId, 'agent-1');
    assert.equal(await workWith(tls(lab.agent('agent-1')), address, AgentMessage.fromPartial({ msg: { $case: 'hello', value: { agentId: 'agent-1', runningProbeIds: [] } } })), 'open');
  });

  it('refuses an agent without a certificate', async () => {
    const m = await import('node:fs/promises');
    const noCert = credentials.createSsl(await m.readFile(lab.ca));
    await assert.rejects(register(noCert, address, 'agent-1'), isCode(status.UNAVAILABLE));
  });

  it('refuses an agent with a certificate from another CA', async () => {
    // Its own CA as trust root (so the handshake fails on the server's side, not the client's) ...
    await assert.rejects(register(tls(otherLab.agent('agent-1')), address, 'agent-1'), isCode(status.UNAVAILABLE));
    // ... and trusting our CA while presenting the other lab's certificate.
    await assert.rejects(register(tls({ ...otherLab.agent('agent-1'), ca: lab.ca }), address, 'agent-1'), isCode(status.UNAVAILABLE));
  });

  it('refuses a plaintext client', async () => {
    await assert.rejects(register(credentials.createInsecure(), address, 'agent-1'), isCode(status.UNAVAILABLE));
  });

  it("refuses a valid certificate claiming another agent's id, on Register and on the Work stream", async () => {
    await assert.rejects(register(tls(lab.agent('agent-1')), address, 'agent-2'), (err: ServiceError) => {
      isCode(status.PERMISSION_DENIED)(err);
      assert.match(err.details, /certificate is for agent "agent-1", not "agent-2"/);
      return true;
    });
    await register(tls(lab.agent('agent-2')), address, 'agent-2');
    const res = await workWith(tls(lab.agent('agent-1')), address, AgentMessage.fromPartial({ msg: { $case: 'hello', value: { agentId: 'agent-2', runningProbeIds: [] } } }));
    assert.notEqual(res, 'open');
    isCode(status.PERMISSION_DENIED)(res as ServiceError);
  });

  it('keeps roles apart: an operator cannot register as an agent, an agent cannot call the operator service', async () => {
    await assert.rejects(register(tls(lab.operator('alice')), address, 'alice'), isCode(status.PERMISSION_DENIED));
    await assert.rejects(listJobs(tls(lab.agent('agent-1')), address), isCode(status.PERMISSION_DENIED));
    await listJobs(tls(lab.operator('alice')), address);
  });

  describe('malformed and oversized requests on every RPC', () => {
    const junk = Buffer.from([0x0f, 0x0f, 0x0f, 0x0f]);
    const rpcs = [
      ...Object.entries(AgentServiceService).map(([name, m]) => ({ name, m, cert: () => lab.agent('agent-1'), big: 300 * 1024 })),
      ...Object.entries(OperatorServiceService).map(([name, m]) => ({ name, m, cert: () => lab.operator('alice'), big: 9 * 1024 * 1024 })),
    ];
    for (const { name, m, cert, big } of rpcs) {
      for (const [what, payload] of [
        ['malformed', () => junk],
        ['oversized', () => Buffer.alloc(big, 0x41)],
      ] as const) {
        it(`${m.path}: ${what} → INVALID_ARGUMENT, and the coordinator keeps serving`, async () => {
          const creds = tls(cert());
          const raw = new Client(address, creds, CHANNEL_OPTIONS);
          const identity = (b: Buffer) => b;
          try {
            let err: ServiceError | 'open';
            if (m.requestStream) {
              err = await workWith(creds, address, payload());
            } else if (m.responseStream) {
              err = await new Promise((resolve) => {
                const s = raw.makeServerStreamRequest(m.path, identity, identity, payload(), new Metadata(), { deadline: Date.now() + 5000 });
                s.on('data', () => undefined);
                s.on('error', (e: ServiceError) => resolve(e));
                s.on('end', () => resolve('open'));
              });
            } else {
              err = await new Promise((resolve) =>
                raw.makeUnaryRequest(m.path, identity, identity, payload(), new Metadata(), { deadline: Date.now() + 5000 }, (e) => resolve(e ?? 'open')),
              );
            }
            assert.notEqual(err, 'open', `${name} accepted a ${what} request`);
            isCode(status.INVALID_ARGUMENT)(err as ServiceError);
            assert.match((err as ServiceError).details, what === 'malformed' ? /malformed message/ : /larger than the limit/);
          } finally {
            raw.close();
          }
          await listJobs(tls(lab.operator('alice')), address);
        });
      }
    }
  });
});

describe('a coordinator without TLS settings', { timeout: 60_000 }, () => {
  it('fails with an error naming the missing flags', async () => {
    const r = await runCli(['coordinator', '--listen', `127.0.0.1:${await freePort()}`, '--nats', 'nats://127.0.0.1:1', '--state-dir', join(tmpdir(), 'multisect-notls')], {
      timeoutMs: 30_000,
      env: { MULTISECT_TLS_CA: '', MULTISECT_TLS_CERT: '', MULTISECT_TLS_KEY: '', MULTISECT_INSECURE: '' },
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /the coordinator needs TLS files or an explicit --insecure: missing --tls-ca, --tls-cert, --tls-key/);
  });

  it('fails when only some of the TLS files are given', async () => {
    const r = await runCli(['coordinator', '--tls-ca', '/x/ca.crt', '--nats', 'nats://127.0.0.1:1', '--state-dir', join(tmpdir(), 'multisect-notls')], { timeoutMs: 30_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /missing --tls-cert, --tls-key/);
  });
});
