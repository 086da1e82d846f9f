/** Recipients and trust flags read from a real repository made by the test. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { culpritFacts, readCommit } from '../../coordinator/culprit-facts.js';
import { git } from '../../shared/git.js';
import { Verdict } from '../../shared/proto.js';
import { makeTrailerRepo, type TrailerRepo } from '../helpers/trailer-repo.js';


describe('culprit facts', () => {
  let repo: TrailerRepo;
  before(async () => {
    repo = await makeTrailerRepo();
  });
  after(async () => {
    await repo?.dispose();
  });

  it('lists the author, trailers and maintainers of the touched files, without stable@', async () => {
    const facts = await culpritFacts(repo.dir, await readCommit(repo.dir, repo.culprit), []);
    assert.deepEqual(facts.recipients, ['carol@example.org', 'rob@example.org', 'dan@example.org', 'eve@example.org', 'alice@example.org', 'fastpath@lists.example.org']);
    assert.deepEqual(facts.files, ['src/fast/path.c']);
    assert.deepEqual(facts.flags, []);
  });

  it('flags a release tag, a merge, documentation only, comments only, and the same artifact', async () => {
    const tagged = repo.tags['v1.2']!;
    assert.match((await culpritFacts(repo.dir, await readCommit(repo.dir, tagged), [])).flags.join('\n'), /carries a release tag \(v1\.2\)/);

    const doc = await repo.commit('docs: explain', { 'Documentation/fast.rst': 'Fast path\n' });
    assert.match((await culpritFacts(repo.dir, await readCommit(repo.dir, doc), [])).flags.join('\n'), /touches only documentation/);

    const comment = await repo.commit('fast: comment', { 'src/fast/path.c': '/* a comment */\n\n' }, { append: true });
    assert.match((await culpritFacts(repo.dir, await readCommit(repo.dir, comment), [])).flags.join('\n'), /changes only comments/);

    const parent = (await git(repo.dir, ['rev-parse', `${comment}^`])).stdout.trim();
    const verdicts = [parent, comment].map((c, i) => Verdict.fromPartial({ probeId: `p${i}`, commit: c, build: { ok: true, artifactHash: 'same' } }));
    assert.match((await culpritFacts(repo.dir, await readCommit(repo.dir, comment), verdicts)).flags.join('\n'), /same artifact as its parent/);

    await git(repo.dir, ['checkout', '-q', '-b', 'topic', repo.good]);
    await repo.commit('topic: work', { 'src/topic.c': 'int t;\n' });
    await git(repo.dir, ['checkout', '-q', 'main']);
    await git(repo.dir, ['merge', '-q', '--no-ff', '-m', "Merge branch 'topic'", 'topic'], { env: { GIT_AUTHOR_NAME: 'M', GIT_AUTHOR_EMAIL: 'm@example.org', GIT_COMMITTER_NAME: 'M', GIT_COMMITTER_EMAIL: 'm@example.org' } });
    const merge = (await git(repo.dir, ['rev-parse', 'HEAD'])).stdout.trim();
    assert.match((await culpritFacts(repo.dir, await readCommit(repo.dir, merge), [])).flags.join('\n'), /is a merge commit/);

    // What the facts are read from: one git process per commit.
    const m = await readCommit(repo.dir, merge);
    assert.equal(m.info.hash, merge);
    assert.equal(m.info.subject, "Merge branch 'topic'");
    assert.equal(m.info.authorEmail, 'm@example.org');
    assert.equal(m.info.merge, true);
    assert.equal(m.parents.length, 2);
    assert.deepEqual(m.files, ['src/topic.c'], 'a merge: the files it brought in over its first parent');
    assert.ok((await readCommit(repo.dir, tagged)).tags.includes('v1.2'));
    const c = await readCommit(repo.dir, comment);
    assert.deepEqual([c.info.merge, c.parents, c.files, c.tags], [false, [parent], ['src/fast/path.c'], []]);
    assert.match(c.body, /^fast: comment\n/);
  });
});
