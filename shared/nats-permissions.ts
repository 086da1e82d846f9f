/**
 * What each role may do in NATS, as subject permissions over the JetStream names of a farm
 * (so a namespaced farm gets the same rules on its own names). The coordinator puts these into
 * the user JWTs it mints (NATS JWT authentication, shared/nats-jwt.ts); deploy/nats/
 * permissions.conf is the same table for a lab with static, certificate-mapped users.
 */
import type { StoreNames } from './nats.js';
import type { UserPermissions } from './nats-jwt.js';

/** Replies of JetStream publishes and API requests come to the connection's inbox. */
const INBOX = { allow: ['_INBOX.>'] };

/** The coordinator owns the state: streams, buckets, job state, events, the verdict consumer. */
export function coordinatorPermissions(): UserPermissions {
  return { pub: { allow: ['>'] }, sub: { allow: ['>'] } };
}

/**
 * An agent's own connection: it writes the logs of its probes into the object store, and
 * nothing else: it reads nothing (not even other jobs' logs) and has no verdict subject at all;
 * those come with each assignment (`verdictPermissions`).
 */
export function agentPermissions(names: StoreNames): UserPermissions {
  // Log objects are written blind (shared/log-objects.ts): no JetStream API, no reads.
  return { pub: { allow: [`$O.${names.logsBucket}.C.>`, `$O.${names.logsBucket}.M.>`] }, sub: INBOX };
}

/** The credential of one assignment: publish verdicts of this one job. */
export function verdictPermissions(names: StoreNames, jobId: string): UserPermissions {
  return { pub: { allow: [`${names.verdictSubject}.${jobId}`] }, sub: INBOX };
}

/** A reader (a dashboard, or a person with the nats CLI): job events and logs, read only. */
export function readerPermissions(names: StoreNames): UserPermissions {
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
    sub: { allow: ['_INBOX.>', `${names.eventSubject}.>`] },
  };
}
