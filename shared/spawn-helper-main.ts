/**
 * The spawn helper's child side (see spawn-helper.ts): a small Node process that starts the
 * programs its parent asks for and sends back their output over the IPC channel. It exists so a
 * parent with a large heap never forks itself: fork copies the page tables of the whole heap,
 * which at the coordinator's 500 MB blocks its event loop about 17 ms per git process (1 ms here).
 * It imports nothing of the project, so it stays small, and it ends with its parent (the channel
 * closes when the parent dies, even by SIGKILL).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { HelperReply, HelperRequest } from './spawn-helper-protocol.js';

const running = new Map<number, { child: ChildProcess; resume?: () => void }>();
const send = (m: HelperReply): void => {
  if (process.connected) process.send!(m);
};

function start(r: Extract<HelperRequest, { type: 'run' }>): void {
  let child: ChildProcess;
  try {
    child = spawn(r.file, r.args, { cwd: r.cwd, env: r.env, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    send({ type: 'error', id: r.id, code: (err as NodeJS.ErrnoException).code ?? 'EINVAL', message: (err as Error).message });
    return;
  }
  const entry: { child: ChildProcess; resume?: () => void } = { child };
  running.set(r.id, entry);
  const out: Buffer[] = [];
  let outBytes = 0;
  const err: Buffer[] = [];
  let timedOut = false;
  const timer = r.timeoutMs > 0 ? setTimeout(() => ((timedOut = true), child.kill('SIGTERM')), r.timeoutMs) : undefined;
  child.stdout!.on('data', (d: Buffer) => {
    if (r.stream) {
      // Streamed: one chunk in flight, the next when the parent has taken it (its consumer pulls).
      child.stdout!.pause();
      entry.resume = () => child.stdout!.resume();
      send({ type: 'chunk', id: r.id, data: d });
      return;
    }
    outBytes += d.length;
    if (outBytes > r.maxBuffer) child.kill('SIGTERM');
    else out.push(d);
  });
  child.stderr!.on('data', (d: Buffer) => err.push(d));
  child.stdin!.on('error', () => {
    /* the program exited before reading its input: its exit status says what happened */
  });
  child.once('error', (e: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    running.delete(r.id);
    send({ type: 'error', id: r.id, code: e.code ?? 'EIO', message: e.message });
  });
  child.once('close', (code, signal) => {
    clearTimeout(timer);
    if (!running.has(r.id)) return;
    running.delete(r.id);
    send({
      type: 'exit', id: r.id, code: code ?? 1, signal: signal ?? '', timedOut, overflow: outBytes > r.maxBuffer,
      stdout: Buffer.concat(out), stderr: Buffer.concat(err),
    });
  });
  child.stdin!.end(r.input ?? undefined);
}

process.on('message', (m: HelperRequest) => {
  if (m.type === 'run') start(m);
  else if (m.type === 'more') running.get(m.id)?.resume?.();
  else if (m.type === 'kill') running.get(m.id)?.child.kill('SIGTERM');
});
// The parent is gone (or let go of us): stop what runs and end.
process.on('disconnect', () => {
  for (const { child } of running.values()) child.kill('SIGTERM');
  process.exit(0);
});
