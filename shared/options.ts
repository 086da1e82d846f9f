/**
 * Helpers for the house pattern: every component has an options interface with documented
 * defaults and one `compile...Options(partial)` that fills the defaults and validates, throwing
 * an InvalidOptionError that names the field. Flags and environment variables are read only at
 * entry points (cli/), which pass plain values in.
 */
import { InvalidOptionError } from './errors.js';

export function positiveInt(field: string, value: number, opts: { min?: number; max?: number } = {}): number {
  const min = opts.min ?? 1;
  if (!Number.isInteger(value) || value < min || (opts.max !== undefined && value > opts.max)) {
    const range = opts.max === undefined ? `>= ${min}` : `${min}..${opts.max}`;
    throw new InvalidOptionError(field, `must be a whole number ${range}, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function probability(field: string, value: number, opts: { open?: boolean } = {}): number {
  const ok = Number.isFinite(value) && (opts.open ? value > 0 && value < 1 : value >= 0 && value <= 1);
  if (!ok) {
    throw new InvalidOptionError(field, `must be a number ${opts.open ? 'strictly between 0 and 1' : 'from 0 to 1'}, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function nonEmpty(field: string, value: string | undefined): string {
  if (value === undefined || value.trim() === '') throw new InvalidOptionError(field, 'must not be empty');
  return value;
}

export function oneOf<T extends string>(field: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new InvalidOptionError(field, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** host:port with a numeric port; "localhost:0" allowed for tests. */
export function hostPort(field: string, value: string): string {
  const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) > 65535) {
    throw new InvalidOptionError(field, `must be HOST:PORT, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function natsUrl(field: string, value: string): string {
  if (!/^(nats|tls|ws|wss):\/\/[^\s]+$/.test(value) && !/^[^\s:/]+:\d+$/.test(value)) {
    throw new InvalidOptionError(field, `must be a NATS URL like nats://127.0.0.1:4222, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Parse a command-line number, naming the flag when it is not one. */
export function parseNumberFlag(flag: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw new InvalidOptionError(flag, `must be a number, got ${JSON.stringify(raw)}`);
  return n;
}

/** Parse a command-line whole number, naming the flag when it is not one. */
export function parseIntFlag(flag: string, raw: string): number {
  const n = parseNumberFlag(flag, raw);
  if (!Number.isInteger(n)) throw new InvalidOptionError(flag, `must be a whole number, got ${JSON.stringify(raw)}`);
  return n;
}
