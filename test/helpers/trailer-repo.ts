/**
 * A small kernel-like repository made with real git commands: a MAINTAINERS file, release tags
 * v1.0..v1.3, commits with trailers, and a culprit that plants `BUG` in src/fast/path.c.
 */
import { mkdtemp, mkdir, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { git } from '../../shared/git.js';

export const MAINTAINERS = `FAST PATH
M:\tAlice Maintainer <alice@example.org>
R:\tRob Reviewer <rob@example.org>
L:\tfastpath@lists.example.org
F:\tsrc/fast/

OTHER
M:\tOther <other@example.org>
F:\tsrc/other/
`;

export interface TrailerRepo {
  dir: string;
  good: string;
  bad: string;
  culprit: string;
  tags: Record<string, string>;
  commit(message: string, files: Record<string, string>, opts?: { author?: string; append?: boolean }): Promise<string>;
  dispose(): Promise<void>;
}

export async function makeTrailerRepo(): Promise<TrailerRepo> {
  const dir = await mkdtemp(join(tmpdir(), 'multisect-trailers-'));
  let t = 1_700_000_000;
  const env = (author: string) => {
    t += 3600;
    const [name, email] = author.split('|') as [string, string];
    return { GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_COMMITTER_NAME: 'Committer', GIT_COMMITTER_EMAIL: 'committer@example.org', GIT_AUTHOR_DATE: `${t} +0000`, GIT_COMMITTER_DATE: `${t} +0000` };
  };
  const commit = async (message: string, files: Record<string, string>, opts: { author?: string; append?: boolean } = {}): Promise<string> => {
    for (const [p, c] of Object.entries(files)) {
      await mkdir(dirname(join(dir, p)), { recursive: true });
      if (opts.append) await appendFile(join(dir, p), c);
      else await writeFile(join(dir, p), c);
    }
    await git(dir, ['add', '-A']);
    await git(dir, ['commit', '-q', '--allow-empty', '-m', message], { env: env(opts.author ?? 'Dev|dev@example.org') });
    return (await git(dir, ['rev-parse', 'HEAD'])).stdout.trim();
  };
  await git(dir, ['init', '-q', '-b', 'main']);
  const good = await commit('initial import', { MAINTAINERS, 'src/fast/path.c': 'int fast(void) { return 0; }\n', 'src/other/a.c': 'int a;\n' });
  const tags: Record<string, string> = {};
  let culprit = '';
  for (let i = 1; i <= 40; i++) {
    if (i === 25) {
      culprit = await commit(
        'fast: take the short cut\n\nSigned-off-by: Carol Author <carol@example.org>\nReviewed-by: Rob Reviewer <rob@example.org>\nAcked-by: Dan <dan@example.org>\nTested-by: Eve <EVE@example.org>\nCc: stable@vger.kernel.org\nSigned-off-by: Stable Team <stable@vger.kernel.org>',
        { 'src/fast/path.c': 'int planted(void) { return *(volatile int *)0; } /* BUG */\n' },
        { author: 'Carol Author|carol@example.org', append: true },
      );
    } else {
      await commit(`other: change ${i}`, { 'src/other/a.c': `int a${i};\n` }, { append: true });
    }
    if (i % 10 === 0) {
      const tag = `v1.${i / 10 - 1}`;
      await git(dir, ['tag', tag]);
      tags[tag] = (await git(dir, ['rev-parse', 'HEAD'])).stdout.trim();
    }
  }
  const bad = (await git(dir, ['rev-parse', 'HEAD'])).stdout.trim();
  return { dir, good, bad, culprit, tags, commit, dispose: () => rm(dir, { recursive: true, force: true }) };
}
