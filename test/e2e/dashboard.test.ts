/**
 * The dashboard in a real headless browser (Debian's chromium driven by puppeteer-core; no
 * browser is downloaded): during a real bisection on a local farm the job page shows the probes
 * in flight, its chart changes when a verdict arrives without a reload, and the final page names
 * the culprit; the agents page shows every agent. Screenshots go to a temporary folder (printed);
 * with UPDATE_SCREENSHOT=1 the mid-bisection one is also written to docs/dashboard.png.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { chartData, chartSvg } from '../../cli/dashboard/chart.js';
import type { CandidateRange } from '../../cli/dashboard/range.js';
import { freePort, REPO_ROOT, runCli, startProc, startTestFarm, type Proc, type TestFarm } from '../helpers/farm.js';
import { waitForAgents } from '../helpers/farm-jobs.js';
import { makeRepo, type Repo } from '../helpers/git-repo.js';
import { makeTestScript } from '../helpers/scripts.js';
import { tempDir } from '../helpers/temp-dirs.js';

const CHROMIUM = '/usr/bin/chromium';

/** chromium, installed by deploy/install-deps.sh when missing; the reason when it cannot be. */
function chromium(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  try {
    execFileSync('bash', [join(REPO_ROOT, 'deploy/install-deps.sh')], { stdio: 'inherit', timeout: 600_000 });
  } catch (err) {
    return `chromium is not installed and deploy/install-deps.sh could not install it: ${(err as Error).message}`;
  }
  return existsSync(CHROMIUM) ? undefined : `deploy/install-deps.sh ran but ${CHROMIUM} is still missing`;
}

const missing = chromium();

