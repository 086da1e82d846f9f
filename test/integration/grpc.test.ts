import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createServer as createNetServer } from 'node:net';
import { Server, status, type ServiceError } from '@grpc/grpc-js';
import {
  GetJobRequest,
  Job,
  JobEvent,
  JobState,
  OperatorServiceClient,
  OperatorServiceService,
  type OperatorServiceServer,
  WatchJobRequest,
} from '../../shared/proto.js';
import { JobNotFoundError, InvalidJobError, InvalidOptionError } from '../../shared/errors.js';
import { bindServer, serverStream, unary, insecureChannel } from '../../shared/grpc.js';
import { fromGrpcError } from '../../shared/grpc-errors.js';
import { silentLogger } from '../../shared/logger.js';
import { serveGrpc, type TestGrpcServer } from '../helpers/grpc-server.js';

const logger = silentLogger();
const notImplemented = unary(logger, () => {
  throw new Error('not implemented');
});

const impl: OperatorServiceServer = {
  getJob: unary(logger, (req: GetJobRequest) => {
    if (req.jobId === 'missing') throw new JobNotFoundError(req.jobId);
    if (req.jobId === '') throw new InvalidJobError('job_id', 'must not be empty');
    if (req.jobId === 'boom') throw new TypeError('something unexpected');
    return Job.fromPartial({ id: req.jobId, state: JobState.JOB_STATE_RUNNING });
  }),
  watchJob: serverStream(logger, async (req: WatchJobRequest, call) => {
    for (let i = 0; i < 3; i++) call.write(JobEvent.fromPartial({ jobId: req.jobId, kind: 'log', message: `line ${i}` }));
  }),
  submitJob: notImplemented,
  listJobs: notImplemented,
  cancelJob: notImplemented,
  listAgents: notImplemented,
  getLog: notImplemented,
  getPosterior: notImplemented,
};

describe('gRPC through the generated code', () => {
  let srv: TestGrpcServer;
  let client: OperatorServiceClient;
  before(async () => {
    srv = await serveGrpc([[OperatorServiceService, impl as never]]);
    client = new OperatorServiceClient(srv.address, insecureChannel());
  });
  after(async () => {
    client?.close();
    await srv?.close();
  });

  const getJob = (jobId: string) =>
    new Promise<Job>((resolve, reject) => client.getJob({ jobId }, (err, res) => (err ? reject(err) : resolve(res))));

  it('answers a unary call', async () => {
    const job = await getJob('j1');
    assert.equal(job.id, 'j1');
    assert.equal(job.state, JobState.JOB_STATE_RUNNING);
  });

  it('streams server messages', async () => {
    const got: string[] = [];
    const stream = client.watchJob({ jobId: 'j2', liveOnly: false });
    for await (const ev of stream as AsyncIterable<JobEvent>) got.push(ev.message);
    assert.deepEqual(got, ['line 0', 'line 1', 'line 2']);
  });

  it('maps a domain error to its status code and back', async () => {
    await assert.rejects(getJob('missing'), (err: ServiceError) => err.code === status.NOT_FOUND && /missing/.test(err.details));
    await assert.rejects(getJob(''), (err: ServiceError) => {
      assert.equal(err.code, status.INVALID_ARGUMENT);
      const typed = fromGrpcError(err, srv.address);
      assert.ok(typed instanceof InvalidJobError);
      assert.equal(typed.field, 'job_id');
      return true;
    });
  });

  it('turns an unexpected error into UNKNOWN', async () => {
    await assert.rejects(getJob('boom'), (err: ServiceError) => err.code === status.UNKNOWN);
  });
});

describe('binding a gRPC server', () => {
  it('names the --listen address that is taken, by its errno code, with what to do', async () => {
    const holder = createNetServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
    const port = (holder.address() as { port: number }).port;
    const server = new Server();
    try {
      await assert.rejects(bindServer(server, `127.0.0.1:${port}`), (err: unknown) => {
        assert.ok(err instanceof InvalidOptionError, String(err));
        assert.equal(err.field, '--listen');
        assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port} is in use by another process`));
        assert.match(err.hint ?? '', /pick another --listen address/);
        assert.ok(err.cause instanceof Error, 'the grpc-js error is kept as the cause');
        return true;
      });
    } finally {
      server.forceShutdown();
      await new Promise((r) => holder.close(r));
    }
  });

  it('names a host that is not an address of this machine', async () => {
    const server = new Server();
    try {
      // 192.0.2.0/24 is TEST-NET-1: never a local address.
      await assert.rejects(bindServer(server, '192.0.2.1:0'), (err: unknown) => err instanceof InvalidOptionError && /192\.0\.2\.1 is not an address of this machine/.test(err.message));
    } finally {
      server.forceShutdown();
    }
  });
});
