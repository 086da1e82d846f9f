/**
 * `make demo`: a real kernel crash bisected by a 4-agent local farm.
 *
 * DEMO_TREE=linux (the default): the real Linux kernel. deploy/lab/setup-linux installs what is
 * missing and unpacks Debian's linux-source-6.1 once; a history is generated on it (topic
 * branches merged into a mainline, one commit planting a NULL dereference behind a prctl in
 * kernel/sys.c); every probe builds the kernel with the kernel recipe's own build (the lab
 * .config, `make olddefconfig`, `make bzImage` in the slot's O= directory, ccache), compiles the
 * C reproducer, packs it with busybox into an initramfs and boots the kernel in qemu. The job is
 * submitted as a syzbot bug is: its .config and reproducer travel with it. The slots' first builds
 * are seeded: one from scratch, the others from ccache (agent/kernel/build.ts).
 *
 * DEMO_TREE=module: the fast lab. An out-of-tree module on Debian's prebuilt kernel
 * (deploy/lab/setup), with the same shape of history.
 *
 * Either way: nats-server, a coordinator and the agents as processes, the events, the bisection
 * log, the crash and the result are printed, and everything is stopped and removed at the end.
 *
 *   npx tsx deploy/demo/lab-demo.ts
 *   DEMO_TREE=linux DEMO_AGENTS=4 DEMO_COMMITS=200 DEMO_KIND=null-deref DEMO_RUNS=1 DEMO_SEED=2026
 *   (module: DEMO_COMMITS=300; kinds null-deref warning gpf list-corruption hang flaky)
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
import { JobState, type JobSpec } from '../../shared/proto.js';
import { silentLogger } from '../../shared/logger.js';
import { BUG_FUNCTION, isBugKind } from '../lab/history/bugs.js';
import { makeHistory } from '../lab/history/generate.js';
import { LINUX_BUG_FUNCTION, LINUX_BUG_KINDS, makeLinuxHistory, type LinuxBugKind } from '../lab/history/linux.js';
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

const tree = process.env.DEMO_TREE ?? 'linux';
if (tree !== 'linux' && tree !== 'module') throw new Error(`DEMO_TREE: linux or module, got ${tree}`);
const agents = Number(process.env.DEMO_AGENTS ?? 4);
const commits = Number(process.env.DEMO_COMMITS ?? (tree === 'linux' ? 200 : 300));
const runs = Number(process.env.DEMO_RUNS ?? 1);
const seed = Number(process.env.DEMO_SEED ?? 2026);
const kind = process.env.DEMO_KIND ?? 'null-deref';
if (tree === 'module' && !isBugKind(kind)) throw new Error(`DEMO_KIND: unknown bug kind ${kind}`);
if (tree === 'linux' && !(LINUX_BUG_KINDS as readonly string[]).includes(kind)) throw new Error(`DEMO_KIND: the Linux lab plants ${LINUX_BUG_KINDS.join(', ')}; got ${kind}`);

const work = await mkdtemp(join(tmpdir(), 'multisect-lab-demo-'));
const say = (l: string) => process.stdout.write(`${l}\n`);
let stop: (() => Promise<void>) | undefined;
process.on('SIGINT', () => void (stop ?? (async () => undefined))().then(() => rm(work, { recursive: true, force: true })).then(() => process.exit(130)));

async function setupJson<T>(script: string, what: string): Promise<T> {
  try {
    const { stdout } = await pexec('bash', [join(LAB_DIR, script), '--json'], { maxBuffer: 64 * 1024 * 1024 });
    return JSON.parse(stdout.trim().split('\n').pop() as string) as T;
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    throw new Error(`${what} set-up failed (status ${e.code}):\n${e.stderr ?? String(err)}`);
  }
}

interface Prepared {
  culprit: string;
  spec: JobSpec;
  /** What boots, for the accelerator proof. */
  proofKernel: string;
}

async function prepareLinux(): Promise<Prepared> {
  say("== the real-kernel lab (deploy/lab/setup-linux: installs what is missing, unpacks Debian's linux-source-6.1 once)");
  const setup = await setupJson<{ version: string; source: string; config: string; busybox: string; kernel: string }>('setup-linux', 'the real-kernel lab');
  say(`   Linux ${setup.version} in ${setup.source}; lab config ${setup.config}`);
  say(`== generating a history on the Linux tree: ${commits} commits on topic branches merged into a mainline, one planted ${kind}`);
  const t0 = Date.now();
  const h = await makeLinuxHistory({ source: setup.source, dir: join(work, 'linux'), kind: kind as LinuxBugKind, commits, seed });
  const merges = (await pexec('git', ['-C', h.repo, 'rev-list', '--merges', '--count', h.badHash])).stdout.trim();
  say(`   ${h.repo}: ${h.commits} commits, ${merges} merges, in ${((Date.now() - t0) / 1000).toFixed(0)} s; planted at ${h.culprit.slice(0, 12)} "${h.culpritSubject}" (in ${LINUX_BUG_FUNCTION})`);
  const spec = buildSpec({
    repo: h.repo, bad: h.badHash, goods: [h.goodHash], recipe: 'kernel', runs, title: `linux ${kind}`,
    // As a syzbot bug comes: its .config and C reproducer travel with the job.
    kernelConfig: setup.config, reproducer: join(LAB_DIR, 'linux', 'repro.c'),
    cmdline: 'console=ttyS0 earlyprintk=serial oops=panic panic=-1 nokaslr', sysctls: ['kernel.panic_on_warn=1'],
    params: { busybox: setup.busybox, memory: '256', boot_timeout: '120', no_output_timeout: '60', total_timeout: '240' },
  });
  return { culprit: h.culprit, spec, proofKernel: setup.kernel };
}

