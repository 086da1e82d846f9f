/**
 * Benchmark of the coordinator under load (issue 18): a real coordinator (`multisect
 * coordinator`, a child process) and a real nats-server, light simulated agents over real gRPC
 * (test/bench/scale/sim-agents.ts: many agents per child process, each on its own connection;
 * no builds: a probe takes a random 200-600 ms and its verdict comes from a culprit planted in the
 * job's recipe params), on generated 10,000-commit git repositories with merges (a mainline
 * with topic branches merged in, made with git fast-import). For each configuration of agent
 * slots x jobs at once (50/200/500 x 1/20/50), the jobs are submitted together through the
 * OperatorService, with verification (the default), and run to their end.
 *
 * It prints, per configuration:
 * - verdict-to-next-assignment latency p50/p99: from the agent starting to publish the verdict
 *   to JetStream to the next assignment arriving on the slot it freed (measured in the agents;
 *   "busy" samples are those taken while the farm used all its slots, see scale/metrics.ts;
 *   the JSON has the all-samples and from-the-ack figures too);
 * - assignments per second (over the run: first submission to last job finished);
 * - the coordinator's CPU (user + system from /proc/<pid>/stat over the run, as a share of one
 *   core, and per probe) and its peak RSS (/proc/<pid>/status);
 * - JetStream bytes stored per job (stream info of VERDICTS, EVENTS, the jobs KV bucket and the
 *   logs object store) and the job record writes per job;
 * - whether every job found its planted culprit;
 * then PASS/FAIL against the targets: every job right; busy p99 under 50 ms at 500 slots x 50
 * jobs; coordinator CPU per probe under 600 ms (1% of a one-minute probe).
 *
 *   npx tsx test/bench/scale.ts [--json]
 *
 * Environment (all optional):
 *   SCALE_CONFIGS=50x1,500x50    slots x jobs (default: the 9 of 50/200/500 x 1/20/50)
 *   SCALE_COMMITS=10000          commits per repository; SCALE_REPOS=2 repositories
 *   SCALE_SLOTS_PER_AGENT=2      slots of each simulated agent; SCALE_AGENT_PROCS=4 child processes
 *   SCALE_PROBE_MS=200-600       probe duration range
 *   SCALE_REPRO=                 the jobs' --repro (default unset: the engine learns the rate)
 *   SCALE_SEED=1, SCALE_TIMEOUT_S=180 (per configuration; a healthy one takes seconds), SCALE_PROGRESS_S=5
 *   SCALE_PROFILE=1              the coordinator under node --cpu-prof; profiles kept in
 *                                SCALE_PROFILE_DIR (default $TMPDIR/multisect-scale-profiles),
 *                                summarized over the run's samples
 *   SCALE_ROOT=DIR               run the coordinator from this source tree (default: this one)
 *   SCALE_NODE_FLAGS="--trace-gc" more node flags for the coordinator (its log gets their output)
 *   SCALE_KEEP=1                 keep the work directory (logs) instead of removing it
 *   SCALE_STRICT=1               exit 1 when a performance target fails (always when a job is wrong)
 *
 * Every process it starts dies with it: setpriv --pdeathsig, and test/helpers/processes.ts kills
 * them at exit, on Ctrl-C and SIGTERM; the work directory is removed at exit, pass or fail.
 */
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from 'nats';
import { buildSpec } from '../../cli/actions/jobs.js';
import { OperatorClient } from '../../cli/client.js';
import { FINAL_STATES } from '../../shared/job-log.js';
import { closeNats, connectNats, storeNamesFor } from '../../shared/nats.js';
import { JobEvent, JobState } from '../../shared/proto.js';
import { REPO_ROOT } from '../helpers/farm.js';
import { tempDir } from '../helpers/temp-dirs.js';
import { procStats, startCoordinator, startNats, startSims, tail, type CoordinatorProc, type NatsProc, type SimProc } from './scale/farm.js';
import { makeScaleRepo, planJobs, type PlannedJob, type ScaleRepo } from './scale/history.js';
import { IDLE_MS, slotMetrics, type SlotMetrics } from './scale/metrics.js';
import { renderProfile, summarizeProfile, type ProfileSummary } from './scale/profile.js';
import type { SimRecord } from './scale/sim-agents.js';

