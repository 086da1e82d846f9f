/**
 * Server-sent events of a job page: after every change of the job's watch, the page's live
 * sections rendered again (`event: update`, a JSON object of HTML by element id); `event: end`
 * once the job has ended. A comment every 15 s keeps proxies from closing the stream.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JobWatch } from './job-watch.js';
import { jobData, jobFragments } from './pages.js';
import type { CandidateRange } from './range.js';

export function serveJobEvents(req: IncomingMessage, res: ServerResponse, watch: JobWatch, range: () => Promise<CandidateRange | string>): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write('retry: 2000\n\n');
  let sent = -1;
  let busy = false;
  let closed = false;
  const send = async () => {
    if (busy || closed || watch.version === sent) return;
    busy = true;
    try {
      const version = watch.version;
      const d = jobData(watch, await range());
      if (closed) return;
      res.write(`event: update\ndata: ${JSON.stringify(jobFragments(d))}\n\n`);
      sent = version;
      if (watch.ended) {
        res.write('event: end\ndata: {}\n\n');
        finish();
      }
    } finally {
      busy = false;
    }
    // A change while rendering: send that too.
    if (watch.version !== sent && !closed) void send();
  };
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  const unsubscribe = watch.subscribe(() => void send());
  const finish = () => {
    if (closed) return;
    closed = true;
    clearInterval(keepAlive);
    unsubscribe();
    res.end();
  };
  req.on('close', finish);
  void send();
}
