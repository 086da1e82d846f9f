/**
 * NATS JWTs minted without nsc (shared/nats-jwt.ts) and what the coordinator grants with them
 * (coordinator/nats-credentials.ts): the format nats-server checks, and the permissions of each
 * credential. That the server accepts and enforces them is shown by
 * test/integration/verdict-credentials.test.ts and test/e2e/security-jwt.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { nkeys } from 'nats';
import { NatsCredentials } from '../../../coordinator/nats-credentials.js';
import { accountJwt, createAccountKey, createOperatorKey, createUserKey, credsFile, decodeJwt, seedOf, userJwt } from '../../../shared/nats-jwt.js';
import { agentPermissions, readerPermissions, verdictPermissions } from '../../../shared/nats-permissions.js';
import { DEFAULT_STORE_NAMES, storeNamesFor } from '../../../shared/nats.js';

const DAY = 24 * 3600_000;

function verifies(jwt: string): boolean {
  const [head, body, sig] = jwt.split('.');
  const issuer = decodeJwt(jwt).iss;
  return nkeys.fromPublic(issuer).verify(new TextEncoder().encode(`${head}.${body}`), Buffer.from(sig!, 'base64url'));
}

describe('NATS JWTs', () => {
  it('are signed by their issuer, with the header and id the Go library writes', () => {
    const op = createOperatorKey();
    const acc = createAccountKey();
    const jwt = accountJwt(op, acc, 'multisect', { jetstream: true });
    assert.ok(verifies(jwt));
    const [head] = jwt.split('.');
    assert.deepEqual(JSON.parse(Buffer.from(head!, 'base64url').toString()), { typ: 'JWT', alg: 'ed25519-nkey' });
    const claims = decodeJwt(jwt);
    assert.equal(claims.iss, op.getPublicKey());
    assert.equal(claims.sub, acc.getPublicKey());
    const limits = (claims.nats as { limits: Record<string, unknown> }).limits;
    assert.equal(limits.disk_storage, -1, 'JetStream enabled');
    // jti = base32(sha512/256(claims with an empty jti)).
    const digest = createHash('sha512-256').update(JSON.stringify({ ...claims, jti: '' })).digest();
    assert.equal(claims.jti?.length, Math.ceil((digest.length * 8) / 5));
  });

  it('a user JWT names its key, its permissions and, when asked, its expiry', () => {
    const acc = createAccountKey();
    const user = createUserKey();
    const jwt = userJwt(acc, { userKey: user.getPublicKey(), name: 'x', permissions: { pub: { allow: ['a.b'] }, sub: { allow: ['_INBOX.>'] } }, ttlSeconds: 60 });
    assert.ok(verifies(jwt));
    const c = decodeJwt(jwt);
    assert.equal(c.sub, user.getPublicKey());
    assert.equal(c.exp! - c.iat, 60);
    assert.deepEqual((c.nats as { pub: unknown }).pub, { allow: ['a.b'] });
    assert.throws(() => userJwt(acc, { userKey: acc.getPublicKey(), name: 'x', permissions: { pub: {}, sub: {} } }), /userKey: not a NATS user public key/);
    assert.match(credsFile(jwt, seedOf(user)), /BEGIN NATS USER JWT-----\n.+\n------END NATS USER JWT[\s\S]+BEGIN USER NKEY SEED-----\nSU/);
  });
});

describe('the credentials the coordinator mints', () => {
  const account = createAccountKey();
  const creds = new NatsCredentials(seedOf(account), DEFAULT_STORE_NAMES, 7 * DAY);
  const agentKey = createUserKey().getPublicKey();

  it('an assignment credential publishes on its job only, and lapses', () => {
    const c = decodeJwt(creds.forVerdicts('agent-1', agentKey, 'j42', 'j42-b-1'));
    assert.equal(c.iss, account.getPublicKey());
    assert.equal(c.sub, agentKey);
    assert.deepEqual((c.nats as { pub: unknown }).pub, { allow: ['multisect.verdict.j42.j42-b-1'] });
    assert.deepEqual((c.nats as { sub: unknown }).sub, { allow: [`_INBOX_${agentKey}.>`] }, 'its own inbox only');
    assert.equal(c.exp! - c.iat, 7 * 24 * 3600);
  });

  it("an agent's own credential may put logs but publish no verdict, job state or event", () => {
    const allow = agentPermissions(DEFAULT_STORE_NAMES, '_INBOX_x').pub.allow!;
    assert.ok(allow.includes('$O.logs.C.>'));
    for (const s of allow) assert.doesNotMatch(s, /verdict|\$KV|event|CREATE|DELETE|PURGE|^>$/, s);
    const c = decodeJwt(creds.forAgent('agent-1', agentKey));
    assert.equal(c.exp, undefined, 're-minted at every Register');
  });

  it('follows the namespace of the farm', () => {
    const names = storeNamesFor('t1');
    assert.deepEqual(verdictPermissions(names, 'j1', 'p1', '_INBOX_x').pub.allow, ['t1.verdict.j1.p1']);
    assert.ok(readerPermissions(names, '_INBOX_r').pub.allow!.includes('$JS.API.STREAM.INFO.t1_EVENTS'));
  });

  it('refuses an agent without a key, and a seed that is not an account', () => {
    assert.throws(() => creds.forAgent('agent-1', ''), /nats_user_key: this farm uses NATS JWT authentication/);
    assert.throws(() => new NatsCredentials(seedOf(createUserKey()), DEFAULT_STORE_NAMES, DAY), /natsAccountSeed: is not an account seed/);
    assert.throws(() => new NatsCredentials('hello', DEFAULT_STORE_NAMES, DAY), /natsAccountSeed: does not hold an nkey seed/);
  });
});
