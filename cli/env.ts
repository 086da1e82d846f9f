/** Environment variables: read only at the CLI entry points, here. */
import { DEFAULT_COORDINATOR_ADDRESS } from '../shared/grpc.js';

/** Set by `multisect up` for the coordinator and agents it starts: its own pid. */
export const PARENT_PID_VAR = 'MULTISECT_PARENT_PID';

export const env = {
  /** One address, or several separated by commas (an active coordinator and its standbys). */
  coordinator: (): string => process.env.MULTISECT_COORDINATOR || DEFAULT_COORDINATOR_ADDRESS,
  nats: (): string | undefined => process.env.MULTISECT_NATS || undefined,
  stateDir: (): string | undefined => process.env.MULTISECT_STATE_DIR || undefined,
  namespace: (): string => process.env.MULTISECT_NAMESPACE || '',
  logLevel: (): string => process.env.MULTISECT_LOG_LEVEL || 'info',
  /** The lab's CA certificate (PEM). */
  tlsCa: (): string | undefined => process.env.MULTISECT_TLS_CA || undefined,
  /** This process's certificate (PEM). */
  tlsCert: (): string | undefined => process.env.MULTISECT_TLS_CERT || undefined,
  /** Its private key (PEM). */
  tlsKey: (): string | undefined => process.env.MULTISECT_TLS_KEY || undefined,
  /** File with the NATS account seed (NATS JWT authentication; coordinator only). */
  natsAccountSeed: (): string | undefined => process.env.MULTISECT_NATS_ACCOUNT_SEED || undefined,
  /** MULTISECT_INSECURE=1: plaintext gRPC, on purpose. */
  insecure: (): boolean => /^(1|true|yes)$/i.test(process.env.MULTISECT_INSECURE ?? ''),
  /** The `multisect up` that started this coordinator or agent (see PARENT_PID_VAR). */
  parentPid: (): number | undefined => {
    const pid = Number(process.env[PARENT_PID_VAR]);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  },
};
