/** OperatorService: what the CLI and dashboards call. */
import type { Logger } from 'pino';
import { DeliverPolicy } from 'nats';
import { InvalidOptionError } from '../shared/errors.js';
import { serverStream, unary } from '../shared/grpc.js';
import type { Store } from '../shared/nats.js';
import {
  type Job,
  GetLogResponse,
  JobEvent,
  ListAgentsResponse,
  ListJobsResponse,
  Posterior,
  SubmitJobResponse,
  type OperatorServiceServer,
} from '../shared/proto.js';
import type { AgentRegistry } from './agent-registry.js';
import { FINAL_STATES } from '../shared/job-log.js';
import type { JobManager } from './jobs.js';

export interface OperatorServiceDeps {
  jobs: JobManager;
  registry: AgentRegistry;
  store: Store;
  logger: Logger;
}

const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/;
function checkJobId(id: string): string {
  if (!JOB_ID.test(id)) throw new InvalidOptionError('job_id', `${JSON.stringify(id)} is not a job id`);
  return id;
}

export function operatorService(deps: OperatorServiceDeps): OperatorServiceServer {
  const logger = deps.logger.child({ component: 'operator-service' });
  const { jobs, store } = deps;
  return {
    submitJob: unary(logger, async (req) => {
      if (!req.spec) throw new InvalidOptionError('spec', 'the job spec is missing');
      return SubmitJobResponse.fromPartial({ job: await jobs.submit(req.spec) });
    }),
    getJob: unary(logger, (req) => jobs.get(checkJobId(req.jobId))),
    // A listing leaves the job files' content out (names, sizes and hashes stay): up to 4 MiB a job.
    listJobs: unary(logger, async (req) => ListJobsResponse.fromPartial({ jobs: (await jobs.list(req.activeOnly)).map(withoutFileContents) })),
    cancelJob: unary(logger, (req) => jobs.cancel(checkJobId(req.jobId), req.reason)),
    getPosterior: unary(logger, async (req) => Posterior.fromPartial({ jobId: req.jobId, ...(await jobs.posterior(checkJobId(req.jobId))) })),
    listAgents: unary(logger, () => ListAgentsResponse.fromPartial({ agents: deps.registry.all().map((a) => deps.registry.toInfo(a)) })),
    getLog: unary(logger, async (req) => {
      checkJobId(req.jobId);
      if (req.key) {
        if (!req.key.startsWith(`${req.jobId}/`)) throw new InvalidOptionError('key', 'the key does not belong to this job');
        const blob = await store.logs.getBlob(req.key);
        if (!blob) throw new InvalidOptionError('key', `no log ${JSON.stringify(req.key)}`);
        return GetLogResponse.fromPartial({ text: new TextDecoder().decode(blob), keys: [req.key] });
      }
      if (req.probeId) {
        const prefix = `${req.jobId}/${req.probeId}/`;
        const entries = (await store.logs.list()).filter((e) => e.name.startsWith(prefix)).sort((a, b) => a.name.localeCompare(b.name));
        if (entries.length === 0) throw new InvalidOptionError('probe', `no logs for probe ${req.probeId} of job ${req.jobId}`);
        let text = '';
        for (const e of entries) {
          const blob = await store.logs.getBlob(e.name);
          text += `==> ${e.name} <==\n${new TextDecoder().decode(blob ?? new Uint8Array())}\n`;
        }
        return GetLogResponse.fromPartial({ text, keys: entries.map((e) => e.name) });
      }
      await jobs.get(req.jobId);
      return GetLogResponse.fromPartial({ text: await jobs.jobLog(req.jobId) });
    }),
    watchJob: serverStream(logger, async (req, call) => {
      const jobId = checkJobId(req.jobId);
      const job = await jobs.get(jobId);
      const subject = store.eventSubject(jobId);
      // A job that ended before we looked: send its history and stop when we reach the end.
      const ended = FINAL_STATES.has(job.state);
      if (ended) {
        const info = await store.jsm.streams.info(store.names.eventStream, { subjects_filter: subject });
        if (req.liveOnly || (info.state.subjects?.[subject] ?? 0) === 0) return;
      }
      const consumer = await store.js.consumers.get(store.names.eventStream, {
        // A single subject as a string: an array asks for filter_subjects, which needs NATS 2.10.
        filterSubjects: subject,
        // From the start unless live only. (nats.js sets opt_start_seq itself; passing
        // DeliverPolicy.All with it makes the server refuse the consumer.)
        ...(req.liveOnly ? { deliver_policy: DeliverPolicy.New } : {}),
      });
      const messages = await consumer.consume();
      call.on('cancelled', () => messages.stop());
      for await (const m of messages) {
        const ev = JobEvent.decode(m.data);
        if (!call.write(ev)) await new Promise((r) => call.once('drain', r));
        if (ev.kind === 'finished' || (ended && m.info.pending === 0)) break;
      }
      messages.stop();
    }),
  };
}

/** The job with its files' names, sizes and hashes but not their content. */
export function withoutFileContents(job: Job): Job {
  const files = job.spec?.recipe?.files;
  if (!files?.length) return job;
  const stripped = files.map((f) => ({ ...f, content: Buffer.alloc(0) }));
  return { ...job, spec: { ...job.spec!, recipe: { ...job.spec!.recipe!, files: stripped } } };
}
