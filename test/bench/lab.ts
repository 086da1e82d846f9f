/**
 * Benchmark of a real kernel bisection: one lab history (Debian's kernel under qemu, an
 * out-of-tree module with a planted bug) bisected on the local farm with 1 and with 2 agents (one
 * slot each). Prints, for each: wall time, build and test time as the job's result counts them
 * (buildMs, testMs: the sums over every probe), probes, and whether the culprit is right; then the
 * wall-time ratio 1 agent / 2 agents.
 *
 *   npx tsx test/bench/lab.ts      (BENCH_KIND=null-deref, BENCH_COMMITS=200, BENCH_RUNS=1,
 *                                   BENCH_SEED=31, BENCH_AGENTS=1,2)
 *
 * Runs deploy/lab/setup first (installs and downloads what is missing); prints a skip line and
 * exits 0 when apt cannot download (setup exit 2).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildSpec, followJob, submitJob } from '../../cli/actions/jobs.js';
import { startLocalFarm } from '../../cli/actions/farm.js';
import { compileJobSpec } from '../../shared/job-spec.js';
import { JobState } from '../../shared/proto.js';
import { isBugKind } from '../../deploy/lab/history/bugs.js';
import { makeHistory } from '../../deploy/lab/history/generate.js';
import { LAB_DIR, labRecipe } from '../../deploy/lab/job.js';
import { hostAccel } from '../../agent/kernel/accel.js';
import { freePort } from '../helpers/farm.js';

const pexec = promisify(execFile);
const KIND = process.env.BENCH_KIND ?? 'null-deref';
const COMMITS = Number(process.env.BENCH_COMMITS ?? 200);
const RUNS = Number(process.env.BENCH_RUNS ?? 1);
const SEED = Number(process.env.BENCH_SEED ?? 31);
const AGENTS = (process.env.BENCH_AGENTS ?? '1,2').split(',').map(Number);
if (!isBugKind(KIND)) throw new Error(`BENCH_KIND: unknown bug kind ${KIND}`);

interface Row {
  agents: number;
  wallS: number;
  buildS: number;
  testS: number;
  probes: number;
  revisions: number;
  right: boolean;
}

let setup: { release: string; kernel: string; cache: string };
try {
  const { stdout } = await pexec('bash', [join(LAB_DIR, 'setup'), '--json'], { maxBuffer: 64 * 1024 * 1024 });
  setup = JSON.parse(stdout.trim().split('\n').pop() as string) as typeof setup;
} catch (err) {
  const e = err as { code?: number; stderr?: string };
  if (e.code === 2) {
    process.stdout.write(`lab benchmark: skipped: the kernel lab cannot be set up (apt cannot download)\n${e.stderr ?? ''}`);
    process.exit(0);
  }
  throw err;
}

const work = await mkdtemp(join(tmpdir(), 'multisect-bench-lab-'));
const rows: Row[] = [];
try {
  const history = await makeHistory({ dir: join(work, 'tree'), kind: KIND, commits: COMMITS, seed: SEED });
  process.stdout.write(
    `lab benchmark: ${KIND}, ${history.commits} commits, ${RUNS} run(s) per probe, kernel ${setup.release} under qemu/${(await hostAccel()).accel}, ${cpus().length} CPUs\n`,
  );
  for (const k of AGENTS) {
    const listen = `127.0.0.1:${await freePort()}`;
    const farm = await startLocalFarm({ agents: k, slots: 1, stateDir: join(work, `state-${k}`), listen, accelProbeKernel: setup.kernel });
    try {
      const start = Date.now();
      const base = buildSpec({ repo: history.repo, bad: history.badHash, goods: [history.goodHash], recipe: 'kernel', runs: RUNS });
      const spec = compileJobSpec({ ...base, recipe: labRecipe({ kernel: setup.kernel, cache: setup.cache, memoryMb: 256 }) });
      const job = await submitJob(listen, spec);
      const final = await followJob(listen, job.id, () => undefined, { giveUpMs: 600_000 });
      const r = final.result;
      rows.push({
        agents: k,
        wallS: (Date.now() - start) / 1000,
        buildS: (r?.buildMs ?? 0) / 1000,
        testS: (r?.testMs ?? 0) / 1000,
        probes: final.probesDone,
        revisions: r?.revisionsTested ?? 0,
        right: final.state === JobState.JOB_STATE_SUCCEEDED && r?.culprit?.hash === history.culprit,
      });
      process.stdout.write(`  ${k} agent(s): done in ${rows[rows.length - 1]!.wallS.toFixed(1)} s\n`);
    } finally {
      await farm.stop();
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

process.stdout.write('agents  wall(s)  build(s)  test(s)  probes  revisions  culprit\n');
for (const r of rows) {
  process.stdout.write(
    `${String(r.agents).padEnd(6)}${r.wallS.toFixed(1).padStart(9)}${r.buildS.toFixed(1).padStart(10)}${r.testS.toFixed(1).padStart(9)}${String(r.probes).padStart(8)}${String(r.revisions).padStart(11)}  ${r.right ? 'right' : 'WRONG'}\n`,
  );
}
const one = rows.find((r) => r.agents === 1);
const two = rows.find((r) => r.agents === 2);
if (one && two) process.stdout.write(`wall-time ratio 1 agent / 2 agents: ${(one.wallS / two.wallS).toFixed(2)}\n`);
if (rows.some((r) => !r.right)) process.exitCode = 1;
