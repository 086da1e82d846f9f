/**
 * Facts about a culprit that tell the operator whether to trust it and whom to tell: recipients
 * (trailers + MAINTAINERS), and the flags: merge, release tag, same artifact as its parent,
 * documentation- or comment-only change. Read from the coordinator's mirror.
 */
import { git } from '../shared/git.js';
import { maintainersFor, parseMaintainers, recipients } from '../shared/recipients.js';
import { CommitInfo, type Verdict } from '../shared/proto.js';

export const RELEASE_TAG = /^v\d+\.\d+(\.\d+)?$/;

export interface CulpritFacts {
  parents: string[];
  files: string[];
  recipients: string[];
  flags: string[];
}

const DOC_FILE = /^(Documentation\/|docs?\/)|\.(md|rst|txt|adoc)$|(^|\/)(README|MAINTAINERS|CREDITS|COPYING)[^/]*$/;
/** A changed line that is only a comment (C, shell, Makefile, Kconfig help). */
const COMMENT_LINE = /^\s*(\/\/|\/\*|\*|\*\/|#)|^\s*$/;

/** What one `git log` tells of a commit: who, when, its parents, message, files and tags. */
export interface CommitRead {
  info: CommitInfo;
  parents: string[];
  body: string;
  /** Files changed against the first parent (a merge: what it brought in). */
  files: string[];
  /** Tags that point at it (annotated ones peeled). */
  tags: string[];
}

/**
 * One git process for all of it (the coordinator's fork of a big heap is what a spawn costs,
 * and a job's end used to spawn seven): the fields, NUL-separated, then the changed files.
 */
export async function readCommit(mirror: string, hash: string): Promise<CommitRead> {
  const r = await git(mirror, [
    'log', '-1', '--no-color', '--decorate-refs=refs/tags/', '--format=%H%x00%s%x00%an%x00%ae%x00%at%x00%P%x00%D%x00%B%x00',
    '--name-only', '-m', '--first-parent', hash, '--',
  ], { maxBuffer: 64 * 1024 * 1024 });
  const [h, subject, author, email, at, parentsText, decorations, body, rest] = r.stdout.split('\0');
  const parents = (parentsText ?? '').trim().split(/\s+/).filter(Boolean);
  const tags = (decorations ?? '').split(', ').filter((d) => d.startsWith('tag: ')).map((d) => d.slice('tag: '.length));
  return {
    info: CommitInfo.fromPartial({ hash: h || hash, subject: subject ?? '', author: author ?? '', authorEmail: email ?? '', dateMs: Number(at ?? 0) * 1000, merge: parents.length > 1 }),
    parents,
    body: body ?? '',
    files: [...new Set((rest ?? '').split('\n').filter(Boolean))],
    tags,
  };
}

/** The facts of a commit read by readCommit (its author, message and files are in `read`). */
export async function culpritFacts(mirror: string, read: CommitRead, verdicts: readonly Verdict[]): Promise<CulpritFacts> {
  const { info: culprit, parents, body, files, tags } = read;
  const hash = culprit.hash;
  const docOnly = files.length > 0 && files.every((f) => DOC_FILE.test(f));
  const [maintainersText, commentsOnly] = await Promise.all([
    git(mirror, ['show', `${hash}:MAINTAINERS`], { check: false }),
    !docOnly && files.length > 0 && parents[0] ? onlyComments(mirror, parents[0], hash) : Promise.resolve(false),
  ]);
  const maint = maintainersText.code === 0 ? maintainersFor(parseMaintainers(maintainersText.stdout), files) : [];

  const flags: string[] = [];
  if (parents.length > 1) flags.push('the culprit is a merge commit');
  const release = tags.filter((t) => RELEASE_TAG.test(t));
  if (release.length) flags.push(`the culprit carries a release tag (${release.join(', ')})`);
  const artifact = (c: string) => verdicts.find((v) => v.commit === c && v.build?.artifactHash)?.build?.artifactHash;
  const mine = artifact(hash);
  if (mine && parents.some((p) => artifact(p) === mine)) flags.push('the culprit built the same artifact as its parent: the change cannot have caused the crash');
  if (docOnly) flags.push('the culprit touches only documentation');
  else if (commentsOnly) flags.push('the culprit changes only comments or blank lines');
  return { parents, files, recipients: recipients(culprit.authorEmail, body, maint), flags };
}

async function onlyComments(mirror: string, parent: string, hash: string): Promise<boolean> {
  const d = await git(mirror, ['diff', '--unified=0', '--no-color', parent, hash, '--'], { maxBuffer: 64 * 1024 * 1024 });
  const changed = d.stdout.split('\n').filter((l) => (l.startsWith('+') || l.startsWith('-')) && !l.startsWith('+++') && !l.startsWith('---'));
  return changed.length > 0 && changed.every((l) => COMMENT_LINE.test(l.slice(1)));
}