const JSON_OUT = process.argv.includes('--json');
const say = (s: string) => (JSON_OUT ? process.stderr : process.stdout).write(`${s}\n`);

const num = (name: string, dflt: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: a number, got ${JSON.stringify(v)}`);
  return n;
};

const GRID = ['50x1', '50x20', '50x50', '200x1', '200x20', '200x50', '500x1', '500x20', '500x50'];
const CONFIGS = (process.env.SCALE_CONFIGS || GRID.join(',')).split(',').map((c) => {
  const m = /^\s*(\d+)x(\d+)\s*$/.exec(c);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new Error(`SCALE_CONFIGS: SLOTSxJOBS, comma-separated (e.g. 50x1,500x50), got ${JSON.stringify(c)}`);
  return { slots: Number(m[1]), jobs: Number(m[2]), label: `${Number(m[1])}x${Number(m[2])}` };
});
const COMMITS = num('SCALE_COMMITS', 10_000);
const REPOS = Math.max(1, num('SCALE_REPOS', 2));
const SLOTS_PER_AGENT = Math.max(1, num('SCALE_SLOTS_PER_AGENT', 2));
const AGENT_PROCS = Math.max(1, num('SCALE_AGENT_PROCS', 4));
const [MIN_MS, MAX_MS] = (process.env.SCALE_PROBE_MS || '200-600').split('-').map(Number) as [number, number];
if (!(MIN_MS >= 0 && MAX_MS >= MIN_MS)) throw new Error('SCALE_PROBE_MS: MIN-MAX in ms, e.g. 200-600');
const REPRO = process.env.SCALE_REPRO ? Number(process.env.SCALE_REPRO) : undefined;
const SEED = num('SCALE_SEED', 1);
const TIMEOUT_S = num('SCALE_TIMEOUT_S', 180);
const PROGRESS_S = Math.max(1, num('SCALE_PROGRESS_S', 5));
const PROFILE = process.env.SCALE_PROFILE === '1';
const PROFILE_DIR = process.env.SCALE_PROFILE_DIR || join(tmpdir(), 'multisect-scale-profiles');
const ROOT = process.env.SCALE_ROOT || REPO_ROOT;
const KEEP = process.env.SCALE_KEEP === '1';
const NODE_FLAGS = (process.env.SCALE_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
const STRICT = process.env.SCALE_STRICT === '1';

/** Targets of issue 18. */
const TARGET_P99_MS = 50;
const TARGET_CPU_PER_PROBE_MS = 600;

/** One clock for every process of the bench (ms). */
const now = (): number => performance.timeOrigin + performance.now();

interface JetStreamUse {
  stream: string;
  messages: number;
  bytes: number;
  /** Messages ever stored (last sequence): for the KV bucket, the job record writes. */
  written: number;
}

interface Row {
  config: string;
  slots: number;
  jobs: number;
  agents: number;
  candidatesMean: number;
  jobsDone: number;
  jobsRight: number;
  wrong: { jobId: string; state: string; planted: string; found: string; reason: string }[];
  timedOut: boolean;
  wallS: number;
  /** Verdicts the agents published in the run. */
  probes: number;
  /** Verdict events the coordinator published (verdicts it applied). */
  verdictEvents: number;
  assignments: number;
  assignmentsPerS: number;
  latency: SlotMetrics;
  coordinatorCpuS: number;
  /** Share of one core over the run. */
  coordinatorCpuShare: number;
  cpuMsPerProbe: number;
  /**
   * CPU of the rest of the farm over the run (nats-server and the simulated agents' processes),
   * per probe: on a small machine they share its cores with the coordinator, and at the probe
   * rate the bench asks for they can take most of them.
   */
  natsCpuMsPerProbe: number;
  agentsCpuMsPerProbe: number;
  rssPeakMb: number;
  rssHwmMb: number;
  jetstream: JetStreamUse[];
  jetstreamBytesPerJob: number;
  recordWritesPerJob: number;
  /** Job record bytes written per job, an upper bound: writes x the final record's size (records grow). */
  recordBytesWrittenPerJob: number;
  /** Bytes all NATS clients sent the server (nats-server /varz in_bytes), per job: measured. */
  natsInBytesPerJob: number;
  /** Verdicts stored but not yet acknowledged by the coordinator's consumer when the run ended. */
  verdictBacklogAtEnd: number;
  /** The largest backlog seen by the progress samples. */
  verdictBacklogMax: number;
  profile?: { file: string; summary: ProfileSummary };
  error?: string;
}

async function makeRepos(work: string): Promise<ScaleRepo[]> {
  const repos: ScaleRepo[] = [];
  for (let i = 0; i < REPOS; i++) {
    const t = Date.now();
    const dir = join(work, `repo-${i}`);
    await mkdir(dir, { recursive: true });
    const r = await makeScaleRepo(dir, COMMITS, SEED * 100 + i + 1);
    say(`   repository ${i}: ${r.hashes.length} commits, ${r.merges} merges, mainline ${r.mainline.length} commits, in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    repos.push(r);
  }
  return repos;
}

