/**
 * The pages, as data (the JSON endpoints) and as HTML rendered from that same data. The job
 * page's live sections are separate fragments, which the server-sent events replace.
 */
import { FINAL_STATES, jobStateName, short } from '../../shared/job-log.js';
import { type AgentInfo, type Job, Mode } from '../../shared/proto.js';
import { jobToJson } from '../render.js';
import { chartData, chartSvg, type ChartData } from './chart.js';
import { bisectCommand } from './command-line.js';
import { ago, esc, JOB_SCRIPT, page, REFRESH_SCRIPT } from './html.js';
import type { JobWatch } from './job-watch.js';
import type { CandidateRange } from './range.js';

export type JobsFilter = 'all' | 'active' | 'ended';

const jobUrl = (id: string) => `/jobs/${encodeURIComponent(id)}`;
const probeLogUrl = (job: string, probe: string) => `${jobUrl(job)}/probes/${encodeURIComponent(probe)}/log`;

export function jobsData(jobs: Job[], filter: JobsFilter, now = Date.now()) {
  const keep = jobs.filter((j) => filter === 'all' || (filter === 'ended') === FINAL_STATES.has(j.state));
  return keep
    .sort((a, b) => Number(b.createdMs) - Number(a.createdMs))
    .map((j) => ({
      id: j.id,
      url: jobUrl(j.id),
      state: jobStateName(j.state),
      mode: j.spec?.mode === Mode.MODE_FIX ? 'fix' : 'cause',
      repo: j.spec?.repo ?? '',
      candidatesLeft: j.candidatesLeft,
      candidatesTotal: j.candidatesTotal,
      probesDone: j.probesDone,
      probesInFlight: j.probesInFlight,
      culprit: j.result?.culprit ? { hash: j.result.culprit.hash, subject: j.result.culprit.subject } : undefined,
      createdMs: Number(j.createdMs),
      ageMs: now - Number(j.createdMs),
    }));
}

export function jobsHtml(rows: ReturnType<typeof jobsData>, filter: JobsFilter): string {
  const tab = (f: JobsFilter) => (f === filter ? `<b>${f}</b>` : `<a href="/jobs${f === 'all' ? '' : `?filter=${f}`}">${f}</a>`);
  const body = rows.length
    ? `<table id="jobs"><tr><th>job</th><th>state</th><th>mode</th><th>repository</th><th>candidates left</th><th>probes done / in flight</th><th>culprit</th><th>age</th></tr>${rows
        .map(
          (r) =>
            `<tr><td><a href="${r.url}" class="mono">${esc(r.id)}</a></td><td class="state-${r.state}">${r.state}</td><td>${r.mode}</td><td class="mono">${esc(r.repo)}</td><td>${r.candidatesLeft} of ${r.candidatesTotal}</td><td>${r.probesDone} / ${r.probesInFlight}</td><td>${r.culprit ? `<span class="mono">${short(r.culprit.hash)}</span> ${esc(r.culprit.subject)}` : '-'}</td><td>${ago(r.createdMs)}</td></tr>`,
        )
        .join('')}</table>`
    : '<p class="mute">no jobs</p>';
  return page('jobs', `<h2>Jobs</h2><p>show: ${tab('all')} · ${tab('active')} · ${tab('ended')} · <a href="/jobs.json${filter === 'all' ? '' : `?filter=${filter}`}">JSON</a></p>${body}`, REFRESH_SCRIPT);
}

export function agentsData(agents: AgentInfo[], now = Date.now()) {
  return agents.map((a) => ({
    id: a.agentId,
    host: a.host,
    connected: a.connected,
    health: !a.connected ? 'gone' : a.health || 'healthy',
    problem: a.problem || undefined,
    healthCheckInMs: a.health === 'unhealthy' && Number(a.healthRetryMs) > 0 ? Math.max(0, Number(a.healthRetryMs) - now) : undefined,
    accel: a.accel || undefined,
    accelReason: a.accelReason || undefined,
    slots: a.slots,
    slotStatus: Array.from({ length: a.slots }, (_, i) => {
      const s = a.slotStatus.find((x) => x.slot === i);
      return s?.probeId ? { slot: i, job: s.jobId, probe: s.probeId, commit: s.commit, phase: s.phase, run: s.run, runs: s.runs } : { slot: i, idle: true };
    }),
    lastSeenMs: Number(a.lastSeenMs),
  }));
}

