/** The crash report in a stored console log, for the job's result. */
import { parse } from '../shared/report/index.js';
import type { Store } from '../shared/nats.js';

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
