/**
 * How a verdict reaches JetStream. With NATS JWT authentication it goes with the credential of
 * its assignment, on a short connection of its own: NATS accepts it only on that probe's verdict
 * subject, and the agent's long-lived connection has no right to publish verdicts at all.
 * Without it (a farm whose NATS users come from the server's configuration), on the agent's
 * connection. Either way the message id is the probe id, so a retry is stored once.
 */
import { connectNats, type AgentStore, type NatsConnectOptions } from '../shared/nats.js';
import type { KeyPair } from '../shared/nats-jwt.js';
import { Verdict } from '../shared/proto.js';
import type { VerdictPublisher } from './outbox.js';

export type VerdictConnection = Pick<NatsConnectOptions, 'servers' | 'tls' | 'inboxPrefix'>;

export interface VerdictPublisherDeps {
  /** The agent's store (subject names; the connection used without a credential). */
  store: () => AgentStore | undefined;
  /**
   * Where and how the agent reached NATS: servers, TLS, and the inbox prefix the coordinator
   * gave (NATS allows the agent no other).
   */
  connection: () => VerdictConnection;
  /** The agent's NATS user key: every credential was minted for it. */
  key: () => KeyPair;
  /** Connection name shown by the server's monitoring. */
  name: string;
}

export function verdictPublisher(deps: VerdictPublisherDeps): VerdictPublisher {
  return async ({ verdict, jwt }) => {
    const store = deps.store();
    if (!store) throw new Error('not connected to NATS yet');
    const subject = store.verdictSubject(verdict.jobId, verdict.probeId);
    const data = Verdict.encode(verdict).finish();
    const opts = { msgID: verdict.probeId, timeout: 5000 };
    if (!jwt) return store.js.publish(subject, data, opts);
    const nc = await connectNats({
      ...deps.connection(),
      name: deps.name,
      attempts: 1,
      reconnectForever: false,
      credentials: { jwt, seed: deps.key().getSeed() },
    });
    try {
      return await nc.jetstream().publish(subject, data, opts);
    } finally {
      await nc.close().catch(() => undefined);
    }
  };
}