export function agentsHtml(rows: ReturnType<typeof agentsData>): string {
  const slot = (s: ReturnType<typeof agentsData>[number]['slotStatus'][number]) =>
    'idle' in s
      ? `<div class="mute">${s.slot}: idle</div>`
      : `<div>${s.slot}: <a href="${jobUrl(s.job!)}" class="mono">${esc(s.job)}</a> <span class="mono">${short(s.commit ?? '')}</span> ${esc(s.phase)}${s.run ? ` run ${s.run} of ${s.runs}` : ''}</div>`;
  const body = rows.length
    ? `<table id="agents"><tr><th>agent</th><th>host</th><th>health</th><th>accelerator</th><th>slots</th><th>last seen</th></tr>${rows
        .map(
          (a) =>
            `<tr data-agent="${esc(a.id)}"><td class="mono">${esc(a.id)}</td><td>${esc(a.host)}</td><td class="${a.health === 'healthy' ? '' : 'bad'}">${esc(a.health)}${a.problem ? `: ${esc(a.problem)}` : ''}${a.healthCheckInMs !== undefined ? ` (health check in ${Math.round(a.healthCheckInMs / 1000)} s)` : ''}</td><td>${esc(a.accel ?? '-')}${a.accelReason ? `<div class="mute">${esc(a.accelReason)}</div>` : ''}</td><td>${a.slotStatus.map(slot).join('')}</td><td>${ago(a.lastSeenMs)} ago</td></tr>`,
        )
        .join('')}</table>`
    : '<p class="mute">no agents</p>';
  return page('agents', `<h2>Agents</h2><p><a href="/agents.json">JSON</a></p>${body}`, REFRESH_SCRIPT);
}

/** The fields of jobToJson (cli/render.ts) the page reads. */
interface JobJson {
  id: string;
  state: string;
  mode: string;
  repo?: string;
  bad?: string;
  goods?: string[];
  candidatesTotal: number;
  candidatesLeft: number;
  createdMs: number | string;
  phase?: string;
  culprit?: { hash: string; subject: string; author: string; authorEmail: string; date: string };
  confidence?: number;
  reason?: string;
  flags?: string[];
  recipients?: string[];
  crash?: { title: string; report: string; logKey: string };
}

export function jobData(w: JobWatch, range: CandidateRange | string) {
  const job = w.job;
  const chart = chartData({
    range,
    mode: job.spec?.mode === Mode.MODE_FIX ? 'fix' : 'cause',
    done: w.done,
    inFlight: [...w.inFlight.values()],
    suspects: w.ended ? [] : w.suspects,
    posterior: w.posterior,
  });
  return {
    ...(jobToJson(job) as unknown as JobJson),
    // While running, the last verdict's count (the record is written less often).
    candidatesLeft: w.ended ? job.candidatesLeft : w.candidatesLeft,
    url: jobUrl(job.id),
    ended: w.ended,
    command: bisectCommand(job.spec),
    inFlight: [...w.inFlight.values()].map((p) => ({ ...p, elapsedMs: Date.now() - p.startedMs })),
    probes: w.done.map((d) => ({ ...d, logUrl: probeLogUrl(job.id, d.probeId) })),
    topSuspects: w.ended ? [] : w.suspects,
    chart: { ...chart, note: chart.exact ? EXACT_NOTE : CHART_NOTE },
    log: w.log,
  };
}

export type JobData = ReturnType<typeof jobData>;

const EXACT_NOTE = "the engine's posterior: the probability that each commit is the culprit (the largest in each bar)";
const CHART_NOTE = 'estimated: the top suspects as the engine sent them; the rest of the mass spread evenly over the commits that agree with the verdicts';

/** The live sections of the job page, by element id. */
export function jobFragments(d: JobData): Record<string, string> {
  return { summary: summaryHtml(d), chart: chartHtml(d.chart), inflight: inFlightHtml(d), result: resultHtml(d), probes: probesHtml(d), log: esc(d.log) };
}

function summaryHtml(d: JobData): string {
  return `<table class="kv">
<tr><td>state</td><td class="state-${d.state}" id="state">${esc(d.state)}${d.phase ? ` (${esc(d.phase)})` : ''}</td></tr>
<tr><td>mode</td><td>${esc(d.mode)}</td></tr><tr><td>repository</td><td class="mono">${esc(d.repo)}</td></tr>
<tr><td>bad / good</td><td class="mono">${short(d.bad ?? '')} / ${(d.goods ?? []).map(short).join(' ') || '(release walk)'}</td></tr>
<tr><td>candidates left</td><td id="left">${d.candidatesLeft} of ${d.candidatesTotal}</td></tr>
<tr><td>probes</td><td>${d.probes.length} done, ${d.inFlight.length} in flight</td></tr>
<tr><td>age</td><td>${ago(Number(d.createdMs))}</td></tr></table>`;
}

