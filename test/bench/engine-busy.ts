/**
 * The engine on a busy farm (issue 18): what one verdict costs the coordinator's engine when a
 * job has k probes in flight and its slots free up one at a time, the steady state of
 * test/bench/scale.ts at 500 slots x 50 jobs (10 slots a job). Per step, as job-run.ts does it:
 * take the oldest probe's verdict (clean, from a planted culprit), cancel what became useless,
 * read the status and the decision, and refill the free slots one propose() at a time, with a
 * build preference (the slot's last build is a random commit of the range).
 *
 * Several jobs run interleaved (their arrays compete for the cache as in the coordinator), on
 * generated 10,000-commit merge-heavy histories. It prints ms per verdict (and its parts), and
 * a fingerprint of every job's choices: an optimization that changes no answer leaves it as is.
 *
 *   npx tsx test/bench/engine-busy.ts [--json]
 *
 * Environment: BUSY_COMMITS=10000, BUSY_JOBS=10, BUSY_INFLIGHT=10, BUSY_SEED=1;
 * BUSY_BASE=DIR also runs the engine of the source tree DIR (a git worktree of an earlier
 * commit), in the same process and on the same jobs, and prints the two side by side.
 */
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Bisection as BisectionClass } from '../../coordinator/engine/bisection.js';
import { mergeHeavyDag } from '../../coordinator/engine/synthetic.js';
import type { CandidateDag } from '../../coordinator/engine/types.js';
import { hash32 } from '../../coordinator/engine/prng.js';

