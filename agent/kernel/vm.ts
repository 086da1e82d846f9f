/**
 * Boots one VM: qemu-system-x86_64 with a kernel, an initramfs and a command line, the serial
 * console captured (to a file and in memory), and three clocks: boot (the boot marker must show up
 * in time), no output (the console went silent: syzkaller's "no output from test machine"), and
 * total. An AbortSignal kills qemu at once. Guests are expected to power off when their test is
 * done and to reboot on panic (panic=-1), which -no-reboot turns into qemu exiting.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants, createWriteStream } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Logger } from 'pino';
import { CancelledError, InfraError } from '../../shared/errors.js';
import { accelArgs, hostAccel, type Accel } from './accel.js';
import { dieWithThisProcess } from '../../shared/pdeathsig.js';

export interface VmOptions {
  kernel: string;
  initrd?: string;
  cmdline: string;
  /** File the console is written to (truncated first). */
  consoleLog: string;
  qemu?: string;
  memoryMb?: number;
  cpus?: number;
  /** 'auto' (default): the host's proven accelerator (accel.ts: KVM only once a guest ran under it). */
  accel?: Accel | 'auto';
  /** More qemu arguments (devices, drives), appended as they are. */
  extraArgs?: string[];
  /** The console line that says the kernel has booted. Default: /Run \S+ as init process/. */
  bootMarker?: RegExp;
  bootTimeoutMs?: number;
  noOutputTimeoutMs?: number;
  totalTimeoutMs?: number;
  /** After a panic is seen, how long qemu may take to stop by itself before it is killed. */
  panicGraceMs?: number;
  signal?: AbortSignal;
  logger?: Logger;
  /** Called once when the boot marker shows up (progress: booting -> testing). */
  onBoot?: () => void;
  /** Called with the qemu process right after it starts (tests register it for cleanup). */
  onSpawn?: (child: ChildProcess) => void;
}

/**
 * How the VM ended. poweroff: the guest shut down by itself. panic: the kernel panicked (qemu then
 * exited or was stopped). boot-timeout: the boot marker never came. no-output: the console was
 * silent too long. timeout: the total time ran out. qemu-failed: qemu exited without the kernel
 * ever printing (bad arguments, unusable image).
 */
export type VmEnd = 'poweroff' | 'panic' | 'boot-timeout' | 'no-output' | 'timeout' | 'qemu-failed';

export interface VmResult {
  end: VmEnd;
  console: string;
  booted: boolean;
  durationMs: number;
  accel: Accel;
  exitCode: number | null;
  /** qemu's own stderr (useful when it failed to start). */
  qemuStderr: string;
}

const PANIC_RE = /Kernel panic - not syncing|---\[ end Kernel panic/;
const MAX_CONSOLE = 32 * 1024 * 1024;

/** qemu processes alive in this process: killed if the process exits first (never orphan a VM). */
const live = new Set<ChildProcess>();
let exitHooked = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}

async function mustExist(path: string, what: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch (err) {
    throw new InfraError(`${what} ${path} is missing or unreadable`, { cause: err, hint: 'for the lab, run deploy/lab/setup' });
  }
}

export function qemuArgs(o: VmOptions, accel: Accel): string[] {
  const args = [
    ...accelArgs(accel),
    '-m', String(o.memoryMb ?? 512),
    '-smp', String(o.cpus ?? 1),
    '-kernel', o.kernel,
    '-append', o.cmdline,
    '-display', 'none',
    '-monitor', 'none',
    '-serial', 'stdio',
    '-no-reboot',
  ];
  if (o.initrd) args.push('-initrd', o.initrd);
  return [...args, ...(o.extraArgs ?? [])];
}

