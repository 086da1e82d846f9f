/** Agent options, their defaults, and the one function that fills and validates them. */
import { cpus, hostname } from 'node:os';
import type { Logger } from 'pino';
import { InvalidOptionError } from '../shared/errors.js';
import { DEFAULT_COORDINATOR_ADDRESS } from '../shared/grpc.js';
import { hostPort, natsUrl, positiveInt } from '../shared/options.js';
import { TlsConfigError, type Security } from '../shared/tls.js';
import type { AccelChoice } from './kernel/accel.js';

export interface AgentOptions {
  /** Agent id, unique in the farm. Default: the host name. */
  id: string;
  /**
   * Coordinator address: the first of `coordinators`. Input may list several separated by
   * commas. Default 127.0.0.1:7420.
   */
  coordinator: string;
  /**
   * Every coordinator address (an active one and its standbys). The agent tries them in turn
   * until one answers: only the leader listens. Default: [coordinator].
   */
  coordinators: string[];
  /**
   * gRPC transport: mutual TLS (the agent's certificate names its id, which must equal `id`) or
   * explicit plaintext. Required.
   */
  security: Security;
  /**
   * TLS for NATS. Default: the gRPC TLS files when `security` is TLS (the coordinator advertises
   * tls:// URLs in a TLS lab); none otherwise.
   */
  natsTls: Security;
  /** NATS servers; default: the ones the coordinator advertises at registration. */
  natsServers: string[];
  /** Probes run at once on this host. Default 1. */
  slots: number;
  /** CPUs for builds, split between slots. Default: all CPUs. */
  cpus: number;
  /** VMs at once for the kernel recipe, split between slots. Default: CPUs / 2, at least 1. */
  vmCapacity: number;
  /** Mirrors, worktrees, build directories and the verdict outbox live here. Required. */
  stateDir: string;
  /** Recipe kinds this agent runs. Default: script, kernel. */
  recipeKinds: string[];
  /** On SIGTERM, wait this long for running probes to finish before handing them back. Default 10 s. */
  drainMs: number;
  /** Longest wait between reconnection attempts. Default 5 s. */
  maxBackoffMs: number;
  /**
   * qemu accelerator for kernel VMs: 'auto' (default) uses KVM only after a guest has run under it
   * at start-up (agent/kernel/accel.ts); 'kvm' or 'tcg' force it. A job's recipe may still force one.
   */
  accel: AccelChoice;
  /** The KVM device to prove. Default /dev/kvm. */
  kvmDevice: string;
  /**
   * A kernel image booted under KVM at start-up to prove it (broken hosts hang right after the
   * real-mode setup). Default: the host's own /boot/vmlinuz-<release> when readable; '' = none.
   */
  accelProbeKernel: string | undefined;
  /** The qemu binary, for the proof and for jobs that name none. Default qemu-system-x86_64. */
  qemu: string;
  /**
   * Built kernels kept for reuse by any job (agent/kernel-cache.ts), in MiB, least recently used
   * out beyond it; 0 keeps none. Default 2048 (a syzbot-config bzImage is about 10 MiB).
   */
  kernelCacheMb: number;
  logger: Logger;
}

export type AgentOptionsInput = Partial<AgentOptions> & Pick<AgentOptions, 'stateDir' | 'logger' | 'security'>;

export function compileAgentOptions(input: AgentOptionsInput): AgentOptions {
  const id = input.id ?? hostname();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(id)) throw new InvalidOptionError('id', `${JSON.stringify(id)}: letters, digits, . _ - only, at most 64`);
  const cpuCount = positiveInt('cpus', input.cpus ?? cpus().length);
  if (!input.stateDir) throw new InvalidOptionError('stateDir', 'must not be empty');
  (input.natsServers ?? []).forEach((u) => natsUrl('nats', u));
  if (!input.security) throw new TlsConfigError('the agent needs TLS files (--tls-ca, --tls-cert, --tls-key) or an explicit --insecure');
  const coordinators = (input.coordinators?.length ? input.coordinators : (input.coordinator ?? DEFAULT_COORDINATOR_ADDRESS).split(','))
    .map((a) => a.trim())
    .filter(Boolean)
    .map((a) => hostPort('coordinator', a));
  if (coordinators.length === 0) throw new InvalidOptionError('coordinator', 'at least one address is needed');
  return {
    id,
    coordinator: coordinators[0]!,
    coordinators,
    security: input.security,
    natsTls: input.natsTls ?? input.security,
    natsServers: input.natsServers ?? [],
    slots: positiveInt('slots', input.slots ?? 1, { max: 256 }),
    cpus: cpuCount,
    vmCapacity: positiveInt('vmCapacity', input.vmCapacity ?? Math.max(1, Math.floor(cpuCount / 2))),
    stateDir: input.stateDir,
    recipeKinds: input.recipeKinds ?? ['script', 'kernel'],
    drainMs: positiveInt('drainMs', input.drainMs ?? 10_000, { min: 0 }),
    maxBackoffMs: positiveInt('maxBackoffMs', input.maxBackoffMs ?? 5_000, { min: 100 }),
    accel: accelChoice(input.accel ?? 'auto'),
    kvmDevice: input.kvmDevice || '/dev/kvm',
    accelProbeKernel: input.accelProbeKernel,
    qemu: input.qemu || 'qemu-system-x86_64',
    kernelCacheMb: positiveInt('kernelCacheMb', input.kernelCacheMb ?? 2048, { min: 0 }),
    logger: input.logger,
  };
}

function accelChoice(v: string): AccelChoice {
  if (v === 'auto' || v === 'kvm' || v === 'tcg') return v;
  throw new InvalidOptionError('accel', `${JSON.stringify(v)}: must be auto, kvm or tcg`);
}