const num = (name: string, dflt: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: a whole number >= 1, got ${JSON.stringify(v)}`);
  return n;
};
const COMMITS = num('BUSY_COMMITS', 10_000);
const JOBS = num('BUSY_JOBS', 10);
const K = num('BUSY_INFLIGHT', 10);
const SEED = num('BUSY_SEED', 1);
const BASE = process.env.BUSY_BASE;
const JSON_OUT = process.argv.includes('--json');

type Engine = { create(dag: CandidateDag, options?: object): BisectionClass };

interface Figures {
  verdicts: number;
  msPerVerdict: number;
  parts: Record<'apply' | 'useless' | 'status' | 'decide' | 'propose', number>;
  probes: number;
  right: number;
  fingerprint: string;
}

/** Ancestors-or-self of the culprit crash. */
function crashSet(dag: CandidateDag, culprit: number): Uint8Array {
  const n = dag.hashes.length;
  const has = new Uint8Array(n);
  has[culprit] = 1;
  for (let v = culprit + 1; v < n; v++) if (dag.parents[v]!.some((p) => has[p])) has[v] = 1;
  return has;
}

function run(Bisection: Engine, dags: CandidateDag[]): Figures {
  const parts = { apply: 0, useless: 0, status: 0, decide: 0, propose: 0 };
  const jobs = dags.map((dag, j) => {
    const n = dag.hashes.length;
    // An ordinary commit of the range, away from its ends.
    let culprit = Math.floor(n * 0.1) + (hash32(SEED + j, 7) % Math.floor(n * 0.8));
    while (dag.parentCount[culprit]! > 1) culprit++;
    return {
      dag,
      engine: Bisection.create(dag, { seed: SEED + j }),
      crashes: crashSet(dag, culprit),
      culprit: dag.hashes[culprit]!,
      at: new Map(dag.hashes.map((h, i) => [h, i])),
      inFlight: [] as { id: string; commit: string }[],
      next: 0,
      done: undefined as string | undefined,
      fp: 0x811c9dc5,
    };
  });
  let verdicts = 0;
  let probes = 0;
  const t0 = performance.now();
  const time = (part: keyof typeof parts, f: () => void) => {
    const s = performance.now();
    f();
    parts[part] += performance.now() - s;
  };
  const refill = (job: (typeof jobs)[number]) => {
    while (job.inFlight.length < K) {
      const commits = job.inFlight.map((p) => p.commit);
      // The free slot last built a commit of the range: prefer what it builds fastest.
      const last = hash32(SEED, job.next * 31 + 5) % job.dag.hashes.length;
      let c: string | undefined;
      time('propose', () => {
        c = job.engine.propose(commits, { cost: (h) => Math.abs(job.at.get(h)! - last), tolerance: 0.02 });
      });
      if (c === undefined) break;
      job.inFlight.push({ id: `p${job.next++}`, commit: c });
      probes++;
      job.fp = Math.imul(job.fp ^ job.at.get(c)!, 0x01000193) >>> 0;
    }
  };
  for (const job of jobs) refill(job);
  for (let live = jobs.length; live > 0; ) {
    live = 0;
    for (const job of jobs) {
      if (job.done !== undefined) continue;
      const p = job.inFlight.shift();
      if (p === undefined) {
        job.done = 'stuck';
        continue;
      }
      live++;
      const crashed = job.crashes[job.at.get(p.commit)!] === 1;
      const runs = job.engine.options.runsPerProbe;
      time('apply', () => void job.engine.apply({ probeId: p.id, commit: p.commit, runs, crashes: crashed ? runs : 0 }));
      verdicts++;
      let useless: string[] = [];
      time('useless', () => void (useless = job.engine.useless(job.inFlight.map((q) => q.commit))));
      if (useless.length > 0) job.inFlight = job.inFlight.filter((q) => !useless.includes(q.commit));
      time('status', () => void job.engine.status());
      let d: ReturnType<BisectionClass['decide']> | undefined;
      time('decide', () => void (d = job.engine.decide()));
      if (d!.kind !== 'continue') {
        job.done = d!.kind === 'culprit' ? d!.commit : d!.kind;
        continue;
      }
      refill(job);
    }
  }
  const wall = performance.now() - t0;
  const per = (x: number) => x / verdicts;
  return {
    verdicts,
    msPerVerdict: per(wall),
    parts: { apply: per(parts.apply), useless: per(parts.useless), status: per(parts.status), decide: per(parts.decide), propose: per(parts.propose) },
    probes,
    right: jobs.filter((j) => j.done === j.culprit).length,
    fingerprint: jobs.map((j) => j.fp.toString(16).padStart(8, '0')).join('').slice(0, 16) + `…${jobs.length}`,
  };
}

async function load(root: string): Promise<Engine> {
  // Compiled (to profile by line) this file is .js, and so is the engine next to it.
  const ext = import.meta.url.endsWith('.js') ? 'js' : 'ts';
  const mod = (await import(pathToFileURL(resolve(root, `coordinator/engine/bisection.${ext}`)).href)) as { Bisection: Engine };
  return mod.Bisection;
}

const dags = Array.from({ length: JOBS }, (_, j) => mergeHeavyDag({ commits: COMMITS, seed: SEED * 1000 + j }));
const engines: { label: string; engine: Engine }[] = [];
if (BASE) engines.push({ label: 'base', engine: await load(BASE) });
engines.push({ label: 'this', engine: await load(resolve(import.meta.dirname, '../..')) });
// A warm-up pass per engine (JIT), then the measured one.
const results = engines.map(({ label, engine }) => {
  run(engine, dags.slice(0, 2));
  return { label, ...run(engine, dags) };
});
if (JSON_OUT) {
  console.log(JSON.stringify({ commits: COMMITS, jobs: JOBS, inFlight: K, results }, null, 2));
} else {
  console.log(`engine on a busy farm: ${JOBS} jobs x ${COMMITS} commits (merge-heavy), ${K} probes in flight a job, verdicts one at a time`);
  console.log('tree   verdicts  ms/verdict    apply  useless   status   decide  propose   probes  right  choices');
  for (const r of results) {
    const f = (x: number) => x.toFixed(3).padStart(8);
    console.log(
      `${r.label.padEnd(6)} ${String(r.verdicts).padStart(8)}  ${f(r.msPerVerdict)}   ${f(r.parts.apply)} ${f(r.parts.useless)} ${f(r.parts.status)} ${f(r.parts.decide)} ${f(r.parts.propose)}  ${String(r.probes).padStart(7)}  ${r.right}/${JOBS}  ${r.fingerprint}`,
    );
  }
  if (results.length === 2) {
    const [b, t] = results as [Figures & { label: string }, Figures & { label: string }];
    console.log(`ratio  base/this ms per verdict: ${(b.msPerVerdict / t.msPerVerdict).toFixed(2)}x; same choices: ${b.fingerprint === t.fingerprint ? 'yes' : 'no'}`);
  }
}
