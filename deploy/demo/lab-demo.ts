/**
 * `make demo`: a real kernel crash bisected by a 4-agent local farm. Sets up the kernel lab
 * (deploy/lab/setup: qemu, busybox, Debian's kernel image and headers; idempotent), generates a
 * lab history (an out-of-tree module with topic branches and merges, one commit of which plants a
 * NULL dereference), starts nats-server, a coordinator and 4 agents as processes, bisects with
 * the kernel recipe (every probe builds the module, packs an initramfs, boots Debian's kernel in
 * qemu and runs the reproducer; the console goes through the crash-report parser), prints the
 * events, the bisection log and the result, and stops everything.
 *
 *   npx tsx deploy/demo/lab-demo.ts
 *   DEMO_AGENTS=4 DEMO_COMMITS=300 DEMO_KIND=null-deref DEMO_RUNS=1 DEMO_SEED=2026
 *
 * (`make demo-script` runs the older demo with a shell-script test, deploy/demo/demo.ts.)
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildSpec, withClient } from '../../cli/actions/jobs.js';
import { startLocalFarm } from '../../cli/actions/farm.js';
import { runDemoJob } from './run-job.js';
import { compileJobSpec } from '../../shared/job-spec.js';
import { JobState } from '../../shared/proto.js';
import { BUG_FUNCTION, isBugKind } from '../lab/history/bugs.js';
import { makeHistory } from '../lab/history/generate.js';
import { LAB_DIR, labRecipe } from '../lab/job.js';

const pexec = promisify(execFile);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 7420));
    });
  });
}

interface LabSetup {
  version: string;
  release: string;
  kernel: string;
  cache: string;
}

const agents = Number(process.env.DEMO_AGENTS ?? 4);
const commits = Number(process.env.DEMO_COMMITS ?? 300);
const runs = Number(process.env.DEMO_RUNS ?? 1);
const seed = Number(process.env.DEMO_SEED ?? 2026);
const kind = process.env.DEMO_KIND ?? 'null-deref';
if (!isBugKind(kind)) throw new Error(`DEMO_KIND: unknown bug kind ${kind}`);

const work = await mkdtemp(join(tmpdir(), 'multisect-lab-demo-'));
const say = (l: string) => process.stdout.write(`${l}\n`);
let stop: (() => Promise<void>) | undefined;
process.on('SIGINT', () => void (stop ?? (async () => undefined))().then(() => process.exit(130)));

try {
  say('== the kernel lab (deploy/lab/setup: installs what is missing, downloads Debian\'s kernel once)');
  let setup: LabSetup;
  try {
    const { stdout } = await pexec('bash', [join(LAB_DIR, 'setup'), '--json'], { maxBuffer: 64 * 1024 * 1024 });
    setup = JSON.parse(stdout.trim().split('\n').pop() as string) as LabSetup;
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    throw new Error(`the lab set-up failed (status ${e.code}):\n${e.stderr ?? String(err)}`);
  }
  say(`   kernel ${setup.release} (Debian ${setup.version}), cache ${setup.cache}`);

  say(`== generating a lab kernel tree: ${commits} commits with topic branches, one planted ${kind}`);
  const history = await makeHistory({ dir: join(work, 'tree'), kind, commits, seed });
  const merges = (await pexec('git', ['-C', history.repo, 'rev-list', '--merges', '--count', history.badHash])).stdout.trim();
  say(`   ${history.repo}: ${history.commits} commits, ${merges} merges; planted at ${history.culprit.slice(0, 12)} "${history.culpritSubject}" (in ${BUG_FUNCTION[kind]})`);

  const listen = `127.0.0.1:${await freePort()}`;
  say(`== starting a local farm: nats-server, a coordinator and ${agents} agents`);
  const farm = await startLocalFarm({ agents, slots: 1, stateDir: join(work, 'state'), listen, accelProbeKernel: setup.kernel, onLine: (l) => say(`   ${l}`) });
  stop = farm.stop;

  say(`== bisecting with the kernel recipe (build the module, boot ${setup.release} in qemu, run the reproducer, ${runs} run(s) per probe)`);
  const base = buildSpec({ repo: history.repo, bad: history.badHash, goods: [history.goodHash], recipe: 'kernel', runs, title: `lab ${kind}` });
  const spec = compileJobSpec({ ...base, recipe: labRecipe({ kernel: setup.kernel, cache: setup.cache, memoryMb: 256, noOutputTimeoutS: 60, totalTimeoutS: 240 }) });
  const { final, wallS } = await runDemoJob(listen, spec, agents, say);
  const crashKey = final.result?.crashLogKey;
  if (crashKey) {
    const consoleLog = (await withClient(listen, (c) => c.getLog(final.id, '', crashKey))).text;
    const lines = consoleLog.split('\n');
    const at = lines.findIndex((l) => /BUG: |WARNING: |general protection fault|list_(add|del) corruption|blocked for more than/.test(l));
    if (at >= 0) {
      // The oops without the register dump: first lines, RIP, and the top of the call trace.
      const regs = /\] (R(?!IP)[A-Z0-9]{2}|CR2|FS|CS|DR[0-7]|PKRU|Code):/;
      const trace = lines.findIndex((l, i) => i > at && /Call Trace:/.test(l));
      const head = lines.slice(Math.max(0, at - 1), trace > at ? trace : at + 10).filter((l) => !regs.test(l));
      const calls = trace > at ? lines.slice(trace, trace + 8) : [];
      say(`\n== the crash, from ${crashKey}`);
      say([...head, ...calls].join('\n'));
    }
  }
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
