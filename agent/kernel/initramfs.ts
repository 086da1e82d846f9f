/**
 * The default test initramfs: busybox, the reproducer and an init that applies the job's sysctls,
 * runs the reproducer, prints a marker and ends the VM. It reboots rather than powers off: a small
 * kernel without ACPI (tinyconfig) only halts on poweroff and qemu would wait for ever, while a
 * reboot under -no-reboot ends qemu on every kernel.
 *
 * Reproducers, as syzbot sends them:
 * - `.c`: compiled statically on the host with the job's compiler (the guest has no libc);
 * - `.syz`: a syzkaller program, run by syz-execprog with syz-executor (both packed from the
 *   agent's host: the lab provides them; missing ones are an InfraError naming what to install),
 *   with the options of the program's `# {...}` header line, as syzbot runs it;
 * - anything else: a shell script run with the guest's busybox sh.
 */
import { constants } from 'node:fs';
import { access, readFile, writeFile } from 'node:fs/promises';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { runProcess } from '../process.js';
import { InfraError } from '../../shared/errors.js';
import { gzipCpio, type CpioEntry } from './cpio.js';

export const DONE_MARKER = 'multisect: reproducer finished';

export interface InitramfsOptions {
  busybox: string;
  reproducer: string;
  out: string;
  scratchDir: string;
  compiler: string;
  signal: AbortSignal;
  /** Set by the init (busybox sysctl -w) before the reproducer runs. */
  sysctls?: { key: string; value: string }[];
  /** For .syz reproducers: syzkaller's binaries (a name is looked up on the PATH). */
  syzExecprog?: string;
  syzExecutor?: string;
}

export type ReproducerKind = 'c' | 'syz' | 'sh';

export function reproducerKind(path: string): ReproducerKind {
  return path.endsWith('.c') ? 'c' : path.endsWith('.syz') ? 'syz' : 'sh';
}

/**
 * syz-execprog's flags for a program, from its header (`# {"threaded":true,"procs":1,...}`, as
 * syzkaller writes them). A program that asks to repeat runs for `repeatSeconds` at most.
 */
export function syzExecprogArgs(program: string, repeatSeconds = 120): string[] {
  let opts: Record<string, unknown> = {};
  const header = program.split('\n').find((l) => l.startsWith('#'));
  const json = header && /\{.*\}/.exec(header)?.[0];
  if (json) {
    try {
      const parsed: unknown = JSON.parse(json);
      if (parsed && typeof parsed === 'object') opts = parsed as Record<string, unknown>;
    } catch {
      // An old header format (name:value pairs): run with the defaults.
    }
  }
  const args = ['/syz-execprog', '-executor=/syz-executor', '-cover=0'];
  if (typeof opts.threaded === 'boolean') args.push(`-threaded=${opts.threaded}`);
  if (typeof opts.procs === 'number' && opts.procs >= 1) args.push(`-procs=${Math.floor(opts.procs)}`);
  if (typeof opts.sandbox === 'string' && /^[a-z_]*$/.test(opts.sandbox)) args.push(`-sandbox=${opts.sandbox || 'none'}`);
  const repeat = opts.repeat === true;
  args.push(`-repeat=${repeat ? 0 : 1}`, '/repro.syz');
  return repeat ? ['timeout', '-s', 'KILL', String(repeatSeconds), ...args] : args;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function initScript(run: string[], sysctls: { key: string; value: string }[]): string {
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t debugfs none /sys/kernel/debug 2>/dev/null
${sysctls.map((s) => `sysctl -w ${shellQuote(`${s.key}=${s.value}`)} || echo "multisect: cannot set sysctl ${s.key}"`).join('\n')}
echo "multisect: running the reproducer"
${run.join(' ')}
echo "${DONE_MARKER}"
reboot -f
`;
}

async function findProgram(name: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  const candidates = isAbsolute(name) ? [name] : path.split(delimiter).filter(Boolean).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      await access(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  return undefined;
}

async function syzBinaries(o: InitramfsOptions): Promise<{ execprog: string; executor: string }> {
  const hint = "build syzkaller's binaries (make execprog executor) on this agent, then put them on its PATH or give recipe params syz_execprog=PATH and syz_executor=PATH";
  const execprog = await findProgram(o.syzExecprog ?? 'syz-execprog');
  if (!execprog) throw new InfraError(`a .syz reproducer needs syz-execprog, and ${JSON.stringify(o.syzExecprog ?? 'syz-execprog')} is not an executable file on this agent`, { hint });
  const executor = o.syzExecutor ? await findProgram(o.syzExecutor) : ((await findProgram(join(dirname(execprog), 'syz-executor'))) ?? (await findProgram('syz-executor')));
  if (!executor) throw new InfraError(`a .syz reproducer needs syz-executor, and ${JSON.stringify(o.syzExecutor ?? 'syz-executor')} is not an executable file on this agent`, { hint });
  return { execprog, executor };
}

/** Returns the path of the gzipped archive. Throws InfraError when busybox, the compiler or syzkaller's binaries are missing. */
export async function buildInitramfs(o: InitramfsOptions): Promise<{ path: string; compileError?: string }> {
  let busybox: Buffer;
  try {
    busybox = await readFile(o.busybox);
  } catch (err) {
    throw new InfraError(`busybox ${o.busybox} is missing`, { cause: err, hint: 'install busybox-static' });
  }
  const kind = reproducerKind(o.reproducer);
  const extra: CpioEntry[] = [];
  let repro = o.reproducer;
  let run: string[];
  if (kind === 'c') {
    const exe = join(o.scratchDir, 'repro');
    const r = await runProcess([o.compiler, '-static', '-O2', '-pthread', '-o', exe, repro], { cwd: o.scratchDir, env: { ...process.env, TMPDIR: o.scratchDir }, signal: o.signal, timeoutMs: 300_000 });
    if (r.spawnError) throw new InfraError(`cannot run ${o.compiler} for the reproducer: ${r.spawnError.message}`, { cause: r.spawnError });
    if (r.code !== 0) return { path: '', compileError: r.output.slice(-4000) };
    repro = exe;
    run = ['/repro'];
  } else if (kind === 'syz') {
    const bins = await syzBinaries(o);
    extra.push(
      { type: 'file', path: 'syz-execprog', data: await readFile(bins.execprog), mode: 0o755 },
      { type: 'file', path: 'syz-executor', data: await readFile(bins.executor), mode: 0o755 },
      { type: 'file', path: 'repro.syz', data: await readFile(repro), mode: 0o644 },
    );
    run = syzExecprogArgs(await readFile(repro, 'utf8'));
  } else {
    run = ['sh', '/repro'];
  }
  const entries: CpioEntry[] = [
    ...['bin', 'dev', 'proc', 'sys', 'tmp'].map((d) => ({ type: 'dir' as const, path: d })),
    { type: 'char', path: 'dev/console', major: 5, minor: 1 },
    { type: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 },
    { type: 'file', path: 'init', data: initScript(run, o.sysctls ?? []), mode: 0o755 },
    ...(kind === 'syz' ? extra : [{ type: 'file' as const, path: 'repro', data: await readFile(repro), mode: 0o755 }]),
  ];
  await writeFile(o.out, gzipCpio(entries));
  return { path: o.out };
}
