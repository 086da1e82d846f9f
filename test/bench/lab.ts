/**
 * Benchmark of a real kernel bisection on the local farm, with 1 and with 2 agents (one slot
 * each), on the same history. BENCH_TREE=linux (the default): Debian's linux-source-6.1 with a
 * generated history, built by the kernel recipe itself (.config, olddefconfig, bzImage in each
 * slot's O= directory, ccache) and booted in qemu with the C reproducer. BENCH_TREE=module: the
 * fast lab (an out-of-tree module on Debian's prebuilt kernel).
 *
 * For each farm it prints: the first build of each agent (the first from scratch; with ccache the
 * others are seeded from it), the mean incremental build, the mean build per probe (all of them,
 * kept kernels counted as what they cost), the probes that booted a kept kernel, the mean
 * boot+test of one run, the probes, the wall time and whether the culprit is right; then the
 * wall-time ratio 1 / 2 agents, and 2 agents with build affinity and the kernel cache against
 * without (`2-plain`: the coordinator's --no-build-affinity, the agents' --kernel-cache 0), same
 * history and culprit. Each farm starts with an empty ccache of its own, so each pays one build
 * from scratch.
 *
 *   npx tsx test/bench/lab.ts      (BENCH_TREE=linux, BENCH_KIND=null-deref, BENCH_COMMITS=200
 *                                   (module: 200), BENCH_RUNS=1, BENCH_SEED=31,
 *                                   BENCH_FARMS=1,2,2-plain)
 *
 * Runs the lab set-up first (installs and downloads what is missing); prints a skip line and
 * exits 0 when apt cannot download (set-up exit 2). Removes everything it made, pass or fail.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildSpec, followJob, submitJob } from '../../cli/actions/jobs.js';
import { startLocalFarm } from '../../cli/actions/farm.js';
import { compileJobSpec } from '../../shared/job-spec.js';
import { JobState, type JobEvent, type JobSpec } from '../../shared/proto.js';
import { isBugKind } from '../../deploy/lab/history/bugs.js';
import { makeHistory } from '../../deploy/lab/history/generate.js';
import { LINUX_BUG_KINDS, makeLinuxHistory, type LinuxBugKind } from '../../deploy/lab/history/linux.js';
import { LAB_DIR, labRecipe } from '../../deploy/lab/job.js';
import { hostAccel } from '../../agent/kernel/accel.js';
import { freePort } from '../helpers/farm.js';

const pexec = promisify(execFile);
const TREE = process.env.BENCH_TREE ?? 'linux';
const KIND = process.env.BENCH_KIND ?? 'null-deref';
const COMMITS = Number(process.env.BENCH_COMMITS ?? 200);
const RUNS = Number(process.env.BENCH_RUNS ?? 1);
const SEED = Number(process.env.BENCH_SEED ?? 31);
/** Farms: a number of agents, with `-plain` for one without build affinity and kept kernels. */
const FARMS = (process.env.BENCH_FARMS ?? process.env.BENCH_AGENTS ?? '1,2,2-plain').split(',').map((f) => {
  const m = /^(\d+)(-plain)?$/.exec(f.trim());
  if (!m) throw new Error(`BENCH_FARMS: like 1,2,2-plain, got ${JSON.stringify(f)}`);
  return { name: f.trim(), agents: Number(m[1]), plain: m[2] !== undefined };
});
if (TREE !== 'linux' && TREE !== 'module') throw new Error(`BENCH_TREE: linux or module, got ${TREE}`);
if (TREE === 'module' && !isBugKind(KIND)) throw new Error(`BENCH_KIND: unknown bug kind ${KIND}`);
if (TREE === 'linux' && !(LINUX_BUG_KINDS as readonly string[]).includes(KIND)) throw new Error(`BENCH_KIND: the Linux lab plants ${LINUX_BUG_KINDS.join(', ')}`);

interface Row {
  name: string;
  agents: number;
  plain: boolean;
  /** Mean build of every probe (a kept kernel costs its copy), and how many booted a kept kernel. */
  buildPerProbeS: number;
  kept: number;
  wallS: number;
  firstBuildsS: number[];
  incrementalS: number;
  bootTestS: number;
  probes: number;
  right: boolean;
}

