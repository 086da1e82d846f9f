/**
 * `multisect job JOB --format mail`: a report ready to send, in the shape syzbot's bisection
 * mails have: subject, recipients, the culprit, the crash, where the log is, a Reported-by footer.
 */
import { formatDuration, short } from '../shared/job-log.js';
import { type Job, JobState, Mode } from '../shared/proto.js';

export function mailReport(job: Job, options: { from?: string; logCommand?: string } = {}): string {
  const r = job.result;
  const fix = job.spec?.mode === Mode.MODE_FIX;
  const crash = r?.crashTitle || r?.originalCrashTitle || 'the crash';
  const lines: string[] = [];
  if (job.state !== JobState.JOB_STATE_SUCCEEDED || !r?.culprit) {
    lines.push(`Subject: [multisect] bisection of "${crash}" did not find a single commit`);
    lines.push(`To: ${options.from ?? 'the operator'}`, '');
    lines.push(`The bisection ended ${JobState[job.state].replace('JOB_STATE_', '').toLowerCase()}: ${r?.reason ?? ''}`);
    for (const s of r?.suspects ?? []) lines.push(`  ${short(s.hash)} (p=${s.probability.toFixed(3)})`);
    return lines.join('\n') + '\n';
  }
  const c = r.culprit;
  lines.push(`Subject: Re: ${crash}`);
  if (r.recipients.length) lines.push(`To: ${r.recipients.join(', ')}`);
  lines.push('');
  lines.push(`multisect has bisected this ${fix ? 'issue to' : 'crash to'}:`);
  lines.push('');
  lines.push(`commit ${c.hash}`);
  lines.push(`Author: ${c.author} <${c.authorEmail}>`);
  lines.push(`Date:   ${new Date(c.dateMs).toUTCString()}`);
  lines.push('');
  lines.push(`    ${c.subject}`);
  lines.push('');
  lines.push(`${fix ? 'first good commit' : 'first bad commit'} confidence: ${r.confidence.toFixed(3)}`);
  lines.push(`start commit:   ${short(job.badHash)}`);
  if (job.goodHashes.length) lines.push(`good commit:    ${job.goodHashes.map(short).join(' ')}`);
  lines.push(`revisions tested: ${r.revisionsTested}, wall time: ${formatDuration(r.wallMs)}`);
  for (const v of r.verification) lines.push(`verified: ${v.role} ${short(v.commit)}: ${v.skipped ? 'not testable' : `${v.crashes}/${v.runs} runs crashed`}`);
  for (const f of r.flags) lines.push(`NOTE: ${f}`);
  lines.push('');
  lines.push(`crash: ${r.crashTitle}`);
  if (r.crashReport) lines.push('', r.crashReport.trimEnd());
  lines.push('');
  lines.push(`bisection log: ${options.logCommand ?? `multisect logs ${job.id}`}`);
  if (r.crashLogKey) lines.push(`console log:   multisect logs ${job.id} --key ${r.crashLogKey}`);
  lines.push('');
  lines.push(`IMPORTANT: if you fix the issue, please add the following tag to the commit:`);
  lines.push(`Reported-by: multisect <${options.from ?? 'multisect@localhost'}>`);
  if (!fix) lines.push(`Fixes: ${short(c.hash)} ("${c.subject}")`);
  return lines.join('\n') + '\n';
}