describe('the dashboard in a browser', { timeout: 600_000, skip: missing }, () => {
  let farm: TestFarm;
  let repo: Repo;
  let dashboard: Proc;
  let browser: Browser;
  let page: Page;
  let base = '';
  let shots = '';
  const shot = async (name: string) => {
    const file = join(shots, name);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  };

  before(async () => {
    shots = await tempDir('dashboard-shots');
    process.stderr.write(`# screenshots in ${shots}\n`);
    repo = await makeRepo({ commits: 300, merges: 20, seed: 5, plant: 190 });
    farm = await startTestFarm({ agents: 3 });
    const port = await freePort();
    dashboard = startProc(['dashboard', '--coordinator', farm.address, '--listen', `127.0.0.1:${port}`]);
    for (const deadline = Date.now() + 30_000; !/dashboard on http/.test(dashboard.output()); ) {
      if (dashboard.child.exitCode !== null || Date.now() > deadline) throw new Error(`the dashboard did not start:\n${dashboard.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    base = `http://127.0.0.1:${port}`;
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 900 });
    await waitForAgents(farm, 3);
  });
  after(async () => {
    await browser?.close().catch(() => undefined);
    await dashboard?.kill('SIGTERM', 5000);
    await farm?.dispose();
    await repo?.dispose();
  });

  it('follows a bisection live: probes in flight, the chart redrawn on a verdict, the culprit at the end', async () => {
    const script = await makeTestScript({ sleepSeconds: 1.5 });
    const sub = await runCli(['bisect', '--repo', repo.dir, '--bad', repo.bad, '--good', repo.good, '--test', script.command, '--no-wait', '--json', '--coordinator', farm.address]);
    assert.equal(sub.code, 0, sub.stderr);
    const id = (JSON.parse(sub.stdout) as { id: string }).id;

    await page.goto(`${base}/jobs/${id}`, { waitUntil: 'domcontentloaded' });
    // Browser-side code as strings: this project's TypeScript has no DOM types.
    await page.evaluate('window.notReloaded = true');
    await page.waitForSelector('#inflight tr.probe', { timeout: 60_000 });
    const inFlight = await page.$$eval('#inflight tr.probe td', (tds) => tds.map((t) => t.textContent ?? ''));
    assert.ok(inFlight.some((t) => /^agent-\d$/.test(t)), `no agent in the in-flight table: ${inFlight.join(' | ')}`);
    process.stderr.write(`# in flight: ${await shot('1-job-in-flight.png')}\n`);

    // A verdict arrives: the chart is redrawn in place (more verdict marks), no reload.
    const marks = () => page.$$eval('#chart .v-crash, #chart .v-clean', (els) => els.length);
    const before = await marks();
    const svgBefore = await page.$eval('#chart svg', (s) => s.outerHTML);
    await page.waitForFunction(`document.querySelectorAll('#chart .v-crash, #chart .v-clean').length > ${before}`, { timeout: 90_000 });
    assert.notEqual(await page.$eval('#chart svg', (s) => s.outerHTML), svgBefore);
    assert.equal(await page.evaluate('window.notReloaded'), true, 'the page was reloaded');
    // The mass drawn is the engine's own posterior, read from the coordinator (GetPosterior).
    const midJson = (await (await fetch(`${base}/jobs/${id}.json`)).json()) as { chart: { exact: boolean } };
    assert.equal(midJson.chart.exact, true, 'the chart is an estimate, not the engine posterior');
    // Mid-bisection, with probes in flight again: the README's screenshot.
    await page.waitForSelector('#inflight tr.probe', { timeout: 60_000 }).catch(() => undefined);
    const mid = await shot('2-job-mid-bisection.png');
    process.stderr.write(`# mid-bisection: ${mid}\n`);
    if (process.env.UPDATE_SCREENSHOT === '1') {
      await page.screenshot({ path: join(REPO_ROOT, 'docs/dashboard.png') });
      process.stderr.write('# wrote docs/dashboard.png\n');
    }

    await page.waitForFunction(`document.querySelector('#culprit')?.textContent?.includes('${repo.culprit}')`, { timeout: 240_000 });
    assert.equal(await page.evaluate('window.notReloaded'), true, 'the page was reloaded');
    await page.waitForFunction(`document.querySelector('#state')?.textContent?.startsWith('succeeded')`, { timeout: 30_000 });
    process.stderr.write(`# final: ${await shot('3-job-final.png')}\n`);

    // The same page without JavaScript has the result too, and so does its JSON.
    const html = await (await fetch(`${base}/jobs/${id}`)).text();
    assert.match(html, new RegExp(repo.culprit!));
    assert.match(html, /multisect bisect --repo /);
    const json = (await (await fetch(`${base}/jobs/${id}.json`)).json()) as { state: string; culprit?: { hash: string }; probes: { logUrl: string }[] };
    assert.equal(json.state, 'succeeded');
    assert.equal(json.culprit?.hash, repo.culprit);
    const log = await fetch(`${base}${json.probes[0]!.logUrl}`);
    assert.equal(log.status, 200);
    const jobs = (await (await fetch(`${base}/jobs.json?filter=ended`)).json()) as { id: string }[];
    assert.ok(jobs.some((j) => j.id === id));
  });

  it('shows every agent', async () => {
    await page.goto(`${base}/agents`, { waitUntil: 'domcontentloaded' });
    const agents = await page.$$eval('#agents tr[data-agent]', (rows) => rows.map((r) => r.getAttribute('data-agent')));
    assert.deepEqual([...agents].sort(), ['agent-1', 'agent-2', 'agent-3']);
    process.stderr.write(`# agents: ${await shot('4-agents.png')}\n`);
    await page.goto(`${base}/jobs`, { waitUntil: 'domcontentloaded' });
    process.stderr.write(`# jobs: ${await shot('5-jobs.png')}\n`);
  });

  it('draws a 100,000-commit range in well under 1 MB', () => {
    const n = 100_000;
    const hashes = Array.from({ length: n }, (_, i) => i.toString(16).padStart(40, '0'));
    const range: CandidateRange = { hashes, subjects: hashes, parents: hashes.map((_, i) => (i ? [i - 1] : [])), index: new Map(hashes.map((h, i) => [h, i])), tags: [{ at: 50_000, tag: 'v1.0' }] };
    const t0 = Date.now();
    const done = [10_000, 60_000, 80_000].map((i, k) => ({ probeId: `p${k}`, commit: hashes[i]!, agent: 'a', verdict: (i < 60_000 ? 'clean' : 'crash') as 'clean' | 'crash', summary: '', finishedMs: 0 }));
    const svg = chartSvg(chartData({ range, mode: 'cause', done, inFlight: [], suspects: [{ hash: hashes[59_999]!, probability: 0.2 }] }));
    assert.ok(svg.length < 200_000, `${svg.length} bytes`);
    assert.ok(Date.now() - t0 < 1000, `${Date.now() - t0} ms`);
  });
});
