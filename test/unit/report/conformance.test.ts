/** The parser against syzkaller's own vectors: the targets of issue 5. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { conformance, readVectors, summaryLine, type Conformance } from '../../../shared/report/index.js';
import { meetsTargets, runConformance, TARGETS } from '../../../cli/actions/report.js';
import { vectorDir } from './testdata.js';

describe('conformance on syzkaller vectors', () => {
  const dir = vectorDir();
  let result: Conformance | undefined;
  const get = async (): Promise<Conformance> => (result ??= conformance(await readVectors(dir)));

  it('finds the vectors', () => {
    assert.ok(existsSync(dir), `no test vectors at ${dir} (set MULTISECT_TESTDATA)`);
  });

  it('meets the title, type and corrupted targets', async () => {
    const c = await get();
    assert.ok(c.total >= 300, `only ${c.total} vectors`);
    const wrong = (k: 'title' | 'type' | 'corrupted'): string =>
      c.files.filter((f) => !f.ok[k]).map((f) => `${f.file}: ${JSON.stringify(f.got[k])} != ${JSON.stringify(f.expected[k])}`).slice(0, 30).join('\n');
    assert.ok(c.title >= TARGETS.title * c.total, `${summaryLine(c)}\n${wrong('title')}`);
    assert.ok(c.type >= TARGETS.type * c.total, `${summaryLine(c)}\n${wrong('type')}`);
    assert.ok(c.corrupted >= TARGETS.corrupted * c.total, `${summaryLine(c)}\n${wrong('corrupted')}`);
  });

  it('reports no crash in files without a TITLE', async () => {
    const c = await get();
    const falseCrashes = c.files.filter((f) => f.expected.title === '' && f.got.title !== '');
    assert.deepEqual(falseCrashes.map((f) => `${f.file}: ${f.got.title}`), []);
    assert.ok(c.files.some((f) => f.expected.title === ''), 'the vectors include crash-free logs');
  });

  it('gives the alternative titles syzkaller gives (where the title is right)', async () => {
    const c = await get();
    const right = c.files.filter((f) => f.ok.title);
    const same = right.filter((f) => JSON.stringify(f.altTitles.expected) === JSON.stringify(f.altTitles.got));
    const diff = right.filter((f) => !same.includes(f)).slice(0, 10).map((f) => `${f.file}: ${JSON.stringify(f.altTitles)}`);
    assert.ok(same.length >= 0.95 * right.length, `${same.length}/${right.length}\n${diff.join('\n')}`);
  });

  it('keeps titles within 120 characters', async () => {
    const c = await get();
    for (const f of c.files) assert.ok(f.got.title.length <= 120, f.file);
  });

  it('the CLI action gives the same figures and the summary line format', async () => {
    const c = await runConformance(dir);
    const mine = await get();
    assert.equal(summaryLine(c), summaryLine(mine));
    assert.match(summaryLine(c), /^title \d+\/\d+ type \d+\/\d+ corrupted \d+\/\d+$/);
    assert.equal(meetsTargets(c), true);
  });
});