export async function runVm(o: VmOptions): Promise<VmResult> {
  if (o.signal?.aborted) throw new CancelledError('cancelled before the VM started');
  await mustExist(o.kernel, 'kernel image');
  if (o.initrd) await mustExist(o.initrd, 'initramfs');
  const accel = o.accel === undefined || o.accel === 'auto' ? (await hostAccel()).accel : o.accel;
  const qemu = o.qemu ?? 'qemu-system-x86_64';
  const args = qemuArgs(o, accel);
  o.logger?.debug({ qemu, args }, 'starting VM');

  const start = Date.now();
  const out = createWriteStream(o.consoleLog);
  const chunks: Buffer[] = [];
  let size = 0;
  let consoleTail = '';
  let booted = false;
  let sawOutput = false;
  let end: VmEnd | undefined;
  let stderr = '';
  const bootMarker = o.bootMarker ?? /Run \S+ as init process/;

  // A VM never outlives its agent, even one killed with SIGKILL.
  const cmd = dieWithThisProcess(qemu, args, 'KILL');
  const child = spawn(cmd.program, cmd.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  o.onSpawn?.(child);

  return new Promise<VmResult>((resolve, reject) => {
    const timers: NodeJS.Timeout[] = [];
    let silence: NodeJS.Timeout | undefined;
    let panicTimer: NodeJS.Timeout | undefined;
    let spawnError: Error | undefined;
    let cancelled = false;
    const stop = (why: VmEnd) => {
      end ??= why;
      child.kill('SIGKILL');
    };
    const armSilence = () => {
      if (silence) clearTimeout(silence);
      if (o.noOutputTimeoutMs) silence = setTimeout(() => stop('no-output'), o.noOutputTimeoutMs);
    };
    const onAbort = () => {
      cancelled = true;
      child.kill('SIGKILL');
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    if (o.totalTimeoutMs) timers.push(setTimeout(() => stop('timeout'), o.totalTimeoutMs));
    if (o.bootTimeoutMs) timers.push(setTimeout(() => booted || stop('boot-timeout'), o.bootTimeoutMs));
    armSilence();

    child.stdout.on('data', (b: Buffer) => {
      sawOutput = true;
      armSilence();
      out.write(b);
      if (size < MAX_CONSOLE) {
        chunks.push(b);
        size += b.length;
      }
      // Markers may straddle chunks: search the new text with a little of the old in front.
      const text = consoleTail + b.toString('latin1');
      consoleTail = text.slice(-256);
      if (!booted && bootMarker.test(text)) {
        booted = true;
        o.onBoot?.();
      }
      if (!panicTimer && PANIC_RE.test(text)) {
        end ??= 'panic';
        // panic=-1 makes the guest reboot (qemu exits): if it does not, stop it after the grace.
        panicTimer = setTimeout(() => stop('panic'), o.panicGraceMs ?? 5000);
      }
    });
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += b.toString();
    });
    child.on('error', (err) => {
      spawnError = err;
    });
    child.on('close', (code) => {
      for (const t of timers) clearTimeout(t);
      if (silence) clearTimeout(silence);
      if (panicTimer) clearTimeout(panicTimer);
      o.signal?.removeEventListener('abort', onAbort);
      // The log file is complete before the caller reads it.
      out.end(() => settle(code));
    });
    const settle = (code: number | null) => {
      // Through setpriv, a qemu that cannot be executed is setpriv's exit 127, not a spawn error.
      if (!spawnError && code === 127 && /setpriv: failed to execute/.test(stderr)) {
        spawnError = Object.assign(new Error(stderr.trim()), { code: /No such file/.test(stderr) ? 'ENOENT' : 'EACCES' });
      }
      if (spawnError) {
        const missing = (spawnError as NodeJS.ErrnoException).code === 'ENOENT';
        reject(new InfraError(missing ? `${qemu} is not installed` : `cannot start ${qemu}: ${spawnError.message}`, {
          cause: spawnError,
          hint: 'install qemu-system-x86 (deploy/lab/setup does)',
        }));
        return;
      }
      if (cancelled) {
        reject(new CancelledError('VM cancelled'));
        return;
      }
      const console = Buffer.concat(chunks).toString('utf8');
      if (!end) {
        if (!sawOutput) end = 'qemu-failed';
        else end = PANIC_RE.test(console) ? 'panic' : 'poweroff';
      }
      resolve({ end, console, booted, durationMs: Date.now() - start, accel, exitCode: code, qemuStderr: stderr.trim() });
    };
  });
}
