/**
 * What the operator reads, end to end on a real farm: recipients from trailers and MAINTAINERS,
 * verification, the mail report, the release walk without a good commit, and the live watch
 * view rendered in a real pseudo-terminal (tmux).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { cliArgv, runCli, startTestFarm, type TestFarm } from '../helpers/farm.js';
import { waitForAgents } from '../helpers/farm-jobs.js';
import { makeTestScript, type TestScript } from '../helpers/scripts.js';
import { makeTrailerRepo, type TrailerRepo } from '../helpers/trailer-repo.js';

const exec = promisify(execFile);
const CRASH_IF = 'grep -q BUG src/fast/path.c';

interface JobJson {
  id: string;
  state: string;
  reason?: string;
  culprit?: { hash: string; subject: string; authorEmail: string };
  recipients?: string[];
  verification?: Array<{ commit: string; role: string; runs: number; crashes: number }>;
  releases?: Array<{ tag: string; outcome: string }>;
  crash?: { title: string; report: string };
  log?: string;
}

describe("the operator's view", { timeout: 600_000 }, () => {
  let farm: TestFarm;
  let repo: TrailerRepo;
  let script: TestScript;
  const bisect = async (args: string[]): Promise<JobJson> => {
    const r = await runCli(['bisect', '--repo', repo.dir, '--bad', repo.bad, '--test', `${script.command}`, '--json', '--coordinator', farm.address, ...args]);
    return JSON.parse(r.stdout) as JobJson;
  };

  before(async () => {
    repo = await makeTrailerRepo();
    // The crash: the planted line in src/fast/path.c.
    script = await makeTestScript({ sleepSeconds: 0.2, title: 'BUG: kernel NULL pointer dereference in planted', crashIf: CRASH_IF });
    farm = await startTestFarm({ agents: 3 });
    // All three connected, so the log's estimate counts them.
    await waitForAgents(farm, 3);
  });
  after(async () => {
    await farm?.dispose();
    await repo?.dispose();
  });

  it('names the culprit, its recipients and what verification showed; writes the mail', async () => {
    const job = await bisect(['--good', repo.good]);
    assert.equal(job.state, 'succeeded', JSON.stringify(job));
    assert.equal(job.culprit?.hash, repo.culprit);
    assert.equal(job.culprit?.authorEmail, 'carol@example.org');
    assert.deepEqual(job.recipients, ['carol@example.org', 'rob@example.org', 'dan@example.org', 'eve@example.org', 'alice@example.org', 'fastpath@lists.example.org']);
    const culpritRun = job.verification?.find((v) => v.role === 'culprit');
    const parentRun = job.verification?.find((v) => v.role === 'parent');
    assert.ok(culpritRun && culpritRun.runs >= 2 && culpritRun.crashes === culpritRun.runs, JSON.stringify(job.verification));
    assert.ok(parentRun && parentRun.runs >= 2 && parentRun.crashes === 0, JSON.stringify(job.verification));
    assert.equal(job.crash?.title, 'BUG: kernel NULL pointer dereference in planted');
    assert.match(job.log ?? '', /^bisecting cause commit starting from [0-9a-f]{12}\n/);
    assert.match(job.log ?? '', /revisions left to test; with 3 agent slots roughly \d+ rounds \(\d+ steps one at a time\)/);
    assert.match(job.log ?? '', /verification: culprit [0-9a-f]{12}: \d+ of \d+ runs crashed/);
    assert.match(job.log ?? '', /recipients: carol@example\.org, rob@example\.org/);

    const mail = await runCli(['job', job.id, '--format', 'mail', '--coordinator', farm.address]);
    assert.equal(mail.code, 0, mail.stderr);
    assert.match(mail.stdout, /^Subject: Re: BUG: kernel NULL pointer dereference in planted\nTo: carol@example\.org, rob@example\.org, dan@example\.org, eve@example\.org, alice@example\.org, fastpath@lists\.example\.org\n/);
    assert.match(mail.stdout, /fast: take the short cut/);
    assert.match(mail.stdout, /Reported-by: multisect/);
  });

  it('without a good commit, walks release tags back to a clean one', async () => {
    const job = await bisect([]);
    assert.equal(job.state, 'succeeded', JSON.stringify(job));
    assert.equal(job.culprit?.hash, repo.culprit);
    const outcomes = Object.fromEntries((job.releases ?? []).map((r) => [r.tag, r.outcome]));
    assert.equal(outcomes['v1.2'], 'crashed');
    assert.equal(outcomes['v1.1'], 'clean');
    assert.match(job.log ?? '', /testing releases? .*v1\.2/);
  });

  it('says so when the oldest tested release already had the bug', async () => {
    const job = await bisect(['--oldest-release', 'v1.2']);
    assert.equal(job.state, 'not_in_range', JSON.stringify(job));
    assert.match(job.reason ?? '', /the oldest tested release already had the bug \(v1\.2\)/);
  });

  it('shows a live view that redraws in place on a terminal', async () => {
    const slow = await makeTestScript({ sleepSeconds: 1.5, title: 'BUG: kernel NULL pointer dereference in planted', crashIf: CRASH_IF });
    const sub = await runCli(['bisect', '--repo', repo.dir, '--bad', repo.bad, '--good', repo.good, '--test', slow.command, '--no-wait', '--json', '--coordinator', farm.address]);
    const id = (JSON.parse(sub.stdout) as JobJson).id;
    const socket = `multisect-test-${process.pid}`;
    const tmux = (...args: string[]) => exec('tmux', ['-L', socket, ...args]);
    const command = [process.execPath, ...cliArgv(['watch', id, '--coordinator', farm.address])].map((a) => `'${a}'`).join(' ');
    await tmux('new-session', '-d', '-s', 'w', '-x', '110', '-y', '40', `${command}; sleep 60`);
    try {
      const screen = async () => (await tmux('capture-pane', '-p', '-t', 'w')).stdout;
      let busy = '';
      const deadline = Date.now() + 120_000;
      for (;;) {
        const s = await screen();
        if (/top suspects:\n {2}[0-9a-f]{12} {2}p=/.test(s) && /^ {2}agent-\d +[0-9a-f]{12} {2}\w+/m.test(s)) {
          busy = s;
          break;
        }
        if (Date.now() > deadline) assert.fail(`the live view never showed busy slots and suspects:\n${s}`);
        await new Promise((r) => setTimeout(r, 300));
      }
      assert.match(busy, new RegExp(`^job ${id} {2}\\d+ of \\d+ candidates left {2}elapsed \\S+`, 'm'));
      assert.match(busy, /^culprit mass \[[#.]+\] \d\.\d{3}$/m);
      // Redrawn in place: one frame on the screen, not a scroll of them.
      assert.equal(busy.match(/culprit mass/g)?.length, 1, busy);
      let final = '';
      while (!/first bad commit: [0-9a-f]{12}/.test(final)) {
        if (Date.now() > deadline) assert.fail(`the live view never showed the result:\n${final}`);
        await new Promise((r) => setTimeout(r, 500));
        final = await screen();
      }
      assert.equal(final.match(/culprit mass/g)?.length, 1, final);
      assert.match(final, new RegExp(`first bad commit: ${repo.culprit.slice(0, 12)} fast: take the short cut`));
    } finally {
      await tmux('kill-server').catch(() => undefined);
    }
  });
});
