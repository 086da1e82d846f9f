/**
 * The files of a syzbot bug, from the operator's disk into the job (Recipe.files), with the kernel
 * params that point at them. Read here, on the operator's machine, because the agents have no
 * access to it: a host path in a job would exist only where the job was submitted.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { InvalidOptionError } from '../../shared/errors.js';
import { JOB_FILE_NAME, SPEC_LIMITS } from '../../shared/job-spec.js';
import { JobFile } from '../../shared/proto.js';

export interface KernelFileFlags {
  /** --kernel-config: the kernel .config (syzbot's "kernel config"). */
  kernelConfig?: string;
  /** --reproducer: a C program (.c) or a syzkaller program (.syz; anything else: a shell script). */
  reproducer?: string;
  /** --sysctl key=value (repeatable). */
  sysctls?: string[];
  /** --cmdline: the kernel command line. */
  cmdline?: string;
  /** --compiler: CC for the build and the C reproducer. */
  compiler?: string;
  /** --file PATH (repeatable): any other file, for a job's own build or test command. */
  files?: string[];
}

/** The job file names the flags use. */
export const KERNEL_CONFIG_FILE = 'kernel.config';

function readJobFile(flag: string, path: string, name: string, cwd: string): JobFile {
  const full = resolve(cwd, path);
  let size: number;
  try {
    const st = statSync(full);
    if (!st.isFile()) throw new InvalidOptionError(flag, `${full} is not a regular file`);
    size = st.size;
  } catch (err) {
    if (err instanceof InvalidOptionError) throw err;
    throw new InvalidOptionError(flag, `cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err, hint: 'give the path of the file on this machine: the CLI sends its content with the job' });
  }
  if (size > SPEC_LIMITS.maxFileBytes) {
    throw new InvalidOptionError(flag, `${full} has ${size} bytes; a job file may have at most ${SPEC_LIMITS.maxFileBytes}`);
  }
  if (!JOB_FILE_NAME.test(name)) {
    throw new InvalidOptionError(flag, `${JSON.stringify(name)} cannot be a job file name`, { hint: 'rename the file: letters, digits, ".", "_" and "-", not starting with "." or "-"' });
  }
  return JobFile.fromPartial({ name, content: readFileSync(full) });
}

/** Files and params for the flags; params the operator gave with --param win over none. */
export function kernelFiles(f: KernelFileFlags, cwd = process.cwd()): { files: JobFile[]; params: Record<string, string> } {
  const files: JobFile[] = [];
  const params: Record<string, string> = {};
  if (f.kernelConfig) {
    files.push(readJobFile('--kernel-config', f.kernelConfig, KERNEL_CONFIG_FILE, cwd));
    params.config = KERNEL_CONFIG_FILE;
  }
  if (f.reproducer) {
    const ext = f.reproducer.endsWith('.c') ? '.c' : f.reproducer.endsWith('.syz') ? '.syz' : '.sh';
    const name = `repro${ext}`;
    files.push(readJobFile('--reproducer', f.reproducer, name, cwd));
    params.reproducer = name;
  }
  for (const p of f.files ?? []) {
    const name = basename(p);
    if (files.some((x) => x.name === name)) throw new InvalidOptionError('--file', `two job files are named ${JSON.stringify(name)}`, { hint: 'kernel.config and repro.* are taken by --kernel-config and --reproducer' });
    files.push(readJobFile('--file', p, name, cwd));
  }
  if (f.sysctls?.length) {
    for (const s of f.sysctls) if (!/^[^=\s]+=/.test(s)) throw new InvalidOptionError('--sysctl', `expected key=value, got ${JSON.stringify(s)}`);
    params.sysctl = f.sysctls.join('\n');
  }
  if (f.cmdline) params.cmdline = f.cmdline;
  if (f.compiler) params.compiler = f.compiler;
  return { files, params };
}
