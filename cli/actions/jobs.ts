/**
 * Actions behind `multisect bisect`, `jobs`, `job`, `watch`, `cancel`, `agents`, `logs`.
 * They take plain values and return results; the commands print them.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { Backoff } from '../../shared/backoff.js';
import { InvalidOptionError } from '../../shared/errors.js';
import { compileJobSpec } from '../../shared/job-spec.js';
import { FINAL_STATES } from '../../shared/job-log.js';
import { CrashMatch, type Job, type JobEvent, JobSpec, Mode } from '../../shared/proto.js';
import { splitCommand } from '../argv.js';
import { OperatorClient } from '../client.js';
import { kernelFiles, type KernelFileFlags } from './job-files.js';

export interface BisectInput extends KernelFileFlags {
  repo: string;
  bad: string;
  goods: string[];
  /** The bad commit's title, should its hash be gone (a rebased tree): the coordinator finds it. */
  badTitle?: string;
  /** The same for the good commits, in the order of `goods`. */
  goodTitles?: string[];
  /** Fix mode: the good commit is on another branch than bad (stable or vendor vs upstream). */
  crossTree?: boolean;
  build?: string;
  test?: string;
  runs?: number;
  parallel?: number;
  mode?: string;
  recipe?: string;
  params?: Record<string, string>;
  firstParent?: boolean;
  crash?: string;
  originalTitles?: string[];
  confidence?: number;
  title?: string;
  /** Re-test the culprit and its parents before the job ends (default true). */
  verify?: boolean;
  verifyRuns?: number;
  /** Without a good commit: the oldest release tag to try. */
  oldestRelease?: string;
  /** Skips in a row (once the bad commit is confirmed) that end the job inconclusive; default 10. */
  maxSkips?: number;
  /** The reproducer's crash rate on affected commits (1 = deterministic); unknown when unset. */
  repro?: number;
  /** The rate of unrelated crashes; unknown when unset. */
  falseCrash?: number;
}

/** Turn command-line values into a checked job spec (fails before any network call). */
export function buildSpec(i: BisectInput, cwd = process.cwd()): JobSpec {
  let repo = i.repo;
  if (!repo) throw new InvalidOptionError('--repo', 'is required', { hint: 'give a repository path or URL' });
  const looksLikeUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[\w.-]+@[\w.-]+:/.test(repo);
  if (!looksLikeUrl) {
    repo = isAbsolute(repo) ? repo : resolve(cwd, repo);
    if (!existsSync(repo)) throw new InvalidOptionError('--repo', `${repo} does not exist`, { hint: 'give the path of a git repository or a URL' });
  }
  const mode = i.mode ?? 'cause';
  if (mode !== 'cause' && mode !== 'fix') throw new InvalidOptionError('--mode', `must be cause or fix, got ${JSON.stringify(mode)}`);
  let crashMatch = CrashMatch.CRASH_MATCH_ANY;
  let crashRegex = '';
  if (i.crash === 'same') crashMatch = CrashMatch.CRASH_MATCH_SAME;
  else if (i.crash && i.crash !== 'any') {
    crashMatch = CrashMatch.CRASH_MATCH_REGEX;
    crashRegex = i.crash;
  }
  const kernelFlags: [boolean, string][] = [
    [i.kernelConfig !== undefined, '--kernel-config'], [i.reproducer !== undefined, '--reproducer'], [i.cmdline !== undefined, '--cmdline'],
    [i.compiler !== undefined, '--compiler'], [(i.sysctls?.length ?? 0) > 0, '--sysctl'],
  ];
  const kernelOnly = kernelFlags.find(([given]) => given)?.[1];
  if (kernelOnly && (i.recipe ?? 'script') !== 'kernel') {
    throw new InvalidOptionError(kernelOnly, 'is for the kernel recipe', { hint: 'add --recipe kernel, or use --file for a file your own test reads' });
  }
  if ((i.goodTitles?.length ?? 0) > i.goods.length) {
    throw new InvalidOptionError('--good-title', `${i.goodTitles?.length} given for ${i.goods.length} --good`, { hint: 'give each --good-title after the --good it names, in the same order' });
  }
  if (i.crossTree && mode !== 'fix') throw new InvalidOptionError('--cross-tree', 'is for fix jobs', { hint: 'add --mode fix, --good <commit on the branch> and --bad <upstream tip>' });
  if (i.crossTree && i.goods.length !== 1) {
    throw new InvalidOptionError('--cross-tree', `needs exactly one --good (the commit on the branch that has the bug), got ${i.goods.length}`, { hint: '--good <commit on the stable or vendor branch> --bad <upstream tip>' });
  }
  const carried = kernelFiles(i, cwd);
  const spec = JobSpec.fromPartial({
    repo,
    bad: i.bad,
    goods: i.goods,
    badTitle: i.badTitle ?? '',
    goodTitles: i.goodTitles ?? [],
    crossTree: i.crossTree ?? false,
    mode: mode === 'fix' ? Mode.MODE_FIX : Mode.MODE_CAUSE,
    title: i.title ?? '',
    recipe: {
      kind: i.recipe ?? 'script',
      build: i.build ? { argv: splitCommand('--build', i.build) } : undefined,
      test: i.test ? { argv: splitCommand('--test', i.test) } : undefined,
      // --param wins: it is the explicit form.
      params: { ...carried.params, ...(i.params ?? {}) },
      files: carried.files,
    },
    policy: {
      runsPerProbe: i.runs ?? 0,
      parallelismCap: i.parallel ?? 0,
      firstParent: i.firstParent ?? false,
      crashMatch,
      crashRegex,
      originalTitles: i.originalTitles ?? [],
      confidenceTarget: i.confidence ?? 0,
      skipVerification: i.verify === false,
      verificationRuns: i.verifyRuns ?? 0,
      oldestRelease: i.oldestRelease ?? '',
      reproRate: i.repro ?? 0,
      falseCrashRate: i.falseCrash ?? 0,
      maxSkips: i.maxSkips ?? 0,
    },
  });
  try {
    return compileJobSpec(spec);
  } catch (err) {
    const e = err as InvalidOptionError;
    const flag = { 'recipe.test': '--test', 'recipe.build': '--build', bad: '--bad', repo: '--repo', 'recipe.params.sysctl': '--sysctl', bad_title: '--bad-title', cross_tree: '--cross-tree' }[e.field as string]
      ?? (/^good_titles/.test(e.field) ? '--good-title' : undefined);
    if (flag) throw new InvalidOptionError(flag, e.message.slice(e.field.length + 2), { cause: err, hint: e.hint });
    throw err;
  }
}

