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
import { freePort, REPO_ROOT, startProc, type Proc } from './farm.js';

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
 * client certificates from the lab CA mapped to users (nats-auth.conf), JetStream. With
 * `jwtAuth` (a directory inside lab.dir written by `multisect nats-auth init`): NATS JWT
 * authentication instead, client certificates still required by TLS.
 */
export async function startSecureNats(lab: LabCerts, options: { jwtAuth?: string } = {}): Promise<SecureNats> {
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
  const { relative } = await import('node:path');
  const { readFile } = await import('node:fs/promises');
  const auth = options.jwtAuth ? `include ${relative(lab.dir, join(options.jwtAuth, 'nats-jwt-auth.conf'))}` : 'include nats-auth.conf';
  const verify = options.jwtAuth ? 'verify: true' : 'verify_and_map: true';
  await writeFile(
    conf,
    `listen: 127.0.0.1:${port}
${auth}
tls { cert_file: "${lab.nats.cert}", key_file: "${lab.nats.key}", ca_file: "${lab.ca}", ${verify}, timeout: 2 }
jetstream { store_dir: "${store}" }
`,
  );
  let credentials: { jwt: string; seed: Uint8Array } | undefined;
  if (options.jwtAuth) {
    const { NatsCredentials } = await import('../../coordinator/nats-credentials.js');
    const seed = await readFile(join(options.jwtAuth, 'account.seed'), 'utf8');
    credentials = new NatsCredentials(seed, (await import('../../shared/nats.js')).DEFAULT_STORE_NAMES, 60_000).forCoordinator('probe');
  }
  const proc = spawn('nats-server', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  registerChild(proc);
  let log = '';
  proc.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-8000)));
  const url = `tls://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const nc = await connectNats({ servers: [url], name: 'probe', attempts: 1, tls: lab.coordinator, ...(credentials ? { credentials } : {}) });
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

export interface SecureFarm {
  address: string;
  stateDir: string;
  coordinator: Proc;
  /** The agent `agentId` (undefined once the test stopped it). */
  agent: Proc | undefined;
  /** The environment that gives the CLI the operator `alice`'s certificate. */
  operatorEnv: NodeJS.ProcessEnv;
  dispose(): Promise<void>;
}

export const tlsFlags = (f: TlsFiles): string[] => ['--tls-ca', f.ca, '--tls-cert', f.cert, '--tls-key', f.key];

/**
 * A coordinator and one agent as a lab runs them (mutual TLS, processes), on `nats`. The agent's
 * id comes from its certificate (no --id). `natsAccountSeedFile`: NATS JWT authentication.
 */
export async function startSecureFarm(lab: LabCerts, nats: SecureNats, options: { agentId: string; operator: string; natsAccountSeedFile?: string }): Promise<SecureFarm> {
  const stateDir = await mkdtemp(join(tmpdir(), 'multisect-sec-'));
  const address = `127.0.0.1:${await freePort()}`;
  const seed = options.natsAccountSeedFile ? ['--nats-account-seed', options.natsAccountSeedFile] : [];
  const coordinator = startProc(['coordinator', ...tlsFlags(lab.coordinator), '--listen', address, '--nats', nats.url, ...seed, '--state-dir', join(stateDir, 'c'), '--lease', '5']);
  const farm: SecureFarm = {
    address,
    stateDir,
    coordinator,
    agent: undefined,
    operatorEnv: (() => {
      const o = lab.operator(options.operator);
      return { MULTISECT_TLS_CA: o.ca, MULTISECT_TLS_CERT: o.cert, MULTISECT_TLS_KEY: o.key };
    })(),
    dispose: async () => {
      await farm.agent?.kill('SIGKILL');
      await coordinator.kill('SIGKILL');
      await rm(stateDir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + 30_000;
  while (!/coordinator serving/.test(coordinator.output())) {
    if (coordinator.child.exitCode !== null || Date.now() > deadline) {
      await farm.dispose();
      throw new Error(`coordinator did not start:\n${coordinator.output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  farm.agent = startProc(['agent', ...tlsFlags(lab.agent(options.agentId)), '--coordinator', address, '--state-dir', join(stateDir, 'a'), '--drain', '0']);
  return farm;
}
