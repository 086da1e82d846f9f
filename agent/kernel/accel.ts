/**
 * Which qemu accelerator this host can use, proven rather than assumed. A /dev/kvm that opens
 * read-write proves nothing: on nested or half-configured hosts qemu with `-enable-kvm -cpu host`
 * aborts on an MSR, or a guest prints "Probing EDD" and hangs for ever. So KVM is used only after a
 * guest has run under it with the very qemu arguments the real boots use:
 *   1. the device opens read-write (else: TCG, with the errno);
 *   2. a tiny guest (kvm-probe/guest.S: protected mode, paging, long mode, CPUID, RDTSC, SSE) prints
 *      its marker on the serial port within `guestTimeoutMs`;
 *   3. when a kernel image is at hand (the agent's --accel-probe-kernel, else the host's own
 *      /boot/vmlinuz-<release>), that kernel gets past its decompressor and prints "Linux version"
 *      within `kernelTimeoutMs`: the step where broken hosts hang.
 * Any failure means TCG, with the reason. The agent decides once at start-up (decideAccel) and
 * shows the answer in `multisect agents`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { GUEST_EXIT_STATUS, GUEST_IMAGE_BASE64, GUEST_MARKER } from './kvm-probe/guest.js';

export type Accel = 'kvm' | 'tcg';
export type AccelChoice = Accel | 'auto';

export interface AccelDecision {
  accel: Accel;
  /** proved: KVM ran a guest here; unusable: KVM was tried and failed (or is absent); forced: the operator said so. */
  how: 'proved' | 'unusable' | 'forced';
  /** One line for the operator: what proved KVM, or why it is not used. */
  reason: string;
}

export interface KvmProofOptions {
  /** The KVM device. Default /dev/kvm. */
  device?: string;
  /** The qemu binary the boots use. Default qemu-system-x86_64. */
  qemu?: string;
  /** How long the tiny guest may take to print its marker. Default 10 s (it takes ~0.1 s under KVM). */
  guestTimeoutMs?: number;
  /**
   * A kernel image booted under KVM until it prints "Linux version". Default: the host's own
   * /boot/vmlinuz-<release> when readable; '' = none (the tiny guest alone decides).
   */
  kernel?: string;
  /** How long that kernel may take. Default 30 s (about 1 s under working KVM). */
  kernelTimeoutMs?: number;
  /** Tests register qemu here so it is killed with them. */
  onSpawn?: (child: ChildProcess) => void;
}

export type KvmProof = { ok: true; detail: string } | { ok: false; reason: string };

/** qemu arguments for the accelerator: KVM passes the host CPU through; TCG emulates the best it can. */
export function accelArgs(accel: Accel): string[] {
  return accel === 'kvm' ? ['-enable-kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max'];
}

/** The accelerator to use for `choice`: forced as given, or for 'auto' KVM only once it is proven. */
export async function decideAccel(choice: AccelChoice, o: KvmProofOptions = {}): Promise<AccelDecision> {
  if (choice === 'tcg') return { accel: 'tcg', how: 'forced', reason: 'tcg forced (--accel tcg)' };
  if (choice === 'kvm') return { accel: 'kvm', how: 'forced', reason: 'kvm forced (--accel kvm): not proven' };
  const proof = await proveKvm(o);
  return proof.ok ? { accel: 'kvm', how: 'proved', reason: proof.detail } : { accel: 'tcg', how: 'unusable', reason: `KVM unusable: ${proof.reason}` };
}

let hostDecision: Promise<AccelDecision> | undefined;

/** decideAccel('auto') with the defaults, once per process: for VMs started outside an agent. */
export function hostAccel(): Promise<AccelDecision> {
  hostDecision ??= decideAccel('auto');
  return hostDecision;
}

