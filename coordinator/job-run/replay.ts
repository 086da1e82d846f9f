/**
 * Carrying out the commands a JobRun answers itself through the Repo port (the range, the
 * culprit's facts, the crash report), and replay after a restart: the stored verdicts go through
 * `JobRun.apply` one by one, exactly as they did live, so every decision (a verification round
 * started, a clean release found) happens again at the same point and in the same order.
 * No I/O of its own: the ports are passed in.
 */
import type { Verdict } from '../../shared/proto.js';
import type { Repo } from '../repo.js';
import type { JobRun } from './job-run.js';
import type { AgentView, Command, RunEvent } from './types.js';

export interface RunPorts {
  repo: Pick<Repo, 'loadRange' | 'culpritFacts'>;
  crashReport(logKey: string): Promise<string>;
  now(): number;
}

/** What the run asks the ports, as the event that answers it. */
export async function answer(run: JobRun, c: Command, ports: RunPorts): Promise<RunEvent | undefined> {
  switch (c.type) {
    case 'resolve-range':
      try {
        return { type: 'range-resolved', range: await ports.repo.loadRange(c.bad, c.goods, { firstParent: c.firstParent }) };
      } catch (err) {
        return { type: 'range-failed', reason: (err as Error).message };
      }
    case 'load-commit-facts':
      try {
        return { type: 'commit-facts-loaded', facts: await ports.repo.culpritFacts(c.commit, run.takenVerdicts()) };
      } catch (err) {
        return { type: 'commit-facts-failed', reason: (err as Error).message };
      }
    case 'finish':
      return { type: 'crash-report-loaded', text: c.crashLogKey ? await ports.crashReport(c.crashLogKey).catch(() => '') : '' };
    default:
      return undefined;
  }
}

/**
 * Apply `commands`, answering the port ones (depth first, in order) and handing every other
 * command to `other` in the order the run produced it.
 */
export async function carryOut(run: JobRun, commands: readonly Command[], ports: RunPorts, other: (c: Command) => void): Promise<void> {
  for (const c of commands) {
    const reply = await answer(run, c, ports);
    if (reply) await carryOut(run, run.apply(reply, ports.now()), ports, other);
    else other(c);
  }
}

/**
 * The farm as a replay sees it. The agents able to run the job when a verdict first came in are
 * not in the stream, and after a restart none is connected yet: a boot failure is taken for the
 * commit's once two agents failed, as on any farm of two or more (a single-agent farm's boot
 * failures are held again and tested once more), and "infrastructure failure on every agent" is
 * judged live only.
 */
export const REPLAY_VIEW: AgentView = Object.freeze({ healthyAble: 2, able: [] });

/**
 * Replay a job's stored verdicts (stream order). What the run would have told the outside world
 * then (events, records, agent health) was told already: only the port commands are carried out.
 */
export async function replay(run: JobRun, verdicts: readonly Verdict[], ports: RunPorts): Promise<void> {
  for (const verdict of verdicts) await carryOut(run, run.apply({ type: 'verdict', verdict, agents: REPLAY_VIEW }, ports.now()), ports, () => undefined);
}
