/**
 * The executor around JobRun (coordinator/jobs.ts), with fakes for every port: job records in a
 * map, events in a list, the in-memory Repo, agents whose Work stream is an array. Each test is a
 * defect of the old JobManager: the persist chain without a catch, events awaited on the verdict
 * path, a slot freed during the release walk's range load handed an older tag, slots leaked by
 * probes cancelled before they were sent.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { AgentRegistry, type WorkStream } from '../../../coordinator/agent-registry.js';
import type { JobRecord } from '../../../coordinator/job-store.js';
import { JobManager, type JobEvents, type JobRecords } from '../../../coordinator/jobs.js';
import type { CandidateRange, Repo } from '../../../coordinator/repo.js';
import { BuildState, CoordinatorMessage, JobSpec, JobState, RegisterRequest, type JobEvent, type Probe, type Verdict } from '../../../shared/proto.js';
import { generateHistory, Oracle, type GeneratedHistory } from '../../helpers/job-histories.js';
import { buildKeyOf } from '../../../shared/build-key.js';

const settle = () => new Promise((r) => setTimeout(r, 5));

class Records implements JobRecords {
  readonly map = new Map<string, JobRecord>();
  puts = 0;
  failNext = 0;
  async put(record: JobRecord): Promise<void> {
    this.puts++;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('KV unavailable');
    }
    this.map.set(record.job.id, structuredClone(record));
  }
  async get(jobId: string) {
    return this.map.get(jobId);
  }
  async list() {
    return [...this.map.values()];
  }
}

class Events implements JobEvents {
  readonly list: Array<Partial<JobEvent>> = [];
  stall = false;
  publish(event: Partial<JobEvent> & { jobId: string; kind: string }): Promise<void> {
    this.list.push(event);
    return this.stall ? new Promise(() => undefined) : Promise.resolve();
  }
}

interface Agent {
  id: string;
  sent: CoordinatorMessage[];
}

function setup(h: GeneratedHistory, opts: { agents?: number; slots?: number; repo?: Repo } = {}) {
  const registry = new AgentRegistry();
  const agents: Agent[] = [];
  for (let i = 0; i < (opts.agents ?? 1); i++) {
    const agent: Agent = { id: `a${i + 1}`, sent: [] };
    const entry = registry.register(RegisterRequest.fromPartial({ agentId: agent.id, slots: opts.slots ?? 1, recipeKinds: [] }), Date.now());
    entry.stream = { cancelled: false, writableEnded: false, write: (m: CoordinatorMessage) => agent.sent.push(m) } as unknown as WorkStream;
    agents.push(agent);
  }
  const records = new Records();
  const events = new Events();
  const repo = opts.repo ?? h.repo;
  const jobs = new JobManager({
    jobStore: records,
    events,
    facts: { verdicts: async () => [], crashReport: async () => '' },
    repos: { open: async () => repo },
    registry,
    leaseMs: 60_000,
    logger: pino({ level: 'silent' }),
  });
  const assigned = (a: Agent = agents[0]!): Probe[] => a.sent.flatMap((m) => (m.msg?.$case === 'assign' && m.msg.value.probe ? [m.msg.value.probe] : []));
  return { registry, agents, records, events, jobs, assigned };
}

function spec(goods: string[]): JobSpec {
  return JobSpec.fromPartial({ repo: '/tmp/history', bad: 'main', goods, recipe: { kind: 'script', test: { argv: ['./t.sh'], env: {}, timeoutSeconds: 0 }, params: {} } });
}

describe('JobManager: the executor around JobRun', () => {
  it('a failed record write fails its caller only: later writes go through, nothing rejects unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      const h = generateHistory({ shape: 'linear', commits: 30 });
      const oracle = new Oracle(h, { planted: 12 });
      const { jobs, records, assigned } = setup(h);
      const job = await jobs.submit(spec([h.root]));
      await settle();
      const [first] = assigned();
      assert.ok(first, 'the bad commit is assigned');
      records.failNext = 1;
      const v: Verdict = oracle.verdict(first, 'a1', Date.now());
      await assert.rejects(jobs.onVerdict(v), /KV unavailable/);
      // The verdict is redelivered (not acked): it is seen already, and the next write works.
      await jobs.onVerdict(v);
      await settle();
      const before = records.puts;
      await jobs.cancel(job.id, 'enough');
      assert.ok(records.puts > before);
      assert.equal(records.map.get(job.id)?.job.state, JobState.JOB_STATE_CANCELLED);
      await jobs.close();
      await jobs.close();
      await settle();
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('build affinity: each job takes the slot that built with its config, and the other job\'s warm slot last', async () => {
    const h = generateHistory({ shape: 'linear', commits: 50 });
    const { jobs, registry, agents, assigned } = setup(h, { agents: 3 });
    // One probe at a time each, so the slot each job takes first is the one that tells.
    const withConfig = (c: string) =>
      JobSpec.fromPartial({ ...spec([h.root]), policy: { parallelismCap: 1 }, recipe: { kind: 'script', test: { argv: ['./t.sh'], env: {}, timeoutSeconds: 0 }, params: { config: c } } });
    const [specA, specB] = [withConfig('A'), withConfig('B')];
    // a1 built nothing yet; a2 last built with B's config, a3 with A's.
    registry.setBuilds(registry.get('a2')!, BuildState.fromPartial({ slots: [{ slot: 0, buildKey: buildKeyOf(specB.repo, specB.recipe), commit: h.hashes[10] }] }));
    registry.setBuilds(registry.get('a3')!, BuildState.fromPartial({ slots: [{ slot: 0, buildKey: buildKeyOf(specA.repo, specA.recipe), commit: h.hashes[20] }] }));
    const a = await jobs.submit(specA);
    await settle();
    assert.deepEqual(agents.map((x) => assigned(x).map((p) => p.jobId)), [[], [], [a.id]], 'A on its warm slot (a3)');
    const b = await jobs.submit(specB);
    await settle();
    assert.deepEqual(assigned(agents[1]).map((p) => p.jobId), [b.id], 'B on its warm slot (a2), not the empty one');
    // What the operator sees of it (multisect agents): each slot's last builds, the kept kernels.
    registry.setBuilds(registry.get('a3')!, BuildState.fromPartial({ slots: [{ slot: 0, buildKey: 'k', commit: h.hashes[20] }], kernels: [{ buildKey: 'k', commit: h.hashes[20] }, { buildKey: 'k', commit: h.hashes[21] }, { buildKey: 'j', commit: h.hashes[20] }] }));
    const info = registry.toInfo(registry.get('a3')!);
    assert.equal(info.keptKernels, 3);
    assert.deepEqual(info.slotStatus.map((s) => s.lastBuilt), [[h.hashes[20]]]);
    assert.deepEqual(registry.toInfo(registry.get('a1')!).slotStatus.map((s) => s.lastBuilt), [[]]);
    await jobs.close();
  });

  it('a verdict is persisted without waiting for its event to be published', async () => {
    const h = generateHistory({ shape: 'linear', commits: 30 });
    const oracle = new Oracle(h, { planted: 12 });
    const { jobs, records, events, assigned } = setup(h);
    const job = await jobs.submit(spec([h.root]));
    await settle();
    events.stall = true; // NATS is down for events: publishing never completes
    const [first] = assigned();
    const done = jobs.onVerdict(oracle.verdict(first!, 'a1', Date.now()));
    const outcome = await Promise.race([done.then(() => 'persisted'), new Promise((r) => setTimeout(() => r('waiting for the event'), 500))]);
    assert.equal(outcome, 'persisted');
    assert.equal(records.map.get(job.id)?.job.probesDone, 1);
  });

  it('a slot freed while the range below a clean release loads gets no older tag', async () => {
    const h = generateHistory({ shape: 'linear', commits: 60, tagEvery: 10 });
    const oracle = new Oracle(h, { planted: 55 }); // above the newest release (v1.5 at 50): it is clean
    let release: (() => void) | undefined;
    const slowRepo: Repo = {
      resolve: (r, f) => h.repo.resolve(r, f),
      releaseTags: (b, o) => h.repo.releaseTags(b, o),
      culpritFacts: (c, v) => h.repo.culpritFacts(c, v),
      findByTitle: (t, f) => h.repo.findByTitle(t, f),
      mergeBase: (a, b) => h.repo.mergeBase(a, b),
      loadRange: (b, g, o) => new Promise<CandidateRange>((resolve, reject) => (release = () => void h.repo.loadRange(b, g, o).then(resolve, reject))),
    };
    const { jobs, assigned } = setup(h, { slots: 1, repo: slowRepo });
    await jobs.submit(spec([]));
    await settle();
    const bad = assigned()[0]!;
    assert.equal(bad.commit, h.tip);
    await jobs.onVerdict(oracle.verdict(bad, 'a1', Date.now()));
    await settle();
    const newest = assigned()[1]!;
    assert.equal(newest.commit, h.tags[h.tags.length - 1]!.commit, 'the newest release is tested next');
    await jobs.onVerdict(oracle.verdict(newest, 'a1', Date.now())); // clean: the range loads now
    jobs.onProbeDone(newest.id);
    jobs.schedule();
    await settle();
    const tags = new Set(h.tags.map((t) => t.commit));
    assert.deepEqual(assigned().slice(2).filter((p) => tags.has(p.commit)), [], 'no older tag was handed out');
    assert.equal(assigned().length, 2, 'nothing is assigned while the range loads');
    release?.();
    await settle();
    await settle();
    assert.ok(assigned().length > 2, 'bisection starts once the range is loaded');
    assert.ok(assigned()[2]!.id.includes('-b-'));
  });

  it('many jobs started and cancelled at once leave every slot free', async () => {
    const h = generateHistory({ shape: 'linear', commits: 30 });
    const { jobs, registry, agents, assigned } = setup(h, { agents: 2, slots: 2 });
    const started = await Promise.all(Array.from({ length: 6 }, () => jobs.submit(spec([h.root]))));
    // Cancel at once: some assignments are still waiting for their record to be written.
    await Promise.all(started.map((j) => jobs.cancel(j.id, 'changed my mind')));
    await settle();
    // An agent told of a probe answers the cancel with Done, which frees the slot; a slot held by
    // a probe its agent never heard of would be held for ever.
    for (const [i, agent] of registry.all().entries()) {
      for (const slot of agent.slots) {
        if (!slot.probe) continue;
        assert.ok(assigned(agents[i]).some((p) => p.id === slot.probe?.id), `slot held by ${slot.probe.id}, never sent to ${agent.info.agentId}`);
        jobs.onProbeDone(slot.probe.id);
      }
    }
    await settle();
    for (const agent of registry.all()) assert.ok(agent.slots.every((s) => !s.probe), 'no slot held by a probe no job has');
    await jobs.close();
  });
});
