/**
 * Lab TLS material for tests, made by the real deploy/tls/make-lab-certs (openssl) in a
 * temporary directory: the lab CA, a coordinator certificate for 127.0.0.1, agent and operator
 * certificates, a NATS server certificate and nats-auth.conf.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TlsFiles } from '../../shared/tls.js';
import { REPO_ROOT } from './farm.js';

const run = promisify(execFile);

export interface LabCerts {
  dir: string;
  ca: string;
  coordinator: TlsFiles;
  agent(id: string): TlsFiles;
  operator(name: string): TlsFiles;
  nats: { cert: string; key: string };
  /** nats-auth.conf: role permissions and one user per certificate. */
  natsAuth: string;
  dispose(): Promise<void>;
}

export async function makeLabCerts(options: { agents: string[]; operators?: string[]; org?: string }): Promise<LabCerts> {
  const dir = await mkdtemp(join(tmpdir(), 'multisect-certs-'));
  const args = ['--out', dir, '--coordinator', '127.0.0.1', '--nats', '127.0.0.1', '--days', '30'];
  if (options.org) args.push('--org', options.org);
  for (const a of options.agents) args.push('--agent', a);
  for (const o of options.operators ?? []) args.push('--operator', o);
  await run(join(REPO_ROOT, 'deploy/tls/make-lab-certs'), args);
  const ca = join(dir, 'ca.crt');
  return {
    dir,
    ca,
    coordinator: { ca, cert: join(dir, 'coordinator.crt'), key: join(dir, 'coordinator.key') },
    agent: (id) => ({ ca, cert: join(dir, 'agents', `${id}.crt`), key: join(dir, 'agents', `${id}.key`) }),
    operator: (name) => ({ ca, cert: join(dir, 'operators', `${name}.crt`), key: join(dir, 'operators', `${name}.key`) }),
    nats: { cert: join(dir, 'nats', '127.0.0.1.crt'), key: join(dir, 'nats', '127.0.0.1.key') },
    natsAuth: join(dir, 'nats-auth.conf'),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
