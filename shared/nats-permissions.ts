/**
 * What each role may do in NATS, as subject permissions over the JetStream names of a farm
 * (so a namespaced farm gets the same rules on its own names). The coordinator puts these into
 * the user JWTs it mints (NATS JWT authentication, shared/nats-jwt.ts); deploy/nats/
 * permissions.conf is the same table for a lab with static, certificate-mapped users.
 *
 * Replies (JetStream acks, API answers, consumer deliveries) come to the connection's inbox.
 * Every user but the coordinator gets an inbox prefix of its own and may subscribe only there:
 * with `_INBOX.>` anyone could listen to the replies the coordinator receives (verdicts from its
 * consumer, job state from KV) and to each other's.
 */
import { verdictSubjectOf, type StoreNames } from './nats.js';
import type { UserPermissions } from './nats-jwt.js';

/** The inbox prefix of a minted user: its public key, so no two users share one. */
export function inboxPrefixFor(userKey: string): string {
  return `_INBOX_${userKey}`;
}

/**
 * The inbox prefixes of the static role users (deploy/nats/permissions.conf): agents share one,
 * readers another; both are apart from the coordinator's `_INBOX`.
 */
export const AGENT_ROLE_INBOX = '_INBOX_agents';
export const READER_ROLE_INBOX = '_INBOX_readers';

const inbox = (prefix: string) => ({ allow: [`${prefix}.>`] });

/** The coordinator owns the state: streams, buckets, job state, events, the verdict consumer. */
export function coordinatorPermissions(): UserPermissions {
  return { pub: { allow: ['>'] }, sub: { allow: ['>'] } };
}

/**
 * An agent's own connection: it writes the logs of its probes into the object store, and
 * nothing else: it reads nothing (not even other jobs' logs) and has no verdict subject at all;
 * those come with each assignment (`verdictPermissions`).
 */
export function agentPermissions(names: StoreNames, inboxPrefix: string): UserPermissions {
  // Log objects are written blind (shared/log-objects.ts): no JetStream API, no reads.
  return { pub: { allow: [`$O.${names.logsBucket}.C.>`, `$O.${names.logsBucket}.M.>`] }, sub: inbox(inboxPrefix) };
}

/** The credential of one assignment: publish the verdict of this one probe, nothing else. */
export function verdictPermissions(names: StoreNames, jobId: string, probeId: string, inboxPrefix: string): UserPermissions {
  return { pub: { allow: [verdictSubjectOf(names, jobId, probeId)] }, sub: inbox(inboxPrefix) };
}

/** A reader (a dashboard, or a person with the nats CLI): job events and logs, read only. */
export function readerPermissions(names: StoreNames, inboxPrefix: string): UserPermissions {
  const streams = [names.eventStream, `OBJ_${names.logsBucket}`];
  return {
    pub: {
      allow: [
        '$JS.API.INFO',
        '$JS.API.STREAM.NAMES',
        ...streams.flatMap((s) => [
          `$JS.API.STREAM.INFO.${s}`,
          `$JS.API.STREAM.MSG.GET.${s}`,
          `$JS.API.DIRECT.GET.${s}.>`,
          `$JS.API.CONSUMER.CREATE.${s}`,
          `$JS.API.CONSUMER.CREATE.${s}.>`,
          `$JS.API.CONSUMER.INFO.${s}.>`,
          `$JS.API.CONSUMER.MSG.NEXT.${s}.>`,
          `$JS.API.CONSUMER.DELETE.${s}.>`,
        ]),
        '$JS.FC.>',
      ],
    },
    // Events may also be followed live with a plain subscription.
    sub: { allow: [`${inboxPrefix}.>`, `${names.eventSubject}.>`] },
  };
}
