/**
 * NATS decentralized authentication (operator / account / user JWTs), minted here rather than
 * with `nsc`: Debian has no nsc, and the coordinator must mint user credentials at run time.
 *
 * Why: with static users in nats-server.conf, permissions are fixed per role; the server can
 * not know which jobs an agent works on. In JWT mode the coordinator holds the account's
 * signing seed and gives every agent, with every assignment, a user JWT that may publish on
 * that one probe's verdict subject and nothing else — so NATS itself refuses a verdict for a job
 * the agent was not given. The server checks the signatures offline (resolver MEMORY), so no
 * call to the server is needed to mint a credential.
 *
 * Format: the JWT v2 claims nats-server 2.9 reads (github.com/nats-io/jwt/v2); header
 * {"typ":"JWT","alg":"ed25519-nkey"}, signature = ed25519 over "header.payload" by the issuer's
 * nkey, base64url without padding.
 */
import { createHash } from 'node:crypto';
import { nkeys } from 'nats';
import { InvalidOptionError } from './errors.js';

export type KeyPair = ReturnType<typeof nkeys.createUser>;

export interface Permission {
  allow?: string[];
  deny?: string[];
}

export interface UserPermissions {
  pub: Permission;
  sub: Permission;
}

const enc = new TextEncoder();
const b64url = (b: Uint8Array | string) => Buffer.from(typeof b === 'string' ? enc.encode(b) : b).toString('base64url');

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** RFC 4648 base32 without padding: how the Go library writes a JWT id. */
function base32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

interface Claims {
  jti?: string;
  iat: number;
  iss: string;
  sub: string;
  name: string;
  exp?: number;
  nats: Record<string, unknown>;
}

function sign(claims: Claims, issuer: KeyPair): string {
  // The id is the hash of the claims without it (as the Go library does).
  const c: Claims = { ...claims, jti: '' };
  c.jti = base32(createHash('sha512-256').update(JSON.stringify(c)).digest());
  const head = b64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
  const body = b64url(JSON.stringify(c));
  const sig = issuer.sign(enc.encode(`${head}.${body}`));
  return `${head}.${body}.${b64url(sig)}`;
}

/** The claims of a JWT (no signature check: the server does that). */
export function decodeJwt(jwt: string): Claims {
  const body = jwt.split('.')[1];
  if (!body) throw new InvalidOptionError('jwt', `not a JWT: ${jwt.slice(0, 20)}…`);
  return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Claims;
}

const now = () => Math.floor(Date.now() / 1000);

export function operatorJwt(operator: KeyPair, name: string, systemAccount: string): string {
  const pub = operator.getPublicKey();
  return sign({ iat: now(), iss: pub, sub: pub, name, nats: { type: 'operator', version: 2, system_account: systemAccount } }, operator);
}

/** An account; `jetstream` gives it unlimited JetStream (the multisect account needs it). */
export function accountJwt(operator: KeyPair, account: KeyPair, name: string, options: { jetstream: boolean }): string {
  const limits: Record<string, unknown> = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
  if (options.jetstream) Object.assign(limits, { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 });
  return sign(
    { iat: now(), iss: operator.getPublicKey(), sub: account.getPublicKey(), name, nats: { limits, default_permissions: { pub: {}, sub: {} }, type: 'account', version: 2 } },
    operator,
  );
}

export interface UserJwtOptions {
  /** The user's public nkey (U…): whoever holds its seed can connect with the JWT. */
  userKey: string;
  name: string;
  permissions: UserPermissions;
  /** Seconds from now until the credential lapses; undefined = never. */
  ttlSeconds?: number;
}

/** A user of `account`, signed with the account's seed. */
export function userJwt(account: KeyPair, options: UserJwtOptions): string {
  if (!isUserKey(options.userKey)) throw new InvalidOptionError('userKey', `not a NATS user public key: "${options.userKey.slice(0, 20)}" (expected U… from an nkey)`);
  const iat = now();
  return sign(
    {
      iat,
      iss: account.getPublicKey(),
      sub: options.userKey,
      name: options.name,
      ...(options.ttlSeconds !== undefined ? { exp: iat + options.ttlSeconds } : {}),
      nats: { pub: options.permissions.pub, sub: options.permissions.sub, subs: -1, data: -1, payload: -1, type: 'user', version: 2 },
    },
    account,
  );
}

export function isUserKey(key: string): boolean {
  try {
    return key.startsWith('U') && nkeys.fromPublic(key).getPublicKey() === key;
  } catch {
    return false;
  }
}

/** Read an nkey seed (S…), as written by `multisect nats-auth init`, naming the file when bad. */
export function keyPairFromSeed(seed: string, where: string): KeyPair {
  try {
    return nkeys.fromSeed(enc.encode(seed.trim()));
  } catch (err) {
    throw new InvalidOptionError(where, `does not hold an nkey seed (S…): ${(err as Error).message}`, { cause: err });
  }
}

/** The standard .creds file (what `nats --creds` and nats.js's credsAuthenticator read). */
export function credsFile(jwt: string, seed: string): string {
  return `-----BEGIN NATS USER JWT-----
${jwt}
------END NATS USER JWT------

************************* IMPORTANT *************************
NKEY Seed printed below can be used to sign and prove identity.
NKEYs are sensitive and should be treated as secrets.

-----BEGIN USER NKEY SEED-----
${seed}
------END USER NKEY SEED------

*************************************************************
`;
}

export const createUserKey = (): KeyPair => nkeys.createUser();
export const createAccountKey = (): KeyPair => nkeys.createAccount();
export const createOperatorKey = (): KeyPair => nkeys.createOperator();
export const seedOf = (k: KeyPair): string => new TextDecoder().decode(k.getSeed());
