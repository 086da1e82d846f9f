/**
 * Following a job on the operator's screen: the live view on a terminal, one line per event
 * otherwise, one JSON object per line with --json. Used by `watch` and by `bisect` while it waits.
 */
import type { Writable } from 'node:stream';
import { JobEvent, type Job } from '../shared/proto.js';
import { followJob, withClient } from './actions/jobs.js';
import { eventLine } from './render.js';
import { LiveView } from './watch-view.js';

export type FollowMode = 'live' | 'lines' | 'json' | 'quiet';

export function followMode(out: Writable & { isTTY?: boolean }, json: boolean): FollowMode {
  if (json) return 'json';
  return out.isTTY && process.env.TERM !== 'dumb' ? 'live' : 'lines';
}

export async function followOnScreen(coordinator: string, jobId: string, mode: FollowMode, out: Writable & { columns?: number }): Promise<Job> {
  if (mode === 'live') {
    const job = await withClient(coordinator, (c) => c.getJob(jobId));
    const view = new LiveView(job, out.columns ?? 100);
    let dirty = true;
    const draw = () => {
      out.write(view.frame());
      dirty = false;
    };
    // Redraw at most 10 times a second, and every second for the clock.
    const timer = setInterval(() => dirty && draw(), 100);
    const clock = setInterval(() => (dirty = true), 1000);
    try {
      const final = await followJob(coordinator, jobId, (ev) => {
        view.update(ev);
        dirty = true;
      });
      draw();
      return final;
    } finally {
      clearInterval(timer);
      clearInterval(clock);
    }
  }
  return followJob(coordinator, jobId, (ev) => {
    if (mode === 'json') out.write(`${JSON.stringify(JobEvent.toJSON(ev))}\n`);
    else if (mode === 'lines' && ev.kind !== 'probe-progress') out.write(`${eventLine(ev)}\n`);
  });
}