async function setupJson<T>(script: string): Promise<T> {
  try {
    const { stdout } = await pexec('bash', [join(LAB_DIR, script), '--json'], { maxBuffer: 64 * 1024 * 1024 });
    return JSON.parse(stdout.trim().split('\n').pop() as string) as T;
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    if (e.code === 2) {
      process.stdout.write(`lab benchmark: skipped: the lab cannot be set up (apt cannot download)\n${e.stderr ?? ''}`);
      process.exit(0);
    }
    throw err;
  }
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const work = await mkdtemp(join(tmpdir(), 'multisect-bench-lab-'));
const rows: Row[] = [];
try {
  let spec: JobSpec;
  let culprit: string;
  let proofKernel: string;
  let what: string;
  if (TREE === 'linux') {
    const setup = await setupJson<{ version: string; source: string; config: string; busybox: string; kernel: string }>('setup-linux');
    const h = await makeLinuxHistory({ source: setup.source, dir: join(work, 'linux'), kind: KIND as LinuxBugKind, commits: COMMITS, seed: SEED });
    spec = buildSpec({
      repo: h.repo, bad: h.badHash, goods: [h.goodHash], recipe: 'kernel', runs: RUNS,
      kernelConfig: setup.config, reproducer: join(LAB_DIR, 'linux', 'repro.c'), cmdline: 'console=ttyS0 earlyprintk=serial oops=panic panic=-1 nokaslr',
      sysctls: ['kernel.panic_on_warn=1'], params: { busybox: setup.busybox, memory: '256', boot_timeout: '120', no_output_timeout: '60', total_timeout: '240' },
    });
    culprit = h.culprit;
    proofKernel = setup.kernel;
    what = `Linux ${setup.version}, ${h.commits} commits`;
  } else {
    const setup = await setupJson<{ release: string; kernel: string; cache: string }>('setup');
    if (!isBugKind(KIND)) throw new Error('unreachable');
    const h = await makeHistory({ dir: join(work, 'tree'), kind: KIND, commits: COMMITS, seed: SEED });
    const base = buildSpec({ repo: h.repo, bad: h.badHash, goods: [h.goodHash], recipe: 'kernel', runs: RUNS });
    spec = compileJobSpec({ ...base, recipe: labRecipe({ kernel: setup.kernel, cache: setup.cache, memoryMb: 256 }) });
    culprit = h.culprit;
    proofKernel = setup.kernel;
    what = `module lab on ${setup.release}, ${h.commits} commits`;
  }
  process.stdout.write(`lab benchmark: ${what}, ${KIND}, ${RUNS} run(s) per probe, qemu/${(await hostAccel()).accel}, ${cpus().length} CPUs\n`);

  for (const f of FARMS) {
    const k = f.agents;
    // An empty ccache per farm: each pays one build from scratch, and seeds its other slots.
    process.env.CCACHE_DIR = join(work, `ccache-${f.name}`);
    const listen = `127.0.0.1:${await freePort()}`;
    const plain = f.plain ? { buildAffinity: false, kernelCacheMb: 0 } : {};
    const farm = await startLocalFarm({ agents: k, slots: 1, stateDir: join(work, `state-${f.name}`), listen, accelProbeKernel: proofKernel, ...plain });
    try {
      const start = Date.now();
      const job = await submitJob(listen, spec);
      const verdicts: JobEvent[] = [];
      const final = await followJob(listen, job.id, (ev) => {
        if (ev.kind === 'verdict') verdicts.push(ev);
      }, { giveUpMs: 900_000 });
      const firstOf = new Map<string, JobEvent>();
      for (const v of verdicts) if (!firstOf.has(v.agentId)) firstOf.set(v.agentId, v);
      const firsts = new Set(firstOf.values());
      const later = verdicts.filter((v) => !firsts.has(v) && !v.buildCached);
      const runs = Math.max(1, RUNS);
      rows.push({
        name: f.name,
        agents: k,
        plain: f.plain,
        buildPerProbeS: mean(verdicts.map((v) => v.buildMs / 1000)),
        kept: verdicts.filter((v) => v.buildCached).length,
        wallS: (Date.now() - start) / 1000,
        firstBuildsS: [...firsts].map((v) => v.buildMs / 1000).sort((a, b) => b - a),
        incrementalS: mean(later.map((v) => v.buildMs / 1000)),
        bootTestS: mean(verdicts.filter((v) => v.testMs > 0).map((v) => v.testMs / 1000 / runs)),
        probes: final.probesDone,
        right: final.state === JobState.JOB_STATE_SUCCEEDED && final.result?.culprit?.hash === culprit,
      });
      process.stdout.write(`  ${f.name} (${k} agent(s)${f.plain ? ', no affinity, no kept kernels' : ''}): done in ${rows[rows.length - 1]!.wallS.toFixed(1)} s\n`);
    } finally {
      await farm.stop();
    }
  }
} finally {
  delete process.env.CCACHE_DIR;
  await rm(work, { recursive: true, force: true });
}

process.stdout.write('farm      first build(s)     incremental(s)  build/probe(s)  kept  boot+test(s)  probes  wall(s)  culprit\n');
for (const r of rows) {
  const firsts = r.firstBuildsS.map((s) => s.toFixed(0)).join(', ');
  process.stdout.write(
    `${r.name.padEnd(10)}${firsts.padEnd(19)}${r.incrementalS.toFixed(1).padStart(14)}${r.buildPerProbeS.toFixed(1).padStart(16)}${String(r.kept).padStart(6)}` +
      `${r.bootTestS.toFixed(1).padStart(14)}${String(r.probes).padStart(8)}${r.wallS.toFixed(1).padStart(9)}  ${r.right ? 'right' : 'WRONG'}\n`,
  );
}
const one = rows.find((r) => r.agents === 1 && !r.plain);
const two = rows.find((r) => r.agents === 2 && !r.plain);
const twoPlain = rows.find((r) => r.agents === 2 && r.plain);
if (one && two) {
  process.stdout.write(`wall-time ratio 1 agent / 2 agents: ${(one.wallS / two.wallS).toFixed(2)}\n`);
  // Both farms run on this one host: kernel builds are CPU-bound, so two agents here split the
  // same CPUs (each builds with -j<all CPUs>). On a farm the agents are separate machines.
  process.stdout.write(`(all agents share this host's ${cpus().length} CPUs: the ratio is bounded by CPUs, not by agents)\n`);
}
if (two && twoPlain) {
  process.stdout.write(
    `2 agents, affinity + kept kernels vs without: build per probe ${two.buildPerProbeS.toFixed(1)} s vs ${twoPlain.buildPerProbeS.toFixed(1)} s (ratio ${(twoPlain.buildPerProbeS / Math.max(0.001, two.buildPerProbeS)).toFixed(2)}), ` +
      `wall ${two.wallS.toFixed(1)} s vs ${twoPlain.wallS.toFixed(1)} s (ratio ${(twoPlain.wallS / two.wallS).toFixed(2)})\n`,
  );
}
if (rows.some((r) => !r.right)) process.exitCode = 1;
