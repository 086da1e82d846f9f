/**
 * `make demo`: a real multi-agent bisection on an embedded local farm. Starts nats-server, a
 * coordinator and 4 agents as processes, generates a repository with a planted regression,
 * bisects it, prints the log and the culprit, and stops everything.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSpec } from '../../cli/actions/jobs.js';
import { startLocalFarm } from '../../cli/actions/farm.js';
import { runDemoJob } from './run-job.js';
import { JobState } from '../../shared/proto.js';
import { makeHistory } from './history.js';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 7420));
    });
  });
}

const agents = Number(process.env.DEMO_AGENTS ?? 4);
const commits = Number(process.env.DEMO_COMMITS ?? 1500);
const work = await mkdtemp(join(tmpdir(), 'multisect-demo-'));
const say = (l: string) => process.stdout.write(`${l}\n`);
let stop: (() => Promise<void>) | undefined;
process.on('SIGINT', () => void (stop ?? (async () => undefined))().then(() => process.exit(130)));

try {
  say(`== generating a repository with ${commits} commits, topic branches and one planted regression`);
  const history = await makeHistory({ commits, seed: 2026, dir: await mkdtemp(join(work, 'repo-')) });
  say(`   ${history.dir}: ${history.commits} commits, ${history.merges} merges; planted at ${history.culprit.slice(0, 12)} "${history.culpritSubject}"`);

  const test = join(work, 'repro.sh');
  await writeFile(test, '#!/bin/sh\n# The reproducer: takes a second, crashes where the regression is.\nsleep 1\nif [ -e BUG ]; then echo "CRASH: general protection fault in fast_path"; exit 1; fi\nexit 0\n');
  await chmod(test, 0o755);

  const listen = `127.0.0.1:${await freePort()}`;
  say(`== starting a local farm: nats-server, a coordinator and ${agents} agents`);
  const farm = await startLocalFarm({ agents, slots: 1, stateDir: join(work, 'state'), listen, onLine: (l) => say(`   ${l}`) });
  stop = farm.stop;

  say('== bisecting');
  const spec = buildSpec({ repo: history.dir, bad: history.bad, goods: [history.good], test, runs: 1 });
  const { final, wallS } = await runDemoJob(listen, spec, agents, say);
  const right = final.result?.culprit?.hash === history.culprit;
  say(`\nplanted: ${history.culprit}\nfound:   ${final.result?.culprit?.hash ?? '(none)'}  ${right ? 'RIGHT' : 'WRONG'}; wall time ${wallS.toFixed(1)} s`);
  await farm.stop();
  stop = undefined;
  process.exitCode = right && final.state === JobState.JOB_STATE_SUCCEEDED ? 0 : 1;
} catch (err) {
  process.stderr.write(`demo failed: ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await stop?.();
  await rm(work, { recursive: true, force: true });
}