export async function proveKvm(o: KvmProofOptions = {}): Promise<KvmProof> {
  const device = o.device ?? '/dev/kvm';
  const qemu = o.qemu ?? 'qemu-system-x86_64';
  try {
    const fh = await open(device, constants.O_RDWR);
    await fh.close();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' || code === 'EPERM' ? 'cannot be opened read-write (add the agent\'s user to the kvm group)' : `cannot be opened (${(err as Error).message})`;
    return { ok: false, reason: `${device} ${why}` };
  }

  const dir = await mkdtemp(join(tmpdir(), 'multisect-kvm-probe-'));
  try {
    const guestTimeout = o.guestTimeoutMs ?? 10_000;
    const g = await bootProofGuest('kvm', dir, { ...o, qemu, guestTimeoutMs: guestTimeout });
    if (!g.seen) return { ok: false, reason: `${device} opens, but a KVM guest ${failure(g, guestTimeout)}` };
    if (g.exitCode !== null && g.exitCode !== GUEST_EXIT_STATUS && !g.killed) {
      return { ok: false, reason: `${device} opens, but the KVM guest ended with status ${g.exitCode}${stderrTail(g.stderr)}` };
    }

    const kernel = o.kernel ?? (await hostKernel());
    if (!kernel) return { ok: true, detail: `a KVM guest ran in ${g.ms} ms (no kernel image to boot as well)` };
    const kernelTimeout = o.kernelTimeoutMs ?? 30_000;
    const k = await runUntil(qemu, [
      ...accelArgs('kvm'), '-m', '256', '-kernel', kernel, '-append', 'console=ttyS0 earlyprintk=serial panic=-1 nokaslr',
      '-nodefaults', '-no-reboot', '-display', 'none', '-monitor', 'none', '-serial', 'stdio',
    ], (out) => /Linux version \d/.test(out), kernelTimeout, o.onSpawn);
    if (!k.seen) return { ok: false, reason: `${device} opens and a tiny guest runs, but the kernel ${kernel} ${failure(k, kernelTimeout)}` };
    return { ok: true, detail: `a KVM guest ran in ${g.ms} ms and ${kernel} started in ${k.ms} ms` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Boot the tiny proof guest under `accel` (its scratch file in `dir`) until it prints its marker.
 * Exported so that tests can show the image itself is sound under TCG.
 */
export async function bootProofGuest(accel: Accel, dir: string, o: KvmProofOptions = {}): Promise<GuestRun> {
  const guest = join(dir, 'guest.bin');
  await writeFile(guest, Buffer.from(GUEST_IMAGE_BASE64, 'base64'));
  return runUntil(o.qemu ?? 'qemu-system-x86_64', [
    ...accelArgs(accel), '-m', '32', '-kernel', guest, '-nodefaults', '-no-reboot', '-display', 'none', '-monitor', 'none',
    '-serial', 'stdio', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
  ], (out) => out.includes(GUEST_MARKER), o.guestTimeoutMs ?? 10_000, o.onSpawn);
}

/** The host's own kernel image, when it has one we can read (bare-metal Debian agents do). */
async function hostKernel(): Promise<string | undefined> {
  const p = `/boot/vmlinuz-${release()}`;
  return access(p, constants.R_OK).then(() => p, () => undefined);
}

export interface GuestRun {
  seen: boolean;
  exitCode: number | null;
  exitSignal: NodeJS.Signals | null;
  killed: boolean;
  timedOut: boolean;
  spawnError?: string;
  output: string;
  stderr: string;
  ms: number;
}

function failure(r: GuestRun, timeoutMs: number): string {
  if (r.spawnError) return `could not start: ${r.spawnError}`;
  const lastLine = r.output.trim().split('\n').pop()?.trim();
  const printed = lastLine ? `; its last line: ${JSON.stringify(lastLine.slice(0, 120))}` : '; it printed nothing';
  if (r.timedOut) return `did not get through its boot within ${timeoutMs / 1000} s${printed}`;
  return `stopped with ${r.exitCode !== null ? `status ${r.exitCode}` : `signal ${r.exitSignal ?? '?'}`} before its marker${stderrTail(r.stderr)}`;
}

function stderrTail(stderr: string): string {
  const lines = stderr.trim().split('\n').filter((l) => l && !/^qemu: module .* not found/.test(l));
  return lines.length ? ` (qemu: ${lines.slice(-2).join(' / ').slice(0, 300)})` : '';
}

/** Run qemu until its console satisfies `done`, it exits, or the time runs out; qemu never outlives it. */
function runUntil(qemu: string, args: string[], done: (out: string) => boolean, timeoutMs: number, onSpawn?: (c: ChildProcess) => void): Promise<GuestRun> {
  const start = Date.now();
  return new Promise((resolve) => {
    const r: GuestRun = { seen: false, exitCode: null, exitSignal: null, killed: false, timedOut: false, output: '', stderr: '', ms: 0 };
    const child = spawn(qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    onSpawn?.(child);
    const kill = () => {
      r.killed = true;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => {
      r.timedOut = true;
      kill();
    }, timeoutMs);
    const onExit = () => kill();
    process.once('exit', onExit);
    child.stdout.on('data', (b: Buffer) => {
      if (r.output.length < 64 * 1024) r.output += b.toString('latin1');
      if (!r.seen && done(r.output)) {
        r.seen = true;
        r.ms = Date.now() - start;
        kill();
      }
    });
    child.stderr.on('data', (b: Buffer) => {
      if (r.stderr.length < 16 * 1024) r.stderr += b.toString();
    });
    child.on('error', (err) => {
      r.spawnError = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${qemu} is not installed` : err.message;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      process.removeListener('exit', onExit);
      r.exitCode = code;
      r.exitSignal = signal;
      if (!r.seen) r.ms = Date.now() - start;
      resolve(r);
    });
  });
}