export async function submitJob(coordinator: string, spec: JobSpec): Promise<Job> {
  const client = await OperatorClient.connect(coordinator);
  try {
    return await client.submit(spec);
  } finally {
    client.close();
  }
}

/**
 * Follow a job until it ends, calling `onEvent` for each event. Survives a coordinator restart:
 * when the stream breaks it reconnects and goes on with live events.
 */
export async function followJob(coordinator: string, jobId: string, onEvent: (ev: JobEvent) => void, options: { giveUpMs?: number; liveOnly?: boolean } = {}): Promise<Job> {
  let liveOnly = options.liveOnly ?? false;
  let lastContact = Date.now();
  const giveUpMs = options.giveUpMs ?? 120_000;
  // Between reconnections: quick after a break (a coordinator restart takes a second or two),
  // slower while the coordinator stays away; reset once it is heard from again.
  const reconnect = new Backoff(FOLLOW_BACKOFF);
  for (;;) {
    let client: OperatorClient | undefined;
    try {
      client = await OperatorClient.connect(coordinator, 2000);
      lastContact = Date.now();
      reconnect.reset();
      for await (const ev of client.watch(jobId, liveOnly)) {
        lastContact = Date.now();
        onEvent(ev);
      }
      const job = await client.getJob(jobId);
      if (FINAL_STATES.has(job.state)) return job;
    } catch (err) {
      if (Date.now() - lastContact > giveUpMs) throw err;
      if ((err as Error).name === 'JobNotFoundError' || (err as Error).name === 'InvalidJobError') throw err;
    } finally {
      client?.close();
    }
    liveOnly = true;
    // The job may have ended while we were away.
    try {
      const c = await OperatorClient.connect(coordinator, 1000);
      try {
        const job = await c.getJob(jobId);
        if (FINAL_STATES.has(job.state)) return job;
      } finally {
        c.close();
      }
    } catch {
      /* not back yet */
    }
    await reconnect.wait();
  }
}

/** Waits between reconnections of `followJob`. */
const FOLLOW_BACKOFF = { baseMs: 500, maxMs: 2000 };

export async function withClient<T>(coordinator: string, fn: (c: OperatorClient) => Promise<T>): Promise<T> {
  const client = await OperatorClient.connect(coordinator);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}
