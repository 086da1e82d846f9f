/**
 * TLS material and peer identities.
 *
 * A lab has one CA (deploy/tls/make-lab-certs). Every certificate it issues names its holder in
 * the subject: CN = the id (agent id, operator name, "coordinator"), OU = the role. The
 * coordinator trusts nothing else: an agent's id is read from its certificate, never from what
 * it says, and a certificate of the wrong role is refused on the service it is not meant for.
 *
 * `Security` is what every process is given: TLS files, or an explicit `insecure` (plaintext,
 * for `multisect up` on loopback). There is deliberately no default: a caller has to choose.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { PeerCertificate } from 'node:tls';
import { InvalidOptionError, MultisectError } from './errors.js';

/** PEM files of one process. */
export interface TlsFiles {
  /** The lab's CA certificate: peers must present a certificate it signed. */
  ca: string;
  /** This process's certificate (PEM, may hold the chain). */
  cert: string;
  /** Its private key (PEM). */
  key: string;
}

/** TLS files, or an explicit choice of plaintext. */
export type Security = { kind: 'tls'; files: TlsFiles } | { kind: 'insecure' };

/** The PEM bytes of TlsFiles, read once at start. */
export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  files: TlsFiles;
}

export type PeerRole = 'coordinator' | 'agent' | 'operator';
export const PEER_ROLES: readonly PeerRole[] = ['coordinator', 'agent', 'operator'];

/** Who is at the other end of a TLS connection, as its (CA-verified) certificate says. */
export interface PeerIdentity {
  /** CN, or the first DNS name of the SAN when there is no CN. */
  id: string;
  /** OU of the subject. */
  role: PeerRole | undefined;
  /** DNS names of the SAN. */
  dnsNames: string[];
}

/** The peer presented no (valid) certificate where one is required. */
export class UnauthenticatedError extends MultisectError {
  readonly code = 'UNAUTHENTICATED' as const;
}

/** TLS files are missing, unreadable or inconsistent. */
export class TlsConfigError extends MultisectError {
  readonly code = 'INVALID_ARGUMENT' as const;
}

/**
 * Build a Security from the three flags and --insecure. `who` names the process in the error
 * (it tells which flags are missing, so the operator can fix the unit file or command line).
 */
export function compileSecurity(
  who: string,
  input: { ca?: string; cert?: string; key?: string; insecure?: boolean },
  opts: { allowNone?: boolean } = {},
): Security {
  const given = { '--tls-ca': input.ca, '--tls-cert': input.cert, '--tls-key': input.key };
  const present = Object.entries(given).filter(([, v]) => v);
  if (input.insecure) {
    if (present.length > 0) {
      throw new InvalidOptionError('--insecure', `cannot be combined with ${present.map(([k]) => k).join(', ')}`, {
        hint: 'choose either mutual TLS (all three --tls-* files) or --insecure',
      });
    }
    return { kind: 'insecure' };
  }
  if (present.length === 3) return { kind: 'tls', files: { ca: input.ca!, cert: input.cert!, key: input.key! } };
  if (present.length === 0 && opts.allowNone) return { kind: 'insecure' };
  const missing = Object.entries(given)
    .filter(([, v]) => !v)
    .map(([k]) => k);
  throw new TlsConfigError(
    present.length === 0
      ? `${who} needs TLS files or an explicit --insecure: missing ${missing.join(', ')} (or MULTISECT_TLS_CA, MULTISECT_TLS_CERT, MULTISECT_TLS_KEY)`
      : `${who}: TLS needs all of --tls-ca, --tls-cert and --tls-key; missing ${missing.join(', ')}`,
    { hint: 'create a lab CA and certificates with deploy/tls/make-lab-certs; use --insecure only on a trusted loopback (what `multisect up` does)' },
  );
}

/** Read the PEM files, naming the one that cannot be read. */
export function loadTls(files: TlsFiles): TlsMaterial {
  const read = (flag: string, path: string): Buffer => {
    try {
      const b = readFileSync(path);
      if (!b.includes('-----BEGIN ')) throw new Error('not a PEM file');
      return b;
    } catch (err) {
      throw new TlsConfigError(`${flag}: cannot read ${path}: ${(err as Error).message}`, { cause: err });
    }
  };
  return { ca: read('--tls-ca', files.ca), cert: read('--tls-cert', files.cert), key: read('--tls-key', files.key), files };
}

/** The identity in a verified peer certificate (undefined for no certificate). */
export function identityOf(cert: PeerCertificate | undefined): PeerIdentity | undefined {
  if (!cert || !cert.subject) return undefined;
  const dnsNames = (cert.subjectaltname ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
  const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
  const id = first(cert.subject.CN) ?? dnsNames[0];
  if (!id) return undefined;
  const ou = first(cert.subject.OU);
  const role = PEER_ROLES.find((r) => r === ou);
  return { id, role, dnsNames };
}

/** The identity in one of our own certificate files (an agent defaults its id to it). */
export function ownIdentity(certFile: string): PeerIdentity | undefined {
  const pem = readFileSync(certFile);
  const x = new X509Certificate(pem);
  const subject: Record<string, string> = {};
  for (const line of x.subject.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) subject[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return identityOf({ subject, subjectaltname: x.subjectAltName ?? '' } as unknown as PeerCertificate);
}
