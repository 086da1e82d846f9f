/** AgentService: Register and the long-lived Work stream of every agent. */
import type { Logger } from 'pino';
import { InvalidOptionError, ProtocolError } from '../shared/errors.js';
import { unary } from '../shared/grpc.js';
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

export interface AgentServiceDeps {
  registry: AgentRegistry;
  jobs: JobManager;
  leaseMs: number;
  heartbeatIntervalMs: number;
  advertiseNats: string[];
  namespace: string;
  logger: Logger;
}

const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function agentService(deps: AgentServiceDeps): AgentServiceServer {
  const logger = deps.logger.child({ component: 'agent-service' });
  return {
    register: unary(logger, (req: RegisterRequest) => {
      if (!AGENT_ID.test(req.agentId)) throw new InvalidOptionError('agent_id', `${JSON.stringify(req.agentId)} is not a valid agent id (letters, digits, . _ -; at most 64)`);
      if (req.slots < 1 || req.slots > 256) throw new InvalidOptionError('slots', `must be 1..256, got ${req.slots}`);
      deps.registry.register(RegisterRequest.fromPartial(req), Date.now());
      logger.info({ agentId: req.agentId, host: req.host, slots: req.slots }, 'agent registered');
      return RegisterResponse.fromPartial({
        agentId: req.agentId,
        heartbeatIntervalMs: deps.heartbeatIntervalMs,
        leaseMs: deps.leaseMs,
        natsUrls: deps.advertiseNats,
        namespace: deps.namespace,
      });
    }),

    work: (call: WorkStream) => {
      let agent: AgentEntry | undefined;
      const fail = (err: unknown) => {
        if (!call.cancelled && !call.writableEnded) call.emit('error', toGrpcStatus(err, logger));
      };
      call.on('data', (msg: AgentMessage) => {
        try {
          const m = msg.msg;
          if (!m) throw new ProtocolError('empty message on the Work stream');
          if (!agent) {
            if (m.$case !== 'hello') throw new ProtocolError('the first message on the Work stream must be a Hello');
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
              deps.jobs.onHandBack(m.value.probeId, `infrastructure problem: ${m.value.reason}`);
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
