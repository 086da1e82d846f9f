/** A promise-based OperatorService client that turns gRPC errors into typed errors. */
import type { ClientReadableStream } from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, insecureChannel } from '../shared/grpc.js';
import { fromGrpcError } from '../shared/grpc-errors.js';
import { CoordinatorUnavailableError } from '../shared/errors.js';
import {
  type AgentInfo,
  type GetLogResponse,
  type Job,
  type JobEvent,
  type JobSpec,
  OperatorServiceClient,
} from '../shared/proto.js';

type Callback<T> = (err: Error | null, res: T) => void;

export class OperatorClient {
  private readonly client: OperatorServiceClient;

  private constructor(readonly address: string) {
    this.client = new OperatorServiceClient(address, insecureChannel(), CHANNEL_OPTIONS);
  }

  /** Connect, failing with a clear message when no coordinator answers within `timeoutMs`. */
  static async connect(address: string, timeoutMs = 3000): Promise<OperatorClient> {
    const c = new OperatorClient(address);
    await new Promise<void>((resolve, reject) =>
      c.client.waitForReady(Date.now() + timeoutMs, (err) =>
        err
          ? reject(
              new CoordinatorUnavailableError(address, `no coordinator answers at ${address}`, {
                cause: err,
                hint: 'start a local farm with `multisect up`, or pass --coordinator ADDR (or set MULTISECT_COORDINATOR)',
              }),
            )
          : resolve(),
      ),
    ).catch((err) => {
      c.close();
      throw err;
    });
    return c;
  }

  private call<Req, Res>(fn: (req: Req, cb: Callback<Res>) => unknown, req: Req): Promise<Res> {
    return new Promise((resolve, reject) => fn.call(this.client, req, (err, res) => (err ? reject(fromGrpcError(err, this.address)) : resolve(res))));
  }

  async submit(spec: JobSpec): Promise<Job> {
    const res = await this.call(this.client.submitJob as never, { spec });
    return (res as { job: Job }).job;
  }
  getJob(jobId: string): Promise<Job> {
    return this.call(this.client.getJob as never, { jobId });
  }
  async listJobs(activeOnly = false): Promise<Job[]> {
    return ((await this.call(this.client.listJobs as never, { activeOnly })) as { jobs: Job[] }).jobs;
  }
  cancel(jobId: string, reason = ''): Promise<Job> {
    return this.call(this.client.cancelJob as never, { jobId, reason });
  }
  async agents(): Promise<AgentInfo[]> {
    return ((await this.call(this.client.listAgents as never, {})) as { agents: AgentInfo[] }).agents;
  }
  getLog(jobId: string, probeId = '', key = ''): Promise<GetLogResponse> {
    return this.call(this.client.getLog as never, { jobId, probeId, key });
  }

  /** Events of a job as an async iterable; ends when the job finished or the stream broke. */
  async *watch(jobId: string, liveOnly = false): AsyncGenerator<JobEvent> {
    const stream: ClientReadableStream<JobEvent> = this.client.watchJob({ jobId, liveOnly });
    try {
      for await (const ev of stream as AsyncIterable<JobEvent>) yield ev;
    } catch (err) {
      throw fromGrpcError(err, this.address);
    } finally {
      stream.cancel();
    }
  }

  close(): void {
    this.client.close();
  }
}