function chartHtml(c: ChartData & { note: string }): string {
  const legend = `<p class="legend mute"><span><i class="dot" style="background:var(--mass)"></i> mass</span><span><i class="dot" style="background:var(--sus)"></i> top suspect</span><span><i class="dot" style="background:var(--crash)"></i> crashed</span><span><i class="dot" style="background:var(--clean)"></i> clean</span><span>× skipped</span><span><i class="dot" style="background:var(--fly)"></i> in flight</span></p>`;
  const why = c.unavailable ? `<p class="mute">candidate list not available (${esc(c.unavailable)}): only the commits the events name are drawn.</p>` : '';
  return `${chartSvg(c)}${legend}${why}<p class="mute">${esc(c.note)}</p>`;
}

function inFlightHtml(d: JobData): string {
  if (!d.inFlight.length) return '<p class="mute">no probe in flight</p>';
  return `<table><tr><th>commit</th><th>agent</th><th>slot</th><th>phase</th><th>elapsed</th></tr>${d.inFlight
    .map(
      (p) =>
        `<tr class="probe"><td class="mono">${short(p.commit)}</td><td>${esc(p.agent)}</td><td>${esc(p.slot)}</td><td>${esc(p.phase)}${p.run ? ` run ${p.run} of ${p.runs || '?'}` : ''}</td><td data-since="${p.startedMs}">${ago(p.startedMs)}</td></tr>`,
    )
    .join('')}</table>`;
}

function resultHtml(d: JobData): string {
  const rows: string[] = [];
  if (d.culprit) rows.push(`<tr><td>culprit</td><td id="culprit"><span class="mono">${esc(d.culprit.hash)}</span> ${esc(d.culprit.subject)}<div class="mute">${esc(d.culprit.author)} &lt;${esc(d.culprit.authorEmail)}&gt; ${esc(d.culprit.date)}</div></td></tr>`);
  if (d.confidence !== undefined && d.culprit) rows.push(`<tr><td>confidence</td><td>${d.confidence.toFixed(3)}</td></tr>`);
  if (d.reason) rows.push(`<tr><td>reason</td><td>${esc(d.reason)}</td></tr>`);
  if (d.flags?.length) rows.push(`<tr><td>flags</td><td>${d.flags.map(esc).join('<br>')}</td></tr>`);
  if (d.recipients) rows.push(`<tr><td>recipients</td><td>${d.recipients.map(esc).join(', ')}</td></tr>`);
  if (d.topSuspects.length) rows.push(`<tr><td>top suspects</td><td>${d.topSuspects.map((s) => `<span class="mono">${short(s.hash)}</span> p=${s.probability.toFixed(3)}`).join('<br>')}</td></tr>`);
  const crash = d.crash ? `<h3>Crash: ${esc(d.crash.title)}</h3>${d.crash.report ? `<pre>${esc(d.crash.report)}</pre>` : ''}` : '';
  if (!rows.length && !crash) return '<p class="mute">no result yet</p>';
  return `<table class="kv">${rows.join('')}</table>${crash}`;
}

function probesHtml(d: JobData): string {
  if (!d.probes.length) return '<p class="mute">no verdict yet</p>';
  return `<table><tr><th>probe</th><th>commit</th><th>agent</th><th>verdict</th><th>logs</th></tr>${d.probes
    .map((p) => `<tr><td class="mono">${esc(p.probeId)}</td><td class="mono">${short(p.commit)}</td><td>${esc(p.agent)}</td><td>${esc(p.verdict)}<div class="mute">${esc(p.summary)}</div></td><td><a href="${p.logUrl}">build and console</a></td></tr>`)
    .join('')}</table>`;
}

export function jobHtml(d: JobData): string {
  const f = jobFragments(d);
  const live = d.ended ? '' : JOB_SCRIPT;
  return page(
    `job ${d.id}`,
    `<h2>Job <span class="mono">${esc(d.id)}</span></h2><p><a href="${d.url}.json">JSON</a> · <a href="${d.url}/log">log as text</a></p>
<section id="summary">${f.summary}</section>
<h3>Where the culprit can be</h3><section id="chart">${f.chart}</section>
<h3>Probes in flight</h3><section id="inflight">${f.inflight}</section>
<h3>Result</h3><section id="result">${f.result}</section>
<h3>Reproduce</h3><pre id="command">${esc(d.command)}</pre>
<h3>Probes</h3><section id="probes">${f.probes}</section>
<h3>Log</h3><pre id="log">${f.log}</pre>`,
    live,
  );
}

