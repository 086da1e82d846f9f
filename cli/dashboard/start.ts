/**
 * The action behind `multisect dashboard` (and the dashboard `multisect up` starts): an operator
 * client of the coordinator serving the pages over HTTP. Bound to loopback unless told
 * otherwise; any other address needs HTTPS (a certificate and key for the dashboard) and a
 * token, checked on every request.
 */
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { InvalidOptionError } from '../../shared/errors.js';
import type { Security } from '../../shared/tls.js';
import { OperatorClient } from '../client.js';
import { dashboardHandler } from './server.js';

export const DEFAULT_DASHBOARD_LISTEN = '127.0.0.1:7480';

export interface DashboardOptions {
  coordinator: string;
  listen: string;
  /** How to reach the coordinator (the operator's certificate with mTLS). Default: the CLI's. */
  security?: Security;
  /** HTTPS for the pages: certificate and key files (PEM). */
  httpsCert?: string;
  httpsKey?: string;
  /** Needed on every request when set (required off loopback). */
  token?: string;
  logger: Logger;
}

export interface Dashboard {
  url: string;
  close(): Promise<void>;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen.trim());
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidOptionError('--listen', `expected HOST:PORT, got ${JSON.stringify(listen)}`, { hint: `for example ${DEFAULT_DASHBOARD_LISTEN}` });
  }
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const { host, port } = parseListen(o.listen);
  const https = Boolean(o.httpsCert || o.httpsKey);
  if (https && !(o.httpsCert && o.httpsKey)) throw new InvalidOptionError('--https-cert', 'needs --https-key too (and the other way round)');
  if (o.token !== undefined && o.token.length < 16) throw new InvalidOptionError('--token', 'is too short: use at least 16 characters', { hint: 'for example: openssl rand -hex 24' });
  if (!isLoopback(host) && !(https && o.token)) {
    throw new InvalidOptionError('--listen', `${o.listen} is not a loopback address: the dashboard then needs HTTPS and a token`, {
      hint: 'pass --https-cert FILE --https-key FILE and --token TOKEN (or MULTISECT_DASHBOARD_TOKEN), or listen on 127.0.0.1',
    });
  }
  const read = async (flag: string, file: string) => {
    try {
      return await readFile(file);
    } catch (err) {
      throw new InvalidOptionError(flag, `cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
  };
  const tls = https ? { cert: await read('--https-cert', o.httpsCert!), key: await read('--https-key', o.httpsKey!) } : undefined;
  const client = await OperatorClient.connect(o.coordinator, 5000, o.security);
  const logger = o.logger.child({ component: 'dashboard' });
  const handler = dashboardHandler(client, { token: o.token, logger });
  const server: Server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  } catch (err) {
    client.close();
    throw new InvalidOptionError('--listen', `cannot listen on ${o.listen}: ${(err as Error).message}`, { cause: err, hint: 'is another dashboard running there? pick another port' });
  }
  const addr = server.address() as AddressInfo;
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `${tls ? 'https' : 'http'}://${shown}:${addr.port}/`;
  logger.info({ url, coordinator: client.address }, 'dashboard serving');
  return {
    url,
    close: async () => {
      handler.close();
      client.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
