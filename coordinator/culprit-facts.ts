/**
 * Facts about a culprit that tell the operator whether to trust it and whom to tell: recipients
 * (trailers + MAINTAINERS), and the flags: merge, release tag, same artifact as its parent,
 * documentation- or comment-only change. Read from the coordinator's mirror.
 */
import { git } from '../shared/git.js';
import { maintainersFor, parseMaintainers, recipients } from '../shared/recipients.js';
import type { CommitInfo, Verdict } from '../shared/proto.js';

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

export async function culpritFacts(mirror: string, culprit: CommitInfo, verdicts: readonly Verdict[]): Promise<CulpritFacts> {
  const hash = culprit.hash;
  const [parentsOut, body, filesOut, tags] = await Promise.all([
    git(mirror, ['rev-list', '--parents', '-n', '1', hash, '--']),
    git(mirror, ['log', '-1', '--format=%B', hash, '--']),
    git(mirror, ['diff-tree', '--no-commit-id', '--name-only', '-r', '-m', '--first-parent', hash, '--']),
    git(mirror, ['tag', '--points-at', hash]),
  ]);
  const parents = parentsOut.stdout.trim().split(/\s+/).slice(1);
  const files = [...new Set(filesOut.stdout.split('\n').filter(Boolean))];
  const maintainersText = await git(mirror, ['show', `${hash}:MAINTAINERS`], { check: false });
  const maint = maintainersText.code === 0 ? maintainersFor(parseMaintainers(maintainersText.stdout), files) : [];

  const flags: string[] = [];
  if (parents.length > 1) flags.push('the culprit is a merge commit');
  const release = tags.stdout.split('\n').filter((t) => RELEASE_TAG.test(t));
  if (release.length) flags.push(`the culprit carries a release tag (${release.join(', ')})`);
  const artifact = (c: string) => verdicts.find((v) => v.commit === c && v.build?.artifactHash)?.build?.artifactHash;
  const mine = artifact(hash);
  if (mine && parents.some((p) => artifact(p) === mine)) flags.push('the culprit built the same artifact as its parent: the change cannot have caused the crash');
  if (files.length > 0 && files.every((f) => DOC_FILE.test(f))) flags.push('the culprit touches only documentation');
  else if (files.length > 0 && parents[0] && (await onlyComments(mirror, parents[0], hash))) flags.push('the culprit changes only comments or blank lines');
  return { parents, files, recipients: recipients(culprit.authorEmail, body.stdout, maint), flags };
}

async function onlyComments(mirror: string, parent: string, hash: string): Promise<boolean> {
  const d = await git(mirror, ['diff', '--unified=0', '--no-color', parent, hash, '--'], { maxBuffer: 64 * 1024 * 1024 });
  const changed = d.stdout.split('\n').filter((l) => (l.startsWith('+') || l.startsWith('-')) && !l.startsWith('+++') && !l.startsWith('---'));
  return changed.length > 0 && changed.every((l) => COMMENT_LINE.test(l.slice(1)));
}
