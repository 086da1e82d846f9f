/** Small facts read off verdicts: the representative crash, a release's outcome, a report's text. */
import { parse } from '../shared/report/index.js';
import type { Store } from '../shared/nats.js';
import { RunOutcome, type Verdict } from '../shared/proto.js';
import type { WalkOutcome } from './release-walk.js';
import { toEngineVerdict } from './verdicts.js';

/** The first crash that counts (matches the crash policy) on `commit` (or on any commit). */
export function crashOf(verdicts: readonly Verdict[], commit?: string): { title: string; logKey: string } | undefined {
  for (const v of verdicts) {
    if (commit && v.commit !== commit) continue;
    const r = v.runs.find((x) => x.outcome === RunOutcome.RUN_OUTCOME_CRASH && x.matches);
    if (r) return { title: r.title, logKey: r.logKey };
  }
  return undefined;
}

export function verdictOutcome(v: Verdict): WalkOutcome {
  const e = toEngineVerdict(v);
  if ('skipped' in e) return 'skipped';
  return e.crashes > 0 ? 'crashed' : 'clean';
}

/** The crash report in a stored console log: what the parser cuts out, else the log's tail. */
export async function crashReportText(store: Store, key: string): Promise<string> {
  if (!key) return '';
  try {
    const blob = await store.logs.getBlob(key);
    if (!blob) return '';
    const report = parse(blob);
    if (report?.report) return report.report;
    return new TextDecoder().decode(blob).trimEnd().split('\n').slice(-40).join('\n');
  } catch {
    return '';
  }
}
