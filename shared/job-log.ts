/**
 * The job's bisection log, in the style kernel developers know from syzbot, rendered from facts
 * only (spec, verdicts, result) so that it reads the same after a coordinator restart and shows
 * every probe exactly once.
 */
import { Job, JobState, Mode, RunOutcome, type Verdict } from './proto.js';
import { completedRun, incompleteReason } from './run-evidence.js';

export const short = (h: string): string => h.slice(0, 12);

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Rounds a farm of k slots needs for n candidates (clean verdicts), and git bisect's steps. */
export function estimate(n: number, k: number): { rounds: number; steps: number } {
  const steps = n > 1 ? Math.ceil(Math.log2(n)) : 0;
  const rounds = n > 1 ? Math.ceil(Math.log(n) / Math.log(Math.max(1, k) + 1)) : 0;
  return { rounds, steps };
}

export function headerLines(job: Job): string[] {
  const mode = job.spec?.mode === Mode.MODE_FIX ? 'fix' : 'cause';
  const lines = [`bisecting ${mode} commit starting from ${short(job.badHash)}`];
  lines.push(...job.refNotes);
  if (job.goodHashes.length) lines.push(`good: ${job.goodHashes.map(short).join(' ')}`);
  else lines.push('no good commit given: testing release tags going back until one is clean');
  if (job.candidatesTotal > 0) {
    const k = Math.max(1, job.slotsAtStart);
    const { rounds, steps } = estimate(job.candidatesTotal, k);
    lines.push(`${job.candidatesTotal} revisions left to test; with ${k} agent slot${k > 1 ? 's' : ''} roughly ${rounds} rounds (${steps} steps one at a time)`);
  }
  return lines;
}

/**
 * What a probe was for: its verdict's phase field, else (verdicts of older agents) its id
 * (coordinator/job-run/probe-id.ts). A cross-tree job's merge base is shown with the bisection.
 */
function purpose(v: Verdict): 'release' | 'verify' | 'bisect' {
  if (v.phase === 'release' || v.phase === 'verify') return v.phase;
  if (v.phase) return 'bisect';
  if (/-r-[0-9a-f]+$/.test(v.probeId)) return 'release';
  if (/-v\d+-[0-9a-f]+$/.test(v.probeId)) return 'verify';
  return 'bisect';
}

/**
 * Verdicts in waves: probes that ran at the same time (each started before the first of the
 * wave finished) are one "testing N commits at once" line.
 */
export function waves(verdicts: readonly Verdict[]): Verdict[][] {
  const sorted = [...verdicts].sort((a, b) => Number(a.startedMs) - Number(b.startedMs));
  const out: Verdict[][] = [];
  let cur: Verdict[] = [];
  let firstEnd = Infinity;
  for (const v of sorted) {
    if (cur.length && Number(v.startedMs) >= firstEnd) {
      out.push(cur);
      cur = [];
      firstEnd = Infinity;
    }
    cur.push(v);
    firstEnd = Math.min(firstEnd, Number(v.finishedMs) || Infinity);
  }
  if (cur.length) out.push(cur);
  return out;
}

export function verdictLines(v: Verdict): string[] {
  const lines: string[] = [];
  const compiler = v.build?.compiler ? ` with ${v.build.compiler}` : '';
  lines.push(v.build?.cached ? `testing ${short(v.commit)} on agent ${v.agentId} with the kernel it kept (nothing built)` : `building at ${short(v.commit)}${compiler} on agent ${v.agentId}`);
  if (v.abortReason) {
    lines.push(`aborted: ${v.abortReason}`);
    return lines;
  }
  if (v.build && !v.build.ok) {
    lines.push(`build failed: skipping ${short(v.commit)}${v.build.error ? `: ${lastLine(v.build.error)}` : ''}`);
    return lines;
  }
  for (const r of v.runs) lines.push(`run #${r.index}: ${runText(r.outcome, r.title, r.matches)}`);
  const outcomes = new Set(v.runs.map((r) => runText(r.outcome, r.title, r.matches)));
  if (v.runs.length > 1 && outcomes.size === 1) lines.push(`all runs: ${[...outcomes][0]}`);
  const incomplete = incompleteReason(v);
  if (incomplete && v.runs.some(completedRun)) lines.push(`no evidence: ${incomplete}`);
  return lines;
}

