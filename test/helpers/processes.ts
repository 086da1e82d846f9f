/**
 * Every child process a test starts is registered here and killed when the test process exits,
 * even when a test failed before its own cleanup.
 */
import type { ChildProcess } from 'node:child_process';

const children = new Set<ChildProcess>();
let hooked = false;

function killAll(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        // Negative pid: the whole process group, when the child leads one (detached: true).
        if (c.pid && (c as ChildProcess & { __group?: boolean }).__group) process.kill(-c.pid, 'SIGKILL');
        else c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  children.clear();
}

export function registerChild(child: ChildProcess, opts: { group?: boolean } = {}): ChildProcess {
  if (opts.group) (child as ChildProcess & { __group?: boolean }).__group = true;
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (!hooked) {
    hooked = true;
    process.once('exit', killAll);
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        killAll();
        process.exit(130);
      });
    }
  }
  return child;
}

export { killAll as killAllChildren };
