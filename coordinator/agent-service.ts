/**
 * AgentService: Register and the long-lived Work stream of every agent.
 *
 * With mutual TLS (`requireIdentity`) the agent id is the one in the agent's certificate: a
 * Register or Hello naming another id is refused with PERMISSION_DENIED, so a host holding one
 * agent's key cannot take over another agent's assignments or leases. The role check (only
 * certificates with OU=agent) is done by guardService (shared/grpc.ts) before this code runs.
 */
import type { Logger } from 'pino';
import { InvalidOptionError, MultisectError, PermissionError, ProtocolError } from '../shared/errors.js';
import { peerIdentity, RejectedMessage, unary } from '../shared/grpc.js';
import { toGrpcStatus } from '../shared/grpc-errors.js';
import {
  type AgentMessage,
  type AgentServiceServer,
  CoordinatorMessage,
  RegisterRequest,
  RegisterResponse,
} from '../shared/proto.js';
import { phaseName, type AgentEntry, type AgentRegistry, type WorkStream } from './agent-registry.js';
import type { JobManager } from './jobs.js';
import type { NatsCredentials } from './nats-credentials.js';
import { AGENT_ROLE_INBOX, inboxPrefixFor } from '../shared/nats-permissions.js';

export interface AgentServiceDeps {
  registry: AgentRegistry;
  jobs: JobManager;
  leaseMs: number;
  heartbeatIntervalMs: number;
  advertiseNats: string[];
  namespace: string;
  /** With NATS JWT authentication: mints the agent's NATS credential for the key it sends. */
  credentials?: NatsCredentials;
  /** Take the agent id from the peer certificate and refuse any other. */
  requireIdentity: boolean;
  logger: Logger;
}

/** Request limits of the AgentService methods (messages are small; a Hello lists probe ids). */
export const AGENT_MESSAGE_LIMITS: Record<string, number> = { register: 64 * 1024, work: 256 * 1024 };

/** The agent id the peer's certificate grants, checked against the one it claims. */
function checkClaim(deps: AgentServiceDeps, call: Parameters<typeof peerIdentity>[0], claimed: string): void {
  if (!deps.requireIdentity) return;
  const peer = peerIdentity(call);
  if (!peer) throw new PermissionError('no client certificate');
  if (peer.id !== claimed) {
    throw new PermissionError(`the certificate is for agent ${JSON.stringify(peer.id)}, not ${JSON.stringify(claimed)}`);
  }
}