function runText(outcome: RunOutcome, title: string, matches: boolean): string {
  switch (outcome) {
    case RunOutcome.RUN_OUTCOME_OK:
      return 'OK';
    case RunOutcome.RUN_OUTCOME_CRASH:
      return matches ? `crashed: ${title}` : `crashed (other crash, not counted): ${title}`;
    case RunOutcome.RUN_OUTCOME_SKIP:
      return `skipped: ${title}`;
    case RunOutcome.RUN_OUTCOME_INFRA:
      return `infrastructure problem: ${title}`;
    default:
      return 'unknown';
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

export function resultLines(job: Job): string[] {
  const r = job.result;
  if (!r) return [];
  const lines: string[] = [];
  const machine = r.buildMs + r.testMs;
  lines.push(
    `revisions tested: ${r.revisionsTested}, wall time: ${formatDuration(r.wallMs)}, machine time: ${formatDuration(machine)} (build: ${formatDuration(r.buildMs)}, test: ${formatDuration(r.testMs)})`,
  );
  const firstWhat = job.spec?.mode === Mode.MODE_FIX ? 'first good commit' : 'first bad commit';
  switch (job.state) {
    case JobState.JOB_STATE_SUCCEEDED:
      if (r.culprit) lines.push(`${firstWhat}: ${short(r.culprit.hash)} ${r.culprit.subject}`);
      lines.push(`confidence: ${r.confidence.toFixed(3)}`);
      break;
    case JobState.JOB_STATE_INCONCLUSIVE:
      lines.push(`inconclusive: ${r.reason}`);
      lines.push(`the ${firstWhat} could be any of:`);
      for (const s of r.suspects) lines.push(`  ${short(s.hash)} (p=${s.probability.toFixed(3)})`);
      break;
    case JobState.JOB_STATE_NOT_IN_RANGE:
      lines.push(`not in range: ${r.reason}`);
      break;
    case JobState.JOB_STATE_FAILED:
      lines.push(`failed: ${r.reason}`);
      break;
    case JobState.JOB_STATE_CANCELLED:
      lines.push(`cancelled: ${r.reason}`);
      break;
    default:
      break;
  }
  for (const v of r.verification) {
    const what = v.skipped ? 'could not be tested' : `${v.crashes} of ${v.runs} runs crashed${v.crashTitle ? ` (${v.crashTitle})` : ''}`;
    lines.push(`verification: ${v.role} ${short(v.commit)}: ${what}`);
  }
  if (r.crossTree) lines.push(`cross-tree: merge base ${short(r.crossTree.mergeBase)} ${r.crossTree.outcome}`);
  if (r.untestable) lines.push(`untestable: ${r.untestable.role}${r.untestable.tag ? ` ${r.untestable.tag}` : ''} ${short(r.untestable.commit)}: ${r.untestable.reason}`);
  if (r.recipients.length) lines.push(`recipients: ${r.recipients.join(', ')}`);
  if (r.crashTitle) lines.push(`crash: ${r.crashTitle}`);
  for (const f of r.flags) lines.push(`flag: ${f}`);
  return lines;
}

export function renderJobLog(job: Job, verdicts: readonly Verdict[]): string {
  const lines = headerLines(job);
  const tags = new Map((job.result?.releases ?? []).map((r) => [r.commit, r.tag]));
  for (const wave of waves(verdicts)) {
    const kinds = new Set(wave.map((v) => purpose(v)));
    if (kinds.has('release')) lines.push(`testing release${wave.length > 1 ? 's' : ''} ${wave.map((v) => tags.get(v.commit) ?? short(v.commit)).join(' ')}`);
    else if (kinds.has('verify')) lines.push(`verifying: ${wave.map((v) => short(v.commit)).join(' ')}`);
    else if (wave.length > 1) lines.push(`testing ${wave.length} commits at once: ${wave.map((v) => short(v.commit)).join(' ')}`);
    for (const v of wave) lines.push(...verdictLines(v));
  }
  lines.push(...resultLines(job));
  return lines.join('\n') + '\n';
}

export const FINAL_STATES: ReadonlySet<JobState> = new Set([
  JobState.JOB_STATE_SUCCEEDED,
  JobState.JOB_STATE_INCONCLUSIVE,
  JobState.JOB_STATE_NOT_IN_RANGE,
  JobState.JOB_STATE_FAILED,
  JobState.JOB_STATE_CANCELLED,
]);

export function jobStateName(s: JobState): string {
  return JobState[s].replace('JOB_STATE_', '').toLowerCase();
}
