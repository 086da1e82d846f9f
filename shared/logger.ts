/**
 * The pino logger factory. JSON lines by default (for journald and log shippers), pretty when
 * the destination is a terminal. Loggers are passed in, never global: each part takes a child
 * with `logger.child({ component })`.
 */
import { pino, destination, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** Minimum level. Default: 'info'. */
  level?: LevelWithSilent;
  /** Pretty-print. Default: true when stderr is a terminal. */
  pretty?: boolean;
  /** File descriptor to write to. Default: 2 (stderr), so stdout stays for command output. */
  fd?: number;
  /** Fields on every line (process role, agent id...). */
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const fd = options.fd ?? 2;
  const pretty = options.pretty ?? (fd === 2 ? process.stderr.isTTY : process.stdout.isTTY) === true;
  const level = options.level ?? 'info';
  const base = { pid: process.pid, ...options.base };
  if (pretty) {
    return pino({
      level,
      base,
      transport: { target: 'pino-pretty', options: { destination: fd, colorize: true, ignore: 'pid,hostname' } },
    });
  }
  return pino({ level, base }, destination({ fd, sync: false }));
}

/** A logger that drops everything: for tests and library callers that pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
