/**
 * Console fixtures: every `*.log` with a sibling `*.expected.json` in test/fixtures/consoles
 * (hand-written edge cases) and test/fixtures/lab-consoles (real consoles from the kernel lab).
 * Expected: { "title": string | null, "type"?, "corrupted"?, "frame"?, "altTitles"? (subset) }.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from '../../../shared/report/index.js';
import { REPO } from './testdata.js';

interface Expected {
  title: string | null;
  type?: string;
  corrupted?: boolean;
  frame?: string;
  altTitles?: string[];
}

const DIRS = ['test/fixtures/consoles', 'test/fixtures/lab-consoles'];

function fixtures(): { name: string; log: string; expected: string }[] {
  const out: { name: string; log: string; expected: string }[] = [];
  for (const rel of DIRS) {
    const dir = join(REPO, rel);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) {
      if (!f.endsWith('.log')) continue;
      const expected = join(dir, f.replace(/\.log$/, '.expected.json'));
      if (existsSync(expected)) out.push({ name: `${rel}/${f}`, log: join(dir, f), expected });
    }
  }
  return out;
}

describe('console fixtures', () => {
  const all = fixtures();
  it('has hand-written fixtures', () => assert.ok(all.length >= 5, `found ${all.length}`));
  for (const fx of all) {
    it(fx.name, () => {
      const want = JSON.parse(readFileSync(fx.expected, 'utf8')) as Expected;
      const rep = parse(readFileSync(fx.log));
      if (want.title === null) {
        assert.equal(rep, undefined, `unexpected crash: ${rep?.title}`);
        return;
      }
      assert.ok(rep, 'no crash found');
      assert.equal(rep.title, want.title);
      if (want.type !== undefined) assert.equal(rep.type, want.type);
      if (want.corrupted !== undefined) assert.equal(rep.corrupted, want.corrupted, rep.corruptedReason);
      if (want.frame !== undefined) assert.equal(rep.guiltyFrame, want.frame);
      for (const alt of want.altTitles ?? []) assert.ok(rep.altTitles.includes(alt), `missing alt ${alt} in ${JSON.stringify(rep.altTitles)}`);
    });
  }
});