async function until<T>(what: string, ms: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function jetstreamUse(nc: NatsConnection, namespace: string): Promise<JetStreamUse[]> {
  const names = storeNamesFor(namespace);
  const jsm = await nc.jetstreamManager();
  const out: JetStreamUse[] = [];
  for (const stream of [names.verdictStream, names.eventStream, `KV_${names.jobsBucket}`, `OBJ_${names.logsBucket}`]) {
    try {
      const s = (await jsm.streams.info(stream)).state;
      out.push({ stream, messages: s.messages, bytes: s.bytes, written: s.last_seq });
    } catch {
      out.push({ stream, messages: 0, bytes: 0, written: 0 });
    }
  }
  return out;
}

/** Verdicts in the stream the coordinator's durable consumer has not acknowledged yet. */
async function verdictBacklog(nc: NatsConnection, namespace: string): Promise<number> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.consumers.info(storeNamesFor(namespace).verdictStream, 'coordinator');
  return info.num_pending + info.num_ack_pending;
}

async function runConfig(c: { slots: number; jobs: number; label: string }, repos: ScaleRepo[], work: string, index: number): Promise<Row> {
  const dir = join(work, `run-${c.label}-${index}`);
  await mkdir(dir, { recursive: true });
  const namespace = `scale${c.label}`;
  const agentSlots: { id: string; slots: number }[] = [];
  for (let left = c.slots, i = 1; left > 0; i++) {
    const s = Math.min(SLOTS_PER_AGENT, left);
    agentSlots.push({ id: `sim-${i}`, slots: s });
    left -= s;
  }
  const planned = planJobs(repos, c.jobs, SEED * 1000 + c.slots * 7 + c.jobs);
  const row: Row = {
    config: c.label, slots: c.slots, jobs: c.jobs, agents: agentSlots.length,
    candidatesMean: planned.reduce((s, p) => s + p.candidates, 0) / planned.length,
    jobsDone: 0, jobsRight: 0, wrong: [], timedOut: false, wallS: 0, probes: 0, verdictEvents: 0, assignments: 0, assignmentsPerS: 0,
    latency: slotMetrics([], { start: 0, end: 1 }), coordinatorCpuS: 0, coordinatorCpuShare: 0, cpuMsPerProbe: 0, natsCpuMsPerProbe: 0, agentsCpuMsPerProbe: 0, rssPeakMb: 0, rssHwmMb: 0,
    jetstream: [], jetstreamBytesPerJob: 0, recordWritesPerJob: 0, recordBytesWrittenPerJob: 0, natsInBytesPerJob: 0, verdictBacklogAtEnd: 0, verdictBacklogMax: 0,
  };
  say(`== ${c.label}: ${c.slots} slots (${agentSlots.length} agents of ${SLOTS_PER_AGENT} slots in ${Math.min(AGENT_PROCS, agentSlots.length)} processes), ${c.jobs} job(s) at once, ${Math.round(row.candidatesMean)} candidates a job on average`);
  let nats: NatsProc | undefined;
  let coordinator: CoordinatorProc | undefined;
  let sims: SimProc[] = [];
  let otherCpuS = { nats: 0, agents: 0 };
  let nc: NatsConnection | undefined;
  let client: OperatorClient | undefined;
  let profileDir: string | undefined;
  let records: SimRecord[] = [];
  const window = { start: 0, end: 0 };
  const hr = { from: 0n, to: 0n };
  try {
    nats = await startNats(join(dir, 'nats'));
    if (PROFILE) {
      profileDir = join(PROFILE_DIR, `${c.label}-${process.pid}-${index}`);
      await mkdir(profileDir, { recursive: true });
    }
    coordinator = await startCoordinator({ root: ROOT, nats: nats.url, namespace, dir, ...(profileDir ? { profileDir } : {}), nodeFlags: NODE_FLAGS });
    say(`   nats-server ${nats.url}, coordinator ${coordinator.address} (pid ${coordinator.pid}${profileDir ? ', under --cpu-prof' : ''}; log ${coordinator.log})`);
    const procs = Math.min(AGENT_PROCS, agentSlots.length);
    sims = Array.from({ length: procs }, (_, p) =>
      startSims(p, { coordinator: coordinator!.address, agents: agentSlots.filter((_, i) => i % procs === p), minMs: MIN_MS, maxMs: MAX_MS, seed: SEED * 7777 + index * 100 + p + 1 }, dir),
    );
    await Promise.all(sims.map((s) => s.ready));
    client = await OperatorClient.connect(coordinator.address, 10_000, { kind: 'insecure' });
    const cl = client;
    await until('every simulated agent connected', 60_000, async () => ((await cl.agents()).filter((a) => a.connected).length === agentSlots.length ? true : undefined));
    say(`   ${agentSlots.length} simulated agents connected`);

    nc = await connectNats({ servers: [nats.url], name: 'multisect-scale-bench' });
    const names = storeNamesFor(namespace);
    const finished = new Map<string, number>();
    let verdictEvents = 0;
    nc.subscribe(`${names.eventSubject}.>`, {
      callback: (err, m) => {
        if (err) return;
        const ev = JobEvent.decode(m.data);
        if (ev.kind === 'verdict') verdictEvents++;
        else if (ev.kind === 'finished' && !finished.has(ev.jobId)) finished.set(ev.jobId, now());
      },
    });
    await nc.flush();

    const cpu0 = procStats(coordinator.pid)!;
    const otherCpu = () => ({ nats: procStats(nats!.pid)?.cpuS ?? 0, agents: sims.reduce((t, s) => t + (procStats(s.pid)?.cpuS ?? 0), 0) });
    const other0 = otherCpu();
    let rssPeak = cpu0.rssMb;
    window.start = now();
    hr.from = process.hrtime.bigint();
    const ids = new Map<string, PlannedJob>();
    const submitted = Promise.all(
      planned.map(async (p, j) => {
        const spec = buildSpec({
          repo: p.repo.dir, bad: p.bad, goods: [p.good], test: 'true', title: `scale ${c.label} #${j}`,
          params: { sim_culprit: p.culprit, sim_dag: p.repo.dagFile },
          ...(REPRO !== undefined ? { repro: REPRO } : {}),
        });
        const job = await cl.submit(spec);
        ids.set(job.id, p);
      }),
    );
    let submitError: unknown;
    submitted.catch((err: unknown) => (submitError = err));
    const deadline = Date.now() + TIMEOUT_S * 1000;
    let lastPrint = now();
    let lastAssigns = 0;
    const rssTimer = setInterval(() => {
      const s = coordinator && procStats(coordinator.pid);
      if (s) rssPeak = Math.max(rssPeak, s.rssMb);
    }, 250);
    try {
      for (;;) {
        await new Promise((r) => setTimeout(r, 100));
        if (submitError) throw submitError;
        const done = [...ids.keys()].filter((id) => finished.has(id)).length;
        if (ids.size === c.jobs && done === c.jobs) break;
        if (coordinator.child.exitCode !== null) throw new Error(`the coordinator exited (${coordinator.child.exitCode}):\n${tail(coordinator.log)}`);
        if (Date.now() > deadline) {
          row.timedOut = true;
          say(`   timed out after ${TIMEOUT_S} s with ${done}/${c.jobs} jobs done`);
          break;
        }
        if (now() - lastPrint >= PROGRESS_S * 1000) {
          const assigns = sims.reduce((n, s) => n + s.counts.assigns, 0);
          const verdicts = sims.reduce((n, s) => n + s.counts.verdicts, 0);
          const st = procStats(coordinator.pid);
          const backlog = await verdictBacklog(nc, namespace).catch(() => -1);
          row.verdictBacklogMax = Math.max(row.verdictBacklogMax, backlog);
          const cpuShare = st ? (st.cpuS - cpu0.cpuS) / ((now() - window.start) / 1000) : 0;
          say(`   ${((now() - window.start) / 1000).toFixed(0).padStart(4)} s: jobs ${String(ids.size).padStart(2)} submitted, ${String(done).padStart(2)} done; ${verdicts} verdicts (${verdictEvents} applied, backlog ${backlog}), ${assigns} assignments (${((assigns - lastAssigns) / ((now() - lastPrint) / 1000)).toFixed(0)}/s now); coordinator ${(cpuShare * 100).toFixed(0)}% of a core so far, RSS ${st?.rssMb.toFixed(0) ?? '?'} MB`);
          lastPrint = now();
          lastAssigns = assigns;
        }
      }
    } finally {
      clearInterval(rssTimer);
    }
    const ends = [...finished.values()];
    window.end = row.timedOut || ends.length === 0 ? now() : Math.max(...ends);
    hr.to = process.hrtime.bigint();
    const cpu1 = procStats(coordinator.pid)!;
    const other1 = otherCpu();
    otherCpuS = { nats: other1.nats - other0.nats, agents: other1.agents - other0.agents };
    row.wallS = (window.end - window.start) / 1000;
    row.coordinatorCpuS = cpu1.cpuS - cpu0.cpuS;
    row.coordinatorCpuShare = row.coordinatorCpuS / ((now() - window.start) / 1000);
    row.rssPeakMb = Math.max(rssPeak, cpu1.rssMb);
    row.rssHwmMb = cpu1.hwmMb;
    row.verdictEvents = verdictEvents;

    for (const [id, p] of ids) {
      const job = await cl.getJob(id);
      const found = job.result?.culprit?.hash ?? '';
      const done = FINAL_STATES.has(job.state);
      if (done) row.jobsDone++;
      if (job.state === JobState.JOB_STATE_SUCCEEDED && found === p.culprit) row.jobsRight++;
      else row.wrong.push({ jobId: id, state: JobState[job.state] ?? String(job.state), planted: p.culprit, found, reason: job.result?.reason ?? '' });
    }
    row.verdictBacklogAtEnd = await verdictBacklog(nc, namespace).catch(() => -1);
    row.jetstream = await jetstreamUse(nc, namespace);
    row.jetstreamBytesPerJob = row.jetstream.reduce((s, u) => s + u.bytes, 0) / c.jobs;
    const kv = row.jetstream.find((u) => u.stream.startsWith('KV_'));
    row.recordWritesPerJob = (kv?.written ?? 0) / c.jobs;
    row.recordBytesWrittenPerJob = kv && kv.messages > 0 ? (kv.written * (kv.bytes / kv.messages)) / c.jobs : 0;
    try {
      const varz = (await (await fetch(`${nats.monitor}/varz`)).json()) as { in_bytes?: number };
      row.natsInBytesPerJob = (varz.in_bytes ?? 0) / c.jobs;
    } catch {
      /* monitoring unavailable: left 0 */
    }
  } catch (err) {
    row.error = (err as Error).message;
    say(`   FAILED: ${row.error}`);
  } finally {
    // Agents first (they would reconnect to a coordinator going away), then the coordinator
    // (SIGTERM: under --cpu-prof it writes its profile as it exits), then NATS.
    records = (await Promise.all(sims.map((s) => s.finish().catch((err: unknown) => (say(`   ${(err as Error).message}`), undefined))))).filter((r): r is SimRecord => r !== undefined);
    client?.close();
    if (nc) await closeNats(nc, 2000);
    await coordinator?.stop(30_000);
    await nats?.stop(5000);
  }
  // With SCALE_KEEP, the agents' raw records stay next to the logs (for a look at single samples).
  if (KEEP && records.length > 0) await writeFile(join(dir, 'records.json'), JSON.stringify({ window, records })).catch(() => undefined);
  if (records.length > 0 && window.start > 0) {
    row.latency = slotMetrics(records, window);
    row.probes = row.latency.verdicts;
    row.assignments = row.latency.assignments;
    row.assignmentsPerS = row.wallS > 0 ? row.assignments / row.wallS : 0;
    row.cpuMsPerProbe = row.probes > 0 ? (row.coordinatorCpuS * 1000) / row.probes : 0;
    row.natsCpuMsPerProbe = row.probes > 0 ? (otherCpuS.nats * 1000) / row.probes : 0;
    row.agentsCpuMsPerProbe = row.probes > 0 ? (otherCpuS.agents * 1000) / row.probes : 0;
  }
  if (profileDir) {
    // One profile per thread (tsx's loader has one): the main thread's is the largest.
    const files = (await readdir(profileDir).catch(() => [] as string[])).filter((f) => f.endsWith('.cpuprofile'));
    const sized = await Promise.all(files.map(async (f) => ({ f, size: (await stat(join(profileDir!, f))).size })));
    const file = sized.sort((a, b) => b.size - a.size)[0]?.f;
    if (file) {
      const path = join(profileDir, file);
      const summary = summarizeProfile(path, { top: 25, fromUs: Number(hr.from / 1000n), toUs: Number(hr.to / 1000n), root: ROOT });
      row.profile = { file: path, summary };
      say(`   coordinator profile ${path} (over the run):\n${renderProfile(summary).replace(/^/gm, '     ')}`);
    } else say(`   no profile written in ${profileDir}`);
  }
  const l = row.latency;
  say(
    `   ${row.jobsRight}/${c.jobs} right in ${row.wallS.toFixed(1)} s; ${row.probes} probes, ${row.assignmentsPerS.toFixed(0)} assignments/s (${row.probes > 0 ? (row.assignments / row.probes).toFixed(1) : '-'} a verdict: the others were cancelled once a verdict made them useless); verdict->assignment p50 ${ms(l.busy.p50)} p99 ${ms(l.busy.p99)} (busy, ${l.busy.count} samples), all p99 ${ms(l.all.p99)}; coordinator ${(row.coordinatorCpuShare * 100).toFixed(0)}% of a core, ${row.cpuMsPerProbe.toFixed(1)} ms CPU/probe, RSS peak ${row.rssPeakMb.toFixed(0)} MB`,
  );
  say(`   the rest of the farm per probe: nats-server ${row.natsCpuMsPerProbe.toFixed(1)} ms, simulated agents ${row.agentsCpuMsPerProbe.toFixed(1)} ms CPU (${cpus().length} cores here)`);
  for (const w of row.wrong.slice(0, 5)) say(`   WRONG ${w.jobId}: ${w.state}, planted ${w.planted.slice(0, 12)}, found ${w.found.slice(0, 12) || '-'}${w.reason ? ` (${w.reason})` : ''}`);
  if (row.verdictBacklogMax > 0 || row.verdictBacklogAtEnd > 0) say(`   verdict backlog (stored, not yet acknowledged by the coordinator): at most ${row.verdictBacklogMax} seen, ${row.verdictBacklogAtEnd} at the end`);
  if (l.handBacks || l.publishFailures || l.streamErrors) say(`   agents: ${l.handBacks} hand-backs, ${l.publishFailures} publish failures, ${l.streamErrors} Work streams lost`);
  return row;
}

