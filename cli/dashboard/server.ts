/**
 * The dashboard's HTTP handler (node:http): routes, the token check, HTML or JSON. Every page is
 * read-only: GET and HEAD only.
 *
 *   /jobs[.json][?filter=active|ended]   /jobs/ID[.json]   /jobs/ID/events (server-sent events)
 *   /jobs/ID/log[?key=K]   /jobs/ID/probes/P/log   /agents[.json]   (?format=json works too)
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { describeError, MultisectError } from '../../shared/errors.js';
import type { OperatorClient } from '../client.js';
import { esc, page } from './html.js';
import { JobWatches } from './job-watch.js';
import { agentsData, agentsHtml, jobData, jobHtml, jobsData, jobsHtml, type JobsFilter } from './pages.js';
import { loadRange, type CandidateRange } from './range.js';
import { serveJobEvents } from './sse.js';

export const TOKEN_COOKIE = 'multisect_dashboard_token';

export interface Handler {
  (req: IncomingMessage, res: ServerResponse): void;
  close(): void;
}

export function dashboardHandler(client: OperatorClient, opts: { token?: string; logger: Logger }): Handler {
  const watches = new JobWatches(client, opts.logger);
  const ranges = new Map<string, { key: string; range: Promise<CandidateRange | string> }>();
  const digest = (s: string) => createHash('sha256').update(s).digest();
  const want = opts.token ? digest(opts.token) : undefined;

  /** The job's range, loaded once per set of good commits (a release walk finds its good one late). */
  const rangeOf = (watchJob: () => { id: string; repo: string; bad: string; goods: string[]; firstParent: boolean }) => () => {
    const j = watchJob();
    const key = `${j.bad} ${j.goods.join(' ')}`;
    let r = ranges.get(j.id);
    if (!r || r.key !== key) {
      r = { key, range: loadRange(j.repo, j.bad, j.goods, j.firstParent) };
      ranges.set(j.id, r);
      if (ranges.size > 100) ranges.delete(ranges.keys().next().value!);
    }
    return r.range;
  };

  const authorized = (req: IncomingMessage, url: URL, res: ServerResponse): boolean => {
    if (!want) return true;
    const cookie = /(?:^|;\s*)multisect_dashboard_token=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const query = url.searchParams.get('token') ?? undefined;
    const given = bearer ?? query ?? (cookie ? decodeURIComponent(cookie) : undefined);
    if (given !== undefined && timingSafeEqual(digest(given), want)) {
      // A link with ?token= logs the browser in: the cookie carries it to the other pages and the events.
      if (query !== undefined) res.setHeader('set-cookie', `${TOKEN_COOKIE}=${encodeURIComponent(query)}; Path=/; HttpOnly; Secure; SameSite=Strict`);
      return true;
    }
    return false;
  };

  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:" });
    res.end(body);
  };

  const route = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    let path = decodeURIComponent(url.pathname).replace(/\/+$/, '') || '/';
    let json = url.searchParams.get('format') === 'json' || /application\/json/.test(req.headers.accept ?? '');
    if (path.endsWith('.json')) {
      json = true;
      path = path.slice(0, -5);
    }
    const out = (data: unknown, html: () => string) => (json ? send(res, 200, 'application/json', JSON.stringify(data, null, 1)) : send(res, 200, 'text/html', html()));
    if (path === '/') {
      res.writeHead(302, { location: '/jobs' }).end();
      return;
    }
    if (path === '/jobs') {
      const f = url.searchParams.get('filter') ?? 'all';
      if (!['all', 'active', 'ended'].includes(f)) return send(res, 400, 'text/plain', 'filter: all, active or ended');
      const filter = f as JobsFilter;
      const rows = jobsData(await client.listJobs(filter === 'active'), filter);
      return out(rows, () => jobsHtml(rows, filter));
    }
    if (path === '/agents') {
      const rows = agentsData(await client.agents());
      return out(rows, () => agentsHtml(rows));
    }
    const m = /^\/jobs\/([^/]+)(?:\/(events|log|probes\/([^/]+)\/log))?$/.exec(path);
    if (!m) return send(res, 404, json ? 'application/json' : 'text/html', json ? '{"error":"not found"}' : page('not found', '<p>not found</p>'));
    const jobId = m[1]!;
    if (m[2] === 'log') return send(res, 200, 'text/plain', (await client.getLog(jobId, '', url.searchParams.get('key') ?? '')).text);
    if (m[3]) return send(res, 200, 'text/plain', (await client.getLog(jobId, m[3])).text);
    const watch = await watches.get(jobId);
    const range = rangeOf(() => ({ id: jobId, repo: watch.job.spec?.repo ?? '', bad: watch.job.badHash, goods: watch.job.goodHashes, firstParent: watch.job.spec?.policy?.firstParent ?? false }));
    if (m[2] === 'events') return serveJobEvents(req, res, watch, range);
    await watch.settled();
    const d = jobData(watch, await range());
    return out(d, () => jobHtml(d));
  };

  const handler = ((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end('read-only\n');
      return;
    }
    if (!authorized(req, url, res)) {
      res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer' }).end('a token is needed: open the dashboard with ?token=TOKEN once, or send Authorization: Bearer TOKEN\n');
      return;
    }
    route(req, res, url).catch((err: unknown) => {
      const notFound = err instanceof MultisectError && err.code === 'NOT_FOUND';
      const unavailable = err instanceof MultisectError && err.code === 'UNAVAILABLE';
      const status = notFound ? 404 : unavailable ? 502 : err instanceof MultisectError && err.code === 'INVALID_ARGUMENT' ? 400 : 500;
      if (status >= 500) opts.logger.warn({ url: url.pathname, err: describeError(err) }, 'request failed');
      if (res.headersSent) return void res.end();
      send(res, status, 'text/html', page('error', `<h2>${status}</h2><p>${esc(describeError(err))}</p>`));
    });
  }) as Handler;
  handler.close = () => watches.close();
  return handler;
}
