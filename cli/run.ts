/**
 * How a command ends: print the error an operator can act on (never a stack trace unless
 * MULTISECT_DEBUG is set) and exit non-zero.
 */
import { describeError, MultisectError } from '../shared/errors.js';

export type OutputMode = { json: boolean };

/** Run an action; on error print it (as JSON with --json) and set a non-zero exit code. */
export async function runCommand(json: boolean, fn: () => Promise<number | void>): Promise<void> {
  try {
    const code = await fn();
    if (typeof code === 'number') process.exitCode = code;
  } catch (err) {
    if (json) {
      const e = err as Error & { field?: string; hint?: string };
      process.stdout.write(
        JSON.stringify({ error: { name: e?.name ?? 'Error', message: e?.message ?? String(err), field: e?.field, hint: e?.hint } }) + '\n',
      );
    } else {
      process.stderr.write(`multisect: ${describeError(err)}\n`);
    }
    if (process.env.MULTISECT_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = err instanceof MultisectError && err.code === 'INVALID_ARGUMENT' ? 2 : 1;
  }
}

/** Print a result: JSON when asked, else the text rendering. */
export function printResult(json: boolean, value: unknown, text: () => string): void {
  if (json) process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  else process.stdout.write(text().replace(/\n?$/, '\n'));
}

/** Commander collector for repeatable options (--good A --good B). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