function ms(x: number): string {
  return Number.isFinite(x) ? `${x < 10 ? x.toFixed(1) : x.toFixed(0)} ms` : '-';
}

function table(rows: Row[]): string {
  const head = ['config', 'agents', 'right', 'probes', 'wall s', 'assign/s', 'v->a p50', 'p99 busy', 'p99 all', 'busy n', 'coord CPU', 'CPU/probe', 'RSS peak', 'JS KB/job', 'rec writes/job'];
  const body = rows.map((r) => [
    r.config,
    String(r.agents),
    `${r.jobsRight}/${r.jobs}${r.timedOut ? ' (timeout)' : r.error ? ' (error)' : ''}`,
    String(r.probes),
    r.wallS.toFixed(1),
    r.assignmentsPerS.toFixed(0),
    ms(r.latency.busy.p50),
    ms(r.latency.busy.p99),
    ms(r.latency.all.p99),
    String(r.latency.busy.count),
    `${(r.coordinatorCpuShare * 100).toFixed(0)}%`,
    `${r.cpuMsPerProbe.toFixed(1)} ms`,
    `${r.rssPeakMb.toFixed(0)} MB`,
    (r.jetstreamBytesPerJob / 1024).toFixed(0),
    r.recordWritesPerJob.toFixed(0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

interface Target {
  target: string;
  result: 'PASS' | 'FAIL' | 'NOT RUN';
  detail: string;
  /** Why it failed, where the figures tell. */
  why?: string;
}

/**
 * The load a configuration offers against what can carry it: slots / mean probe time verdicts a
 * second, the rate one core of coordinator can take at its CPU per probe, and the cores the rest
 * of the farm (simulated agents, nats-server) needs at the offered rate on this machine. A p99
 * target cannot hold where the offer is above the coordinator's capacity (the latency is then
 * queueing), nor where the load generator needs the cores the coordinator would use.
 */
function loadVersusCapacity(r: Row): string {
  const offered = r.slots / ((MIN_MS + MAX_MS) / 2 / 1000);
  const capacity = r.cpuMsPerProbe > 0 ? 1000 / r.cpuMsPerProbe : Infinity;
  const farmCores = (offered * (r.natsCpuMsPerProbe + r.agentsCpuMsPerProbe)) / 1000;
  return `offered about ${offered.toFixed(0)} verdicts/s (${r.slots} slots, probes of ${MIN_MS}-${MAX_MS} ms); at ${r.cpuMsPerProbe.toFixed(1)} ms CPU a probe one core of coordinator takes ${capacity.toFixed(0)}/s; the simulated agents and nats-server need ${farmCores.toFixed(1)} of the ${cpus().length} cores at the offered rate`;
}

function targets(rows: Row[]): Target[] {
  const out: Target[] = [];
  const wrong = rows.filter((r) => r.jobsRight !== r.jobs);
  out.push({
    target: 'every job right (found its planted culprit)',
    result: rows.length === 0 ? 'NOT RUN' : wrong.length === 0 ? 'PASS' : 'FAIL',
    detail: rows.map((r) => `${r.config}: ${r.jobsRight}/${r.jobs}`).join(', '),
  });
  const big = rows.find((r) => r.slots === 500 && r.jobs === 50);
  out.push({
    target: `p99 verdict-to-assignment < ${TARGET_P99_MS} ms at 500 slots x 50 jobs`,
    result: !big || big.error ? 'NOT RUN' : big.latency.busy.count > 0 && big.latency.busy.p99 < TARGET_P99_MS ? 'PASS' : 'FAIL',
    detail: big ? `busy p99 ${ms(big.latency.busy.p99)} over ${big.latency.busy.count} samples (all samples: p99 ${ms(big.latency.all.p99)})` : 'add 500x50 to SCALE_CONFIGS',
    ...(big && big.probes > 0 ? { why: loadVersusCapacity(big) } : {}),
  });
  const worst = [...rows].filter((r) => r.probes > 0).sort((a, b) => b.cpuMsPerProbe - a.cpuMsPerProbe)[0];
  out.push({
    target: `coordinator CPU per probe < ${TARGET_CPU_PER_PROBE_MS} ms (1% of a one-minute probe)`,
    result: !worst ? 'NOT RUN' : rows.every((r) => r.probes === 0 || r.cpuMsPerProbe < TARGET_CPU_PER_PROBE_MS) ? 'PASS' : 'FAIL',
    detail: worst ? `worst ${worst.config}: ${worst.cpuMsPerProbe.toFixed(1)} ms` : '',
  });
  return out;
}

const work = KEEP ? await mkdtemp(join(tmpdir(), 'multisect-scale-')) : await tempDir('scale');
const rows: Row[] = [];
try {
  say(`scale benchmark: configurations ${CONFIGS.map((c) => c.label).join(', ')}; ${REPOS} repositories of ${COMMITS} commits; probes ${MIN_MS}-${MAX_MS} ms; ${cpus().length} CPUs; coordinator from ${ROOT}${KEEP ? `; work directory ${work} (kept)` : ''}`);
  say(`== generating ${REPOS} kernel-like histories (git fast-import)`);
  const repos = await makeRepos(work);
  for (const [i, c] of CONFIGS.entries()) rows.push(await runConfig(c, repos, work, i));
} finally {
  if (!KEEP) await rm(work, { recursive: true, force: true, maxRetries: 5 }).catch(() => undefined);
}

say('');
say(`verdict-to-next-assignment: from the agent starting to publish a verdict to JetStream to the next assignment on the slot it freed, measured in the agents; "busy": samples taken while no slot of the farm had been idle for over ${IDLE_MS} ms (see test/bench/scale/metrics.ts)`);
say(table(rows));
say('');
const results = targets(rows);
for (const t of results) say(`${t.result.padEnd(7)} ${t.target}: ${t.detail}${t.why && t.result === 'FAIL' ? `\n        ${t.why}` : ''}`);
if (JSON_OUT) {
  process.stdout.write(
    `${JSON.stringify({ settings: { commits: COMMITS, repos: REPOS, slotsPerAgent: SLOTS_PER_AGENT, agentProcesses: AGENT_PROCS, probeMs: [MIN_MS, MAX_MS], repro: REPRO ?? null, seed: SEED, idleMs: IDLE_MS, root: ROOT }, rows, targets: results }, null, 2)}\n`,
  );
}
if (rows.some((r) => r.jobsRight !== r.jobs || r.error)) process.exitCode = 1;
else if (STRICT && results.some((t) => t.result === 'FAIL')) process.exitCode = 1;
