import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { maintainersFor, parseMaintainers, patternMatches, recipients, trailerEmails } from '../../../shared/recipients.js';

const MAINTAINERS = `List of maintainers

FAST PATH
M:\tAlice Maintainer <alice@example.org>
R:\tRob Reviewer <rob@example.org>
L:\tfastpath@lists.example.org
F:\tsrc/fast/
X:\tsrc/fast/doc.txt

OTHER
M:\tOther <other@example.org>
F:\tsrc/other/*.c

NAMED
M:\tNina <nina@example.org>
N:\tfoo

STABLE
M:\tstable@vger.kernel.org
F:\tsrc/fast/path.c
`;

describe('recipients', () => {
  it('reads the trailers', () => {
    const msg = 'fast: rework\n\nSigned-off-by: Carol <carol@example.org>\nReviewed-by: Rob Reviewer <ROB@example.org>\nAcked-by: dan@example.org\nTested-by: Eve <eve@example.org>\nCc: someone@example.org\nReported-by: x@example.org\n';
    assert.deepEqual(trailerEmails(msg), ['carol@example.org', 'rob@example.org', 'dan@example.org', 'eve@example.org']);
  });

  it('matches MAINTAINERS patterns like get_maintainer.pl', () => {
    assert.ok(patternMatches('src/fast/', 'src/fast/path.c'));
    assert.ok(!patternMatches('src/fast/', 'src/faster/x.c'));
    assert.ok(patternMatches('src/other/*.c', 'src/other/a.c'));
    assert.ok(!patternMatches('src/other/*.c', 'src/other/sub/a.c'));
    assert.ok(patternMatches('src/net', 'src/net/core.c'));
    const entries = parseMaintainers(MAINTAINERS);
    assert.deepEqual(maintainersFor(entries, ['src/fast/path.c']), ['alice@example.org', 'rob@example.org', 'fastpath@lists.example.org', 'stable@vger.kernel.org']);
    assert.deepEqual(maintainersFor(entries, ['src/fast/doc.txt']), []);
    assert.deepEqual(maintainersFor(entries, ['lib/foo_bar.c']), ['nina@example.org']);
  });

  it('puts the author first, deduplicates and drops stable@vger.kernel.org', () => {
    const msg = 'x\n\nSigned-off-by: Carol <carol@example.org>\nReviewed-by: Rob <rob@example.org>\nSigned-off-by: Stable <stable@vger.kernel.org>\n';
    const maint = maintainersFor(parseMaintainers(MAINTAINERS), ['src/fast/path.c']);
    assert.deepEqual(recipients('Carol@Example.org', msg, maint), ['carol@example.org', 'rob@example.org', 'alice@example.org', 'fastpath@lists.example.org']);
  });
});
