/** The part both demos share: submit a job, show its probes and verdicts, print its log and result. */
import { followJob, submitJob, withClient } from '../../cli/actions/jobs.js';
import { eventLine, jobText } from '../../cli/render.js';
import type { Job, JobSpec } from '../../shared/proto.js';

export async function runDemoJob(listen: string, spec: JobSpec, agents: number, say: (line: string) => void): Promise<{ final: Job; wallS: number }> {
  const job = await submitJob(listen, spec);
  say(`   job ${job.id}: ${job.candidatesTotal} candidates, ${agents} agents`);
  const started = Date.now();
  const final = await followJob(listen, job.id, (ev) => {
    if (ev.kind === 'verdict' || ev.kind === 'probe-started') say(`   ${eventLine(ev)}`);
  });
  const log = await withClient(listen, (c) => c.getLog(job.id));
  say('\n== the bisection log');
  say(log.text);
  say('== the result');
  say(jobText(final));
  return { final, wallS: (Date.now() - started) / 1000 };
}
