/**
 * Benchmark of the mesh: one bisection of a 2,000-commit history with a test that sleeps T
 * seconds and clean verdicts, on the local farm with K = 1, 2, 4, 8 agent slots. Prints wall time,
 * its ratio to K = 1, the rounds (longest chain of probes each started after the one before it
 * ended), and coordinator overhead = (wall - rounds x T) / wall.
 *
 *   npx tsx test/bench/mesh.ts   (BENCH_T=seconds, BENCH_COMMITS=n, BENCH_K=1,2,4,8, BENCH_VERIFY=1)
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSpec, followJob, submitJob } from '../../cli/actions/jobs.js';
import { startLocalFarm } from '../../cli/actions/farm.js';
import { makeHistory } from '../../deploy/demo/history.js';
import type { JobEvent } from '../../shared/proto.js';
import { freePort } from '../helpers/farm.js';

const T = Number(process.env.BENCH_T ?? 1);
const COMMITS = Number(process.env.BENCH_COMMITS ?? 2000);
const KS = (process.env.BENCH_K ?? '1,2,4,8').split(',').map(Number);
// The bisection alone by default (a deterministic test, no verification round): BENCH_VERIFY=1
// adds the verification of the culprit and its parents that jobs do by default.
const VERIFY = process.env.BENCH_VERIFY === '1';

interface Row {
  k: number;
  wallS: number;
  probes: number;
  rounds: number;
  bound: number;
  overhead: number;
  right: boolean;
}

/** Longest chain of probes where each started after the previous one's verdict arrived. */
function rounds(events: JobEvent[]): number {
  const started = new Map<string, number>();
  const ended: Array<{ at: number; depth: number }> = [];
  const depth = new Map<string, number>();
  for (const ev of events) {
    const t = Number(ev.timeMs);
    if (ev.kind === 'probe-started') {
      const before = ended.filter((e) => e.at <= t).reduce((m, e) => Math.max(m, e.depth), 0);
      started.set(ev.probeId, t);
      depth.set(ev.probeId, before + 1);
    } else if (ev.kind === 'verdict' && depth.has(ev.probeId)) {
      ended.push({ at: t, depth: depth.get(ev.probeId)! });
    }
  }
  return ended.reduce((m, e) => Math.max(m, e.depth), 0);
}

const work = await mkdtemp(join(tmpdir(), 'multisect-bench-'));
const rows: Row[] = [];
try {
  const history = await makeHistory({ commits: COMMITS, seed: 7, dir: await mkdtemp(join(work, 'repo-')) });
  const test = join(work, 'test.sh');
  await writeFile(test, `#!/bin/sh\nsleep ${T}\n[ -e BUG ] && exit 1\nexit 0\n`);
  await chmod(test, 0o755);
  process.stdout.write(`mesh benchmark: ${history.commits} commits (${history.merges} merges), test sleeps ${T}s, clean verdicts (--repro 1), verification ${VERIFY ? 'on' : 'off'}\n`);
  for (const k of KS) {
    const listen = `127.0.0.1:${await freePort()}`;
    const farm = await startLocalFarm({ agents: k, slots: 1, stateDir: join(work, `state-${k}`), listen });
    try {
      const events: JobEvent[] = [];
      const start = Date.now();
      const job = await submitJob(listen, buildSpec({ repo: history.dir, bad: history.bad, goods: [history.good], test, repro: 1, verify: VERIFY }));
      const final = await followJob(listen, job.id, (ev) => events.push(ev));
      const wallS = (Date.now() - start) / 1000;
      const r = rounds(events);
      rows.push({
        k,
        wallS,
        probes: events.filter((e) => e.kind === 'verdict').length,
        rounds: r,
        bound: Math.ceil(Math.log(history.commits) / Math.log(k + 1)),
        overhead: (wallS - r * T) / wallS,
        right: final.result?.culprit?.hash === history.culprit,
      });
    } finally {
      await farm.stop();
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

const base = rows.find((r) => r.k === 1)?.wallS ?? rows[0]!.wallS;
process.stdout.write('K  wall(s)  speed-up  probes  rounds  bound  overhead  culprit\n');
for (const r of rows) {
  process.stdout.write(
    `${String(r.k).padEnd(3)}${r.wallS.toFixed(1).padStart(7)}  ${(base / r.wallS).toFixed(2).padStart(8)}  ${String(r.probes).padStart(6)}  ${String(r.rounds).padStart(6)}  ${String(r.bound).padStart(5)}  ${(r.overhead * 100).toFixed(1).padStart(7)}%  ${r.right ? 'right' : 'WRONG'}\n`,
  );
}
if (rows.some((r) => !r.right)) process.exitCode = 1;