const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function agentService(deps: AgentServiceDeps): AgentServiceServer {
  const logger = deps.logger.child({ component: 'agent-service' });
  return {
    register: unary(logger, (req: RegisterRequest, call) => {
      if (!AGENT_ID.test(req.agentId)) throw new InvalidOptionError('agent_id', `${JSON.stringify(req.agentId)} is not a valid agent id (letters, digits, . _ -; at most 64)`);
      if (req.slots < 1 || req.slots > 256) throw new InvalidOptionError('slots', `must be 1..256, got ${req.slots}`);
      checkClaim(deps, call, req.agentId);
      // Minted before the agent is registered: an agent without a NATS key is refused whole.
      const natsJwt = deps.credentials?.forAgent(req.agentId, req.natsUserKey) ?? '';
      deps.registry.register(RegisterRequest.fromPartial(req), Date.now());
      logger.info({ agentId: req.agentId, host: req.host, slots: req.slots }, 'agent registered');
      return RegisterResponse.fromPartial({
        agentId: req.agentId,
        heartbeatIntervalMs: deps.heartbeatIntervalMs,
        leaseMs: deps.leaseMs,
        natsUrls: deps.advertiseNats,
        namespace: deps.namespace,
        natsJwt,
        natsInboxPrefix: deps.credentials ? inboxPrefixFor(req.natsUserKey) : AGENT_ROLE_INBOX,
      });
    }),

    work: (call: WorkStream) => {
      let agent: AgentEntry | undefined;
      const fail = (err: unknown) => {
        if (!call.cancelled && !call.writableEnded) call.emit('error', toGrpcStatus(err, logger));
      };
      call.on('data', (msg: AgentMessage | RejectedMessage) => {
        try {
          if (msg instanceof RejectedMessage) throw msg.toError();
          const m = msg.msg;
          if (!m) throw new ProtocolError('empty message on the Work stream');
          if (!agent) {
            if (m.$case !== 'hello') throw new ProtocolError('the first message on the Work stream must be a Hello');
            checkClaim(deps, call, m.value.agentId);
            const entry = deps.registry.get(m.value.agentId);
            if (!entry) throw new ProtocolError(`agent ${m.value.agentId} has not registered`);
            if (entry.stream && entry.stream !== call) entry.stream.end();
            agent = entry;
            agent.stream = call;
            agent.lastSeenMs = Date.now();
            logger.info({ agentId: entry.info.agentId, running: m.value.runningProbeIds.length }, 'agent connected');
            deps.jobs.onAgentHello(entry, m.value.runningProbeIds);
            return;
          }
          agent.lastSeenMs = Date.now();
          switch (m.$case) {
            case 'hello':
              throw new ProtocolError('Hello sent twice');
            case 'heartbeat':
              deps.registry.send(agent, CoordinatorMessage.fromPartial({ msg: { $case: 'lease', value: { leaseDeadlineMs: Date.now() + deps.leaseMs } } }));
              break;
            case 'slot': {
              const s = agent.slots[m.value.slot];
              if (s && s.probe?.id === m.value.probeId) {
                s.status = m.value;
                deps.jobs.onProgress(m.value.probeId, phaseName(m.value.phase), m.value.run, m.value.runs);
              }
              break;
            }
            case 'builds':
              deps.registry.setBuilds(agent, m.value);
              break;
            case 'done':
              deps.jobs.onProbeDone(m.value.probeId);
              break;
            case 'handBack':
              deps.jobs.onHandBack(m.value.probeId, m.value.reason);
              break;
            case 'infra':
              agent.problem = m.value.reason;
              agent.blockedUntilMs = Date.now() + 30_000;
              logger.warn({ agentId: agent.info.agentId, reason: m.value.reason }, 'agent reports an infrastructure problem');
              void deps.jobs.onInfra(agent.info.agentId, m.value.probeId, m.value.reason).catch((err: unknown) => logger.error({ err }, 'infrastructure report not handled'));
              break;
          }
        } catch (err) {
          fail(err);
        }
      });
      const gone = () => {
        if (agent && agent.stream === call) {
          agent.stream = undefined;
          logger.info({ agentId: agent.info.agentId }, 'agent disconnected; its leases run on');
        }
      };
      call.on('end', () => {
        gone();
        if (!call.writableEnded) call.end();
      });
      call.on('error', gone);
      call.on('cancelled', gone);
      call.on('close', gone);
    },
  };
}

/**
 * Close the Work stream of agents silent for longer than the lease. A paused process or a
 * network cut can leave the TCP connection looking alive for a long while (keepalive takes
 * tens of seconds); without this, the slot whose lease just expired would be handed straight
 * back to the same unresponsive agent. The agent, when it wakes, finds its stream gone,
 * reconnects and says which probes it still runs; those the coordinator no longer expects are
 * cancelled (jobs.onAgentHello).
 */
export function dropSilentAgents(registry: AgentRegistry, now: number, leaseMs: number, logger: Logger): void {
  for (const agent of registry.all()) {
    const stream = agent.stream;
    if (!stream || now - agent.lastSeenMs <= leaseMs) continue;
    agent.stream = undefined;
    logger.warn({ agentId: agent.info.agentId, silentMs: now - agent.lastSeenMs }, 'agent silent for longer than the lease; closing its Work stream');
    if (!stream.cancelled && !stream.writableEnded) stream.emit('error', toGrpcStatus(new AgentSilentError(`no heartbeat for ${now - agent.lastSeenMs} ms (lease ${leaseMs} ms)`)));
  }
}

/** The agent was silent past its lease; it must reconnect. */
export class AgentSilentError extends MultisectError {
  readonly code = 'UNAVAILABLE' as const;
}
