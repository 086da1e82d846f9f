/**
 * The Repo port: everything a job needs to know about the repository's history. The job's
 * reducer (job-run/) never reads git; the executor asks a Repo and feeds the answers back as
 * events. One implementation over the coordinator's git mirror (repo-git.ts), one in memory for
 * tests (repo-memory.ts).
 */
import type { CommitInfo, Verdict } from '../shared/proto.js';
import type { CandidateDag } from './engine/index.js';
import type { ReleaseTag } from './job-run/release-walk.js';

/**
 * The candidate DAG with what the loader reads anyway: each candidate's subject and its parents
 * as full hashes (all of them, also with --first-parent, and also those outside the range), so
 * that verification and reports need no second read of the history.
 */
export interface CandidateRange extends CandidateDag {
  subjects: string[];
  parentHashes: string[][];
}

/** Facts about a culprit that tell the operator whether to trust it and whom to tell. */
export interface CommitFacts {
  info: CommitInfo;
  parents: string[];
  recipients: string[];
  flags: string[];
}

export interface LoadRangeOptions {
  /** Follow only first parents (`git bisect --first-parent`): merges stand for their branch. */
  firstParent: boolean;
}

export interface Repo {
  /** A ref (hash, branch, tag) as a full commit hash; InvalidJobError(field) when unknown. */
  resolve(ref: string, field: string): Promise<string>;
  /**
   * The one commit whose subject line is `title`, on any branch or tag (a commit rewritten by a
   * rebase keeps its title); UnknownCommitTitleError or AmbiguousCommitTitleError otherwise.
   */
  findByTitle(title: string, field: string): Promise<string>;
  /** The best common ancestor of two commits (a cross-tree job's start); InvalidJobError when none. */
  mergeBase(a: string, b: string): Promise<string>;
  /** The commits reachable from bad and from no good commit; InvalidJobError when the range is wrong. */
  loadRange(bad: string, goods: readonly string[], opts: LoadRangeOptions): Promise<CandidateRange>;
  /** Release tags (vX.Y) that are ancestors of bad (not bad itself), newest first, down to `oldest`. */
  releaseTags(bad: string, oldest: string): Promise<ReleaseTag[]>;
  /** The culprit's commit info, recipients and flags (verdicts: for the same-artifact flag). */
  culpritFacts(commit: string, verdicts: readonly Verdict[]): Promise<CommitFacts>;
}

/** Opens the Repo of a job's repository (the git implementation fetches the mirror first). */
export interface RepoSource {
  open(repoUrl: string, opts: { refresh: boolean; wanted: readonly string[] }): Promise<Repo>;
}
