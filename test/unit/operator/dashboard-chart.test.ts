/** The dashboard's chart: the engine's posterior when the coordinator sends it, binned, small at 100,000 commits. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BINS, chartData, chartSvg } from '../../../cli/dashboard/chart.js';

const hashes = (n: number) => Array.from({ length: n }, (_, i) => i.toString(16).padStart(40, '0'));

describe('dashboard chart', () => {
  it('draws the engine posterior as sent, without reading the repository', () => {
    const commits = hashes(10);
    const mass = commits.map((_, i) => (i === 7 ? 0.9 : 0.1 / 9));
    const d = chartData({ range: 'the repository is a URL', mode: 'cause', done: [], inFlight: [], suspects: [], posterior: { commits, mass } });
    assert.equal(d.exact, true);
    assert.equal(d.unavailable, undefined);
    assert.equal(d.commits, 10);
    assert.equal(d.bins[7]!.maxP, 0.9);
    assert.ok(Math.abs(d.bins[0]!.maxP - 0.1 / 9) < 1e-12);
  });

  it('without a posterior or a range: only the commits the events name, marked as not exact', () => {
    const d = chartData({ range: 'no range', mode: 'cause', done: [{ probeId: 'p', commit: 'a'.repeat(40), agent: 'x', verdict: 'crash', summary: '', finishedMs: 0 }], inFlight: [], suspects: [] });
    assert.equal(d.exact, false);
    assert.equal(d.commits, 1);
  });

  it('bins a 100,000-commit posterior into at most BINS bars and stays small', () => {
    const commits = hashes(100_000);
    const mass = commits.map(() => 1 / 100_000);
    const t0 = performance.now();
    const svg = chartSvg(chartData({ range: 'url', mode: 'fix', done: [], inFlight: [], suspects: [], posterior: { commits, mass } }));
    const ms = performance.now() - t0;
    assert.ok(svg.length < 200_000, `${svg.length} bytes`);
    assert.ok(ms < 1000, `${ms} ms`);
    assert.ok(BINS <= 500);
  });
});
