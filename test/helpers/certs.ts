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

export interface SecureNats {
  url: string;
  dispose(): Promise<void>;
}

/**
 * A nats-server configured as in a lab (deploy/nats/nats-server.conf, one server): TLS with
 * client certificates from the lab CA mapped to users (nats-auth.conf), JetStream.
 */
export async function startSecureNats(lab: LabCerts): Promise<SecureNats> {
  const { spawn } = await import('node:child_process');
  const { writeFile, mkdir } = await import('node:fs/promises');
  const { registerChild } = await import('./processes.js');
  const { freePort } = await import('./farm.js');
  const { connectNats } = await import('../../shared/nats.js');
  const port = await freePort();
  const store = join(lab.dir, 'js');
  await mkdir(store, { recursive: true });
  const conf = join(lab.dir, 'nats-server.conf');
  // Includes are relative to the configuration file: nats-auth.conf sits next to it.
  await writeFile(
    conf,
    `listen: 127.0.0.1:${port}
include nats-auth.conf
tls { cert_file: "${lab.nats.cert}", key_file: "${lab.nats.key}", ca_file: "${lab.ca}", verify_and_map: true, timeout: 2 }
jetstream { store_dir: "${store}" }
`,
  );
  const proc = spawn('nats-server', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  registerChild(proc);
  let log = '';
  proc.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-8000)));
  const url = `tls://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const nc = await connectNats({ servers: [url], name: 'probe', attempts: 1, tls: lab.coordinator });
      await (await nc.jetstreamManager()).getAccountInfo();
      await nc.close();
      break;
    } catch (err) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`secure nats-server did not start: ${(err as Error).message}\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    dispose: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const done = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGKILL');
        await done;
      }
    },
  };
}