async function prepareModule(): Promise<Prepared> {
  say("== the kernel lab (deploy/lab/setup: installs what is missing, downloads Debian's kernel once)");
  const setup = await setupJson<{ version: string; release: string; kernel: string; cache: string }>('setup', 'the kernel lab');
  say(`   kernel ${setup.release} (Debian ${setup.version}), cache ${setup.cache}`);
  if (!isBugKind(kind)) throw new Error(`DEMO_KIND: unknown bug kind ${kind}`);
  say(`== generating a lab kernel tree: ${commits} commits with topic branches, one planted ${kind}`);
  const h = await makeHistory({ dir: join(work, 'tree'), kind, commits, seed });
  const merges = (await pexec('git', ['-C', h.repo, 'rev-list', '--merges', '--count', h.badHash])).stdout.trim();
  say(`   ${h.repo}: ${h.commits} commits, ${merges} merges; planted at ${h.culprit.slice(0, 12)} "${h.culpritSubject}" (in ${BUG_FUNCTION[kind]})`);
  const base = buildSpec({ repo: h.repo, bad: h.badHash, goods: [h.goodHash], recipe: 'kernel', runs, title: `lab ${kind}` });
  const spec = compileJobSpec({ ...base, recipe: labRecipe({ kernel: setup.kernel, cache: setup.cache, memoryMb: 256, noOutputTimeoutS: 60, totalTimeoutS: 240 }) });
  return { culprit: h.culprit, spec, proofKernel: setup.kernel };
}

try {
  const p = tree === 'linux' ? await prepareLinux() : await prepareModule();
  const listen = `127.0.0.1:${await freePort()}`;
  say(`== starting a local farm: nats-server, a coordinator and ${agents} agents`);
  const farm = await startLocalFarm({
    agents, slots: 1, stateDir: join(work, 'state'), listen, accelProbeKernel: p.proofKernel, onLine: (l) => say(`   ${l}`),
    // Open it to watch the bisection live (DEMO_DASHBOARD=HOST:PORT to move it).
    dashboard: { listen: process.env.DEMO_DASHBOARD ?? '127.0.0.1:7480', logger: silentLogger() },
  });
  if (farm.dashboardUrl) say(`   dashboard on ${farm.dashboardUrl}`);
  stop = farm.stop;

  say(
    tree === 'linux'
      ? `== bisecting with the kernel recipe (build Linux, compile the C reproducer, boot in qemu, ${runs} run(s) per probe; the first build seeds the others)`
      : `== bisecting with the kernel recipe (build the module, boot Debian's kernel in qemu, run the reproducer, ${runs} run(s) per probe)`,
  );
  const { final, wallS } = await runDemoJob(listen, p.spec, agents, say);
  const crashKey = final.result?.crashLogKey;
  if (crashKey) {
    const consoleLog = (await withClient(listen, (c) => c.getLog(final.id, '', crashKey))).text;
    const lines = consoleLog.split('\n');
    const at = lines.findIndex((l) => /BUG: |WARNING: |general protection fault|list_(add|del) corruption|blocked for more than/.test(l));
    if (at >= 0) {
      // The oops without the register dump (printk times or not): first lines, RIP, and the top of the call trace.
      const regs = /(^|\] )(R(?!IP)[A-Z0-9]{2}|CR2|FS|CS|DR[0-7]|PKRU|Code):/;
      const trace = lines.findIndex((l, i) => i > at && /Call Trace:/.test(l));
      const head = lines.slice(Math.max(0, at - 1), trace > at ? trace : at + 10).filter((l) => !regs.test(l));
      const calls = trace > at ? lines.slice(trace, trace + 8) : [];
      say(`\n== the crash, from ${crashKey}`);
      say([...head, ...calls].join('\n'));
    }
  }
  const r = final.result;
  say(`\nbuilds ${((r?.buildMs ?? 0) / 1000).toFixed(0)} s and tests ${((r?.testMs ?? 0) / 1000).toFixed(0)} s in total over ${final.probesDone} probes`);
  const right = r?.culprit?.hash === p.culprit;
  say(`planted: ${p.culprit}\nfound:   ${final.result?.culprit?.hash ?? '(none)'}  ${right ? 'RIGHT' : 'WRONG'}; wall time ${wallS.toFixed(1)} s`);
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
