/**
 * The coordinator as the issuer of NATS credentials (NATS JWT authentication). It holds the
 * seed of the farm's NATS account and mints user JWTs for the keys agents send at Register:
 * one per agent for its logs, and one per assignment for that probe's verdict subject. NATS then
 * refuses an agent's verdict for a job it was not given — the server enforces what the
 * coordinator decided, without a call to the server (it checks signatures offline).
 */
import { createUserKey, isUserKey, keyPairFromSeed, seedOf, userJwt, type KeyPair } from '../shared/nats-jwt.js';
import { agentPermissions, coordinatorPermissions, inboxPrefixFor, verdictPermissions } from '../shared/nats-permissions.js';
import type { StoreNames } from '../shared/nats.js';
import { InvalidOptionError } from '../shared/errors.js';

export class NatsCredentials {
  private readonly account: KeyPair;

  /**
   * @param accountSeed the account's nkey seed (SA…), from `multisect nats-auth init`
   * @param verdictTtlMs how long an assignment's credential stays valid: longer than any probe
   *   (a verdict kept in an agent's outbox past it is stale anyway: the probe was re-run)
   */
  constructor(
    accountSeed: string,
    private readonly names: StoreNames,
    private readonly verdictTtlMs: number,
  ) {
    this.account = keyPairFromSeed(accountSeed, 'natsAccountSeed');
    if (!this.account.getPublicKey().startsWith('A')) throw new InvalidOptionError('natsAccountSeed', 'is not an account seed (SA…): use account.seed from `multisect nats-auth init`');
  }

  get accountKey(): string {
    return this.account.getPublicKey();
  }

  /** The coordinator's own connection: a fresh key each start, every right in the account. */
  forCoordinator(instance: string): { jwt: string; seed: Uint8Array } {
    const key = createUserKey();
    const jwt = userJwt(this.account, { userKey: key.getPublicKey(), name: `coordinator ${instance}`, permissions: coordinatorPermissions() });
    return { jwt, seed: new TextEncoder().encode(seedOf(key)) };
  }

  /**
   * An agent's own connection: logs only. No expiry: it is re-minted at every Register, and
   * grants nothing an agent could misuse against a job (rotate the account to revoke).
   */
  forAgent(agentId: string, userKey: string): string {
    this.checkKey(userKey);
    return userJwt(this.account, { userKey, name: `agent ${agentId}`, permissions: agentPermissions(this.names, inboxPrefixFor(userKey)) });
  }

  /** The credential sent with an assignment: this probe's verdict only, for a bounded time. */
  forVerdicts(agentId: string, userKey: string, jobId: string, probeId: string): string {
    this.checkKey(userKey);
    return userJwt(this.account, {
      userKey,
      name: `agent ${agentId} probe ${probeId}`,
      permissions: verdictPermissions(this.names, jobId, probeId, inboxPrefixFor(userKey)),
      ttlSeconds: Math.ceil(this.verdictTtlMs / 1000),
    });
  }

  private checkKey(userKey: string): void {
    if (!isUserKey(userKey)) {
      throw new InvalidOptionError('nats_user_key', 'this farm uses NATS JWT authentication: the agent must send its NATS user key (an nkey, U…) at Register; upgrade the agent');
    }
  }
}
