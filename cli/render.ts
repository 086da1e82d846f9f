/** Text renderings of jobs, agents and events for the terminal. */
import { FINAL_STATES, formatDuration, jobStateName, resultLines, short } from '../shared/job-log.js';
import { type AgentInfo, type Job, type JobEvent, JobState, Mode } from '../shared/proto.js';

export function jobToJson(job: Job): Record<string, unknown> {
  const r = job.result;
  return {
    id: job.id,
    state: jobStateName(job.state),
    mode: job.spec?.mode === Mode.MODE_FIX ? 'fix' : 'cause',
    repo: job.spec?.repo,
    recipe: job.spec?.recipe?.kind,
    // The files the job carries (their content stays with the job).
    files: job.spec?.recipe?.files.length ? job.spec.recipe.files.map((f) => ({ name: f.name, size: f.size, sha256: f.sha256 })) : undefined,
    bad: job.badHash,
    goods: job.goodHashes,
    candidatesTotal: job.candidatesTotal,
    candidatesLeft: job.candidatesLeft,
    probesDone: job.probesDone,
    probesInFlight: job.probesInFlight,
    createdMs: job.createdMs,
    finishedMs: job.finishedMs || undefined,
    culprit: r?.culprit
      ? { hash: r.culprit.hash, subject: r.culprit.subject, author: r.culprit.author, authorEmail: r.culprit.authorEmail, date: new Date(r.culprit.dateMs).toISOString(), merge: r.culprit.merge }
      : undefined,
    phase: job.phase || undefined,
    confidence: r?.confidence,
    // Other suspects matter when the culprit is not certain enough (or there is none yet).
    suspects: !r?.culprit || (r.confidence ?? 0) < (job.spec?.policy?.confidenceTarget ?? 0.99) ? r?.suspects.map((s) => ({ hash: s.hash, probability: s.probability })) : undefined,
    reason: r?.reason || undefined,
    crash: r?.crashTitle ? { title: r.crashTitle, report: r.crashReport, logKey: r.crashLogKey, original: r.originalCrashTitle || undefined } : undefined,
    recipients: r?.recipients.length ? r.recipients : undefined,
    verification: r?.verification.length ? r.verification.map((v) => ({ commit: v.commit, role: v.role, runs: v.runs, crashes: v.crashes, skipped: v.skipped, crashTitle: v.crashTitle || undefined })) : undefined,
    releases: r?.releases.length ? r.releases.map((x) => ({ tag: x.tag, commit: x.commit, outcome: x.outcome })) : undefined,
    revisionsTested: r?.revisionsTested,
    wallMs: r?.wallMs,
    buildMs: r?.buildMs,
    testMs: r?.testMs,
    flags: r?.flags,
    // Why an end of the range could not be tested, when that ended the job.
    untestable: r?.untestable ? { commit: r.untestable.commit, role: r.untestable.role, reason: r.untestable.reason, tag: r.untestable.tag || undefined, probes: r.untestable.probeIds } : undefined,
    crossTree: r?.crossTree ? { mergeBase: r.crossTree.mergeBase, outcome: r.crossTree.outcome } : undefined,
    // Refs found another way than by name (a rewritten commit found by its title).
    refNotes: job.refNotes.length ? job.refNotes : undefined,
  };
}

export function jobsTable(jobs: Job[]): string {
  if (jobs.length === 0) return 'no jobs';
  const rows = [['JOB', 'STATE', 'LEFT', 'PROBES', 'CULPRIT', 'REPO']];
  for (const j of jobs) {
    rows.push([j.id, jobStateName(j.state), String(j.candidatesLeft), String(j.probesDone), j.result?.culprit ? short(j.result.culprit.hash) : '-', j.spec?.repo ?? '']);
  }
  return table(rows);
}

export function jobText(job: Job): string {
  const lines = [
    `job ${job.id}: ${jobStateName(job.state)}`,
    `repo: ${job.spec?.repo}`,
    `bad: ${job.badHash}  good: ${job.goodHashes.join(' ') || '(none)'}`,
    `candidates: ${job.candidatesLeft} left of ${job.candidatesTotal}; probes done: ${job.probesDone}, in flight: ${job.probesInFlight}`,
  ];
  if (FINAL_STATES.has(job.state)) lines.push(...resultLines(job));
  else if (job.result?.suspects.length) {
    lines.push('top suspects:');
    for (const s of job.result.suspects) lines.push(`  ${short(s.hash)} p=${s.probability.toFixed(3)}`);
  }
  return lines.join('\n');
}

export function agentsTable(agents: AgentInfo[]): string {
  if (agents.length === 0) return 'no agents';
  const rows = [['AGENT', 'HOST', 'STATE', 'ACCEL', 'SLOTS', 'BUSY', 'KEPT', 'LAST SEEN', 'PROBLEM']];
  for (const a of agents) {
    const busy = a.slotStatus.filter((s) => s.probeId).map((s) => `${s.slot}:${short(s.commit)} ${s.phase}`);
    // An unhealthy agent gets no work until its health check: say so, and when the check comes.
    const state = !a.connected ? 'gone' : a.health && a.health !== 'healthy' ? a.health : 'connected';
    const retry = a.health === 'unhealthy' && Number(a.healthRetryMs) > 0 ? ` (health check in ${formatDuration(Math.max(0, Number(a.healthRetryMs) - Date.now()))})` : '';
    rows.push([a.agentId, a.host, state, a.accel || '-', String(a.slots), busy.join(', ') || '-', String(a.keptKernels), `${formatDuration(Date.now() - Number(a.lastSeenMs))} ago`, a.problem ? `${a.problem}${retry}` : '-']);
  }
  // Why each agent runs its VMs the way it does: a TCG agent is ~10x slower, the operator should know why.
  const why = agents.filter((a) => a.accelReason).map((a) => `  ${a.agentId}: ${a.accel}: ${a.accelReason}`);
  return why.length ? `${table(rows)}

accelerators:
${why.join('\n')}` : table(rows);
}

export function eventLine(ev: JobEvent): string {
  const t = new Date(Number(ev.timeMs)).toISOString().slice(11, 19);
  const left = ev.kind === 'verdict' ? ` [${ev.candidatesLeft} left, top p=${ev.topProbability.toFixed(3)}]` : '';
  return ev.message
    .split('\n')
    .map((l, i) => (i === 0 ? `${t} ${l}${left}` : `         ${l}`))
    .join('\n');
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

export function exitCodeFor(job: Job): number {
  return job.state === JobState.JOB_STATE_SUCCEEDED ? 0 : job.state === JobState.JOB_STATE_INCONCLUSIVE ? 3 : 1;
}
