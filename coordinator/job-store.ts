/**
 * Job records in the JetStream KV bucket `jobs`: the spec, the status, the probes in flight
 * (so a restarted coordinator knows which assignments agents still hold). The engine's state
 * is never stored: it is a fold of the spec and the VERDICTS stream.
 */
import type { KV } from 'nats';
import type { Logger } from 'pino';
import { Job } from '../shared/proto.js';
import { withRetry } from '../shared/nats.js';

export interface InFlightRecord {
  probeId: string;
  commit: string;
  agentId: string;
  slot: number;
  startedMs: number;
}

export interface JobRecord {
  job: Job;
  inFlight: InFlightRecord[];
  /** Every probe id ever assigned: only their verdicts count (a verdict is not authenticated). */
  issued?: string[];
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class JobStore {
  constructor(
    private readonly kv: KV,
    private readonly logger: Logger,
    private readonly signal?: AbortSignal,
  ) {}

  async put(record: JobRecord): Promise<void> {
    const value = enc.encode(JSON.stringify({ job: Job.toJSON(record.job), inFlight: record.inFlight, issued: record.issued ?? [] }));
    await withRetry('kv put job', () => this.kv.put(record.job.id, value), { logger: this.logger, signal: this.signal });
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    const entry = await withRetry('kv get job', () => this.kv.get(jobId), { logger: this.logger, signal: this.signal, attempts: 20 });
    if (!entry || entry.operation !== 'PUT' || entry.value.length === 0) return undefined;
    return decode(entry.value);
  }

  async list(): Promise<JobRecord[]> {
    const keys: string[] = [];
    const it = await withRetry('kv keys', () => this.kv.keys(), { logger: this.logger, signal: this.signal, attempts: 20 });
    for await (const k of it) keys.push(k);
    const out: JobRecord[] = [];
    for (const k of keys) {
      const r = await this.get(k);
      if (r) out.push(r);
    }
    return out;
  }
}

function decode(value: Uint8Array): JobRecord {
  const raw = JSON.parse(dec.decode(value)) as { job: unknown; inFlight?: InFlightRecord[]; issued?: string[] };
  return { job: Job.fromJSON(raw.job), inFlight: raw.inFlight ?? [], issued: raw.issued ?? [] };
}
