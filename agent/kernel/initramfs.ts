/**
 * The default test initramfs: busybox, the reproducer and an init that runs it, prints a marker
 * and ends the VM. It reboots rather than powers off: a small kernel without ACPI (tinyconfig)
 * only halts on poweroff and qemu would wait for ever, while a reboot under -no-reboot ends qemu
 * on every kernel. A reproducer ending in .c is compiled statically on the host first (the guest
 * has no libc); anything else is run with the guest's sh.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
}

function initScript(binary: boolean): string {
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t debugfs none /sys/kernel/debug 2>/dev/null
echo "multisect: running the reproducer"
${binary ? '/repro' : 'sh /repro'}
echo "${DONE_MARKER}"
reboot -f
`;
}

/** Returns the path of the gzipped archive. Throws InfraError when busybox or the compiler is missing. */
export async function buildInitramfs(o: InitramfsOptions): Promise<{ path: string; compileError?: string }> {
  let busybox: Buffer;
  try {
    busybox = await readFile(o.busybox);
  } catch (err) {
    throw new InfraError(`busybox ${o.busybox} is missing`, { cause: err, hint: 'install busybox-static' });
  }
  let repro = o.reproducer;
  const binary = repro.endsWith('.c');
  if (binary) {
    const exe = join(o.scratchDir, 'repro');
    const r = await runProcess([o.compiler, '-static', '-O2', '-pthread', '-o', exe, repro], { cwd: o.scratchDir, env: process.env, signal: o.signal, timeoutMs: 300_000 });
    if (r.spawnError) throw new InfraError(`cannot run ${o.compiler} for the reproducer: ${r.spawnError.message}`, { cause: r.spawnError });
    if (r.code !== 0) return { path: '', compileError: r.output.slice(-4000) };
    repro = exe;
  }
  const entries: CpioEntry[] = [
    ...['bin', 'dev', 'proc', 'sys', 'tmp'].map((d) => ({ type: 'dir' as const, path: d })),
    { type: 'char', path: 'dev/console', major: 5, minor: 1 },
    { type: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 },
    { type: 'file', path: 'init', data: initScript(binary), mode: 0o755 },
    { type: 'file', path: 'repro', data: await readFile(repro), mode: 0o755 },
  ];
  await writeFile(o.out, gzipCpio(entries));
  return { path: o.out };
}
