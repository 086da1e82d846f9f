/**
 * Bisections driven through the CLI on a test farm, as an operator would: `multisect bisect
 * --no-wait --json`, then `multisect job --json` until the job ends, with its progress written
 * (time-stamped) to stderr and its log printed at the end.
 */
import assert from 'node:assert/strict';
import { runCli, type TestFarm } from './farm.js';

/** The fields of `multisect job --json` that the tests read. */
export interface JobJson {
  id: string;
  state: string;
  candidatesTotal: number;
  probesDone: number;
  culprit?: { hash: string; subject: string };
  suspects?: { hash: string; probability: number }[];
  reason?: string;
  crash?: { title: string; logKey: string };
  revisionsTested?: number;
  wallMs?: number;
  buildMs?: number;
  testMs?: number;
  log?: string;
}

/** Run the CLI against the farm; fails the test on a non-zero exit. */
export async function farmCli(farm: TestFarm, args: string[], timeoutMs = 120_000): Promise<string> {
  const r = await runCli([...args, '--coordinator', farm.address], { timeoutMs });
  assert.equal(r.code, 0, `multisect ${args.join(' ')} exited ${r.code}\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** Submit `bisectArgs` and wait for the job to end (cancelled and failed after `timeoutMs`). */
export async function bisectToEnd(farm: TestFarm, bisectArgs: string[], label: string, timeoutMs: number): Promise<{ job: JobJson; log: string }> {
  const sub = JSON.parse(await farmCli(farm, [...bisectArgs, '--no-wait', '--json'])) as JobJson;
  const deadline = Date.now() + timeoutMs;
  let job = sub;
  let seen = -1;
  const t0 = Date.now();
  for (;;) {
    job = JSON.parse(await farmCli(farm, ['job', sub.id, '--json'])) as JobJson;
    if (job.probesDone !== seen) {
      seen = job.probesDone;
      process.stderr.write(`# ${sub.id} ${label}: ${job.state}, ${job.probesDone} probes done, ${Math.round((Date.now() - t0) / 1000)} s\n`);
    }
    if (!['queued', 'running'].includes(job.state)) break;
    if (Date.now() > deadline) {
      const log = await farmCli(farm, ['logs', sub.id]).catch((e: unknown) => String(e));
      await runCli(['cancel', sub.id, '--coordinator', farm.address]);
      assert.fail(`job ${sub.id} did not end within ${timeoutMs / 1000} s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
  const log = await farmCli(farm, ['logs', sub.id]);
  process.stderr.write(log.trimEnd().split('\n').map((l) => `#   ${l}\n`).join(''));
  process.stderr.write(`# ${sub.id} ${label} ended: ${job.state} in ${Math.round((job.wallMs ?? 0) / 1000)} s, ${job.revisionsTested} revisions, build ${Math.round((job.buildMs ?? 0) / 1000)} s, test ${Math.round((job.testMs ?? 0) / 1000)} s\n`);
  return { job, log };
}

/** Wait until `n` agents are connected (as `multisect agents --json` says), at most 60 s. */
export async function waitForAgents(farm: TestFarm, n: number): Promise<void> {
  for (const deadline = Date.now() + 60_000; ; ) {
    const r = await runCli(['agents', '--json', '--coordinator', farm.address]);
    if (r.code === 0 && (JSON.parse(r.stdout) as Array<{ connected: boolean }>).filter((a) => a.connected).length === n) return;
    if (Date.now() > deadline) throw new Error(`agents did not connect: ${r.stdout}${r.stderr}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}
