/**
 * The live view of `multisect watch` (and `multisect bisect` while it waits) on a terminal:
 * redrawn in place, it shows candidates left, a bar of the leading suspect's posterior mass,
 * every agent slot busy with this job (commit and phase), the top five suspects, elapsed time
 * and an estimate of what is left. Pure rendering: events in, a screen (string) out.
 */
import { estimate, formatDuration, short } from '../shared/job-log.js';
import type { Job, JobEvent, Suspect } from '../shared/proto.js';

interface SlotLine {
  agent: string;
  commit: string;
  phase: string;
  run: number;
  runs: number;
}

export class LiveView {
  private candidatesLeft: number;
  private top = 0;
  private suspects: Suspect[] = [];
  private readonly slots = new Map<string, SlotLine>();
  private readonly durations: number[] = [];
  private readonly startedAt = new Map<string, number>();
  private last = '';
  private finished = '';
  private linesDrawn = 0;

  constructor(
    private readonly job: Job,
    private readonly width = 100,
  ) {
    this.candidatesLeft = job.candidatesLeft || job.candidatesTotal;
  }

  update(ev: JobEvent): void {
    const t = Number(ev.timeMs);
    switch (ev.kind) {
      case 'probe-started':
        this.slots.set(ev.probeId, { agent: ev.agentId, commit: ev.commit, phase: 'starting', run: 0, runs: 0 });
        this.startedAt.set(ev.probeId, t);
        break;
      case 'probe-progress': {
        const s = this.slots.get(ev.probeId) ?? { agent: ev.agentId, commit: ev.commit, phase: '', run: 0, runs: 0 };
        s.phase = ev.phase;
        s.run = ev.run;
        if (ev.runsTotal) s.runs = ev.runsTotal;
        this.slots.set(ev.probeId, s);
        break;
      }
      case 'verdict': {
        this.slots.delete(ev.probeId);
        const started = this.startedAt.get(ev.probeId);
        if (started) this.durations.push(t - started);
        this.candidatesLeft = ev.candidatesLeft;
        this.top = ev.topProbability;
        this.suspects = ev.suspects;
        this.last = ev.message.split('\n').slice(-1)[0] ?? '';
        break;
      }
      case 'probe-cancelled':
        this.slots.delete(ev.probeId);
        break;
      case 'log':
        this.last = ev.message;
        break;
      case 'finished':
        this.slots.clear();
        this.finished = ev.message;
        break;
      default:
        break;
    }
  }

  /** The screen, as lines. */
  render(now = Date.now()): string[] {
    const w = Math.max(40, this.width);
    const barWidth = Math.max(10, Math.min(50, w - 40));
    const filled = Math.round(this.top * barWidth);
    const elapsed = now - Number(this.job.createdMs);
    const k = Math.max(1, this.slots.size || this.job.slotsAtStart);
    const mean = this.durations.length ? this.durations.reduce((a, b) => a + b, 0) / this.durations.length : 0;
    const left = this.finished ? 'done' : mean ? `~${formatDuration(estimate(this.candidatesLeft, k).rounds * mean)} left` : 'estimating';
    const lines = [
      `job ${this.job.id}  ${this.candidatesLeft} of ${this.job.candidatesTotal} candidates left  elapsed ${formatDuration(elapsed)}  ${left}`,
      `culprit mass [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${this.top.toFixed(3)}`,
      'slots:',
    ];
    const slots = [...this.slots.values()].sort((a, b) => a.agent.localeCompare(b.agent));
    if (slots.length === 0) lines.push('  (none busy)');
    for (const s of slots) lines.push(`  ${s.agent.padEnd(12)} ${short(s.commit)}  ${s.phase}${s.run ? ` run ${s.run} of ${s.runs || '?'}` : ''}`);
    lines.push('top suspects:');
    if (this.suspects.length === 0) lines.push('  (no verdict yet)');
    for (const s of this.suspects.slice(0, 5)) lines.push(`  ${short(s.hash)}  p=${s.probability.toFixed(3)}`);
    if (this.last) lines.push(`last: ${this.last}`);
    if (this.finished) lines.push(...this.finished.split('\n'));
    return lines.map((l) => (l.length > w ? l.slice(0, w - 1) + '…' : l));
  }

  /** The escape sequence that replaces the previous frame with this one. */
  frame(now = Date.now()): string {
    const lines = this.render(now);
    const up = this.linesDrawn > 0 ? `\x1b[${this.linesDrawn}A\r` : '';
    this.linesDrawn = lines.length;
    return `${up}\x1b[J${lines.join('\n')}\n`;
  }
}
