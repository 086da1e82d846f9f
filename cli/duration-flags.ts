/**
 * Durations on the command line, as an operator writes them from a build log: plain seconds
 * (`354`, `0.5`) or hours, minutes and seconds in that order (`5m54s`, `11s`, `1h30m`). Errors
 * name the flag and show the format, so a typo is fixed without reading the help.
 */
import { InvalidOptionError } from '../shared/errors.js';

const FORMAT = 'a duration like 5m54s, 11s, 1h30m or plain seconds (354)';
const NUMBER = String.raw`\d+(?:\.\d+)?`;
const PLAIN_SECONDS = new RegExp(`^${NUMBER}$`);
const WITH_UNITS = new RegExp(`^(?:(${NUMBER})h)?(?:(${NUMBER})m)?(?:(${NUMBER})s)?$`);

/** Milliseconds of a duration flag. */
export function parseDurationFlag(flag: string, raw: string): number {
  const text = raw.trim();
  if (PLAIN_SECONDS.test(text)) return Math.round(Number(text) * 1000);
  const m = text === '' ? null : WITH_UNITS.exec(text);
  if (!m) throw new InvalidOptionError(flag, `must be ${FORMAT}, got ${JSON.stringify(raw)}`);
  const [h, min, s] = [m[1], m[2], m[3]].map((x) => Number(x ?? 0));
  return Math.round(((h! * 60 + min!) * 60 + s!) * 1000);
}

export interface BuildCost {
  fullMs: number;
  incrementalMs: number;
}

/** `--build-cost FULL,INCREMENTAL`: a build from scratch, and one in a warm build directory. */
export function parseBuildCostFlag(flag: string, raw: string): BuildCost {
  const parts = raw.split(',');
  if (parts.length !== 2) {
    throw new InvalidOptionError(flag, `must be FULL,INCREMENTAL, two durations like 5m54s,11s, got ${JSON.stringify(raw)}`);
  }
  const [fullMs, incrementalMs] = parts.map((p) => parseDurationFlag(flag, p)) as [number, number];
  return { fullMs, incrementalMs };
}
