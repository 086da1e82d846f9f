/**
 * The files a syzbot bug comes with travel with the job: read by the CLI from the operator's disk,
 * checked on submission (names, sizes, hashes), left out of listings, written for each probe on
 * the agent (damaged ones refused), and used by the kernel recipe: the .config, a C or syz
 * reproducer packed into the initramfs with the job's sysctls.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, chmod, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { buildSpec } from '../../../cli/actions/jobs.js';
import { writeJobFiles } from '../../../agent/job-files.js';
import { buildInitramfs, syzExecprogArgs } from '../../../agent/kernel/initramfs.js';
import { parseKernelParams } from '../../../agent/kernel/params.js';
import { withoutFileContents } from '../../../coordinator/operator-service.js';
import { InfraError, InvalidJobError, InvalidOptionError } from '../../../shared/errors.js';
import { compileJobSpec, SPEC_LIMITS } from '../../../shared/job-spec.js';
import { Job, JobFile, JobSpec } from '../../../shared/proto.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'job-files-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const kernelSpec = (files: Partial<JobFile>[], params: Record<string, string> = {}) =>
  JobSpec.fromPartial({ repo: '/tmp', bad: 'HEAD', goods: ['v1.0'], recipe: { kind: 'kernel', params, files: files.map((f) => JobFile.fromPartial(f)) } });

describe('job files on submission', () => {
  const bytes = (n: number) => Buffer.alloc(n, 0x41);
  const rejects = (files: Partial<JobFile>[], field: RegExp, message: RegExp, params?: Record<string, string>) =>
    assert.throws(() => compileJobSpec(kernelSpec(files, params)), (e: unknown) => e instanceof InvalidJobError && field.test(e.field) && message.test(e.message));

  it('fills size and sha256, and keeps the content', () => {
    const s = compileJobSpec(kernelSpec([{ name: 'kernel.config', content: Buffer.from('CONFIG_X=y\n') }]));
    const f = s.recipe!.files[0]!;
    assert.equal(f.size, 11);
    assert.match(f.sha256, /^[0-9a-f]{64}$/);
    assert.equal(Buffer.from(f.content).toString(), 'CONFIG_X=y\n');
  });

  it('names the bad file and why', () => {
    rejects([{ name: '../etc/passwd', content: bytes(1) }], /^recipe\.files\[0\]\.name$/, /is not a file name/);
    rejects([{ name: '.config', content: bytes(1) }], /^recipe\.files\[0\]\.name$/, /is not a file name/);
    rejects([{ name: 'a', content: bytes(1) }, { name: 'a', content: bytes(1) }], /^recipe\.files\[1\]\.name$/, /given twice/);
    rejects([{ name: 'big', content: bytes(SPEC_LIMITS.maxFileBytes + 1) }], /^recipe\.files\[0\]$/, /big has \d+ bytes; at most/);
    rejects([1, 2, 3].map((i) => ({ name: `f${i}`, content: bytes(SPEC_LIMITS.maxFileBytes) })), /^recipe\.files$/, /together/);
    rejects(Array.from({ length: SPEC_LIMITS.maxFiles + 1 }, (_, i) => ({ name: `f${i}`, content: bytes(1) })), /^recipe\.files$/, /at most 16 files/);
    rejects([{ name: 'x', content: bytes(2), sha256: 'ab'.repeat(32) }], /^recipe\.files\[0\]\.sha256$/, /does not match/);
    rejects([], /^recipe\.params\.sysctl$/, /line 2 "oops" is not key=value/, { sysctl: 'kernel.panic_on_warn=1\noops' });
    rejects([], /^recipe\.params\.sysctl$/, /is not key=value/, { sysctl: "kernel.x='1'" });
  });

  it('leaves the content out of listings, with name, size and hash kept', () => {
    const s = compileJobSpec(kernelSpec([{ name: 'repro.c', content: Buffer.from('int main(){}') }]));
    const listed = withoutFileContents(Job.fromPartial({ id: 'j1', spec: s }));
    const f = listed.spec!.recipe!.files[0]!;
    assert.equal(f.content.length, 0);
    assert.equal(f.size, 12);
    assert.equal(f.sha256, s.recipe!.files[0]!.sha256);
    assert.equal(s.recipe!.files[0]!.content.length, 12, 'the stored job keeps its files');
  });
});

describe('job files from the CLI', () => {
  it('reads --kernel-config, --reproducer, --file, --sysctl, --cmdline and --compiler into the job', async () => {
    await writeFile(join(dir, 'config.txt'), 'CONFIG_PRINTK=y\n');
    await writeFile(join(dir, 'crash.c'), 'int main(void) { return 0; }\n');
    await writeFile(join(dir, 'notes.txt'), 'x');
    const s = buildSpec(
      { repo: dir, bad: 'HEAD', goods: [], recipe: 'kernel', kernelConfig: 'config.txt', reproducer: 'crash.c', files: ['notes.txt'], sysctls: ['kernel.panic_on_warn=1', 'vm.x=2'], cmdline: 'console=ttyS0', compiler: 'gcc-12' },
      dir,
    );
    assert.deepEqual(s.recipe!.files.map((f) => [f.name, f.size]), [['kernel.config', 16], ['repro.c', 29], ['notes.txt', 1]]);
    assert.deepEqual(s.recipe!.params, { config: 'kernel.config', reproducer: 'repro.c', sysctl: 'kernel.panic_on_warn=1\nvm.x=2', cmdline: 'console=ttyS0', compiler: 'gcc-12' });
    const own = buildSpec({ repo: dir, bad: 'HEAD', goods: [], recipe: 'kernel', reproducer: join(dir, 'crash.c'), params: { reproducer: 'mine.c' } }, dir);
    assert.equal(own.recipe!.params.reproducer, 'mine.c', '--param wins');
  });

  it('names the flag and the file when one is wrong', () => {
    const fails = (input: object, flag: string, message: RegExp) =>
      assert.throws(() => buildSpec({ repo: dir, bad: 'HEAD', goods: [], recipe: 'kernel', ...input }, dir), (e: unknown) => e instanceof InvalidOptionError && e.field === flag && message.test(e.message));
    fails({ kernelConfig: 'missing.config' }, '--kernel-config', /cannot read .*missing\.config: ENOENT/);
    fails({ reproducer: '.' }, '--reproducer', /is not a regular file/);
    fails({ sysctls: ['novalue'] }, '--sysctl', /expected key=value/);
    fails({ sysctls: ["k='v'"] }, '--sysctl', /is not key=value/);
    fails({ recipe: 'script', test: './t', kernelConfig: 'config.txt' }, '--kernel-config', /is for the kernel recipe/);
  });
});

describe('job files on the agent', () => {
  it('writes them for the probe, and the kernel params that name one use it', async () => {
    const scratch = join(dir, 'scratch');
    const spec = compileJobSpec(kernelSpec([{ name: 'kernel.config', content: Buffer.from('CONFIG_X=y\n') }, { name: 'repro.syz', content: Buffer.from('r0 = open()\n') }]));
    const { dir: filesDir, paths } = await writeJobFiles(spec.recipe!.files, scratch);
    assert.equal(await readFile(paths['kernel.config']!, 'utf8'), 'CONFIG_X=y\n');
    const p = parseKernelParams({ config: 'kernel.config', reproducer: 'repro.syz', sysctl: 'kernel.panic_on_warn=1' }, { worktree: '/wt', buildDir: '/b', cpus: 2, jobFiles: paths });
    assert.equal(p.config, join(filesDir, 'kernel.config'));
    assert.equal(p.reproducer, join(filesDir, 'repro.syz'));
    assert.deepEqual(p.sysctls, [{ key: 'kernel.panic_on_warn', value: '1' }]);
    assert.equal(parseKernelParams({ config: 'arch/x86/configs/lab' }, { worktree: '/wt', buildDir: '/b', cpus: 2, jobFiles: paths }).config, '/wt/arch/x86/configs/lab', 'a name that is no job file is a worktree path');
  });

  it('refuses a damaged file and a name that is a path', async () => {
    await assert.rejects(writeJobFiles([JobFile.fromPartial({ name: 'a', content: Buffer.from('x'), sha256: '00'.repeat(32) })], join(dir, 's2')), (e: unknown) => e instanceof InfraError && /arrived damaged/.test(e.message));
    await assert.rejects(writeJobFiles([JobFile.fromPartial({ name: '../a', content: Buffer.from('x') })], join(dir, 's3')), (e: unknown) => e instanceof InfraError && /not a plain file name/.test(e.message));
  });
});

describe('reproducers in the initramfs', () => {
  const cpioText = async (path: string) => gunzipSync(await readFile(path)).toString('latin1');
  const opts = (reproducer: string, extra: object = {}) => ({
    busybox: join(dir, 'syzbin', 'syz-execprog'), reproducer, out: join(dir, `${Math.random()}.cpio.gz`), scratchDir: dir, compiler: 'gcc', signal: new AbortController().signal, ...extra,
  });

  it('a syz program runs with syz-execprog and syz-executor, with the options of its header, after the sysctls', async () => {
    const bin = join(dir, 'syzbin');
    await mkdir(bin, { recursive: true });
    for (const b of ['syz-execprog', 'syz-executor']) {
      await writeFile(join(bin, b), `#!/bin/sh\n# ${b} stand-in\n`);
      await chmod(join(bin, b), 0o755);
    }
    const repro = join(dir, 'repro.syz');
    await writeFile(repro, '# {"threaded":true,"repeat":true,"procs":6,"sandbox":"none"}\nr0 = openat$foo(0xffffffffffffff9c, &(0x7f0000000000)=\'/dev/foo\\x00\', 0x0, 0x0)\n');
    const r = await buildInitramfs(opts(repro, { syzExecprog: join(bin, 'syz-execprog'), sysctls: [{ key: 'kernel.panic_on_warn', value: '1' }] }));
    const text = (await cpioText(r.path)).replace(/[^\n -~]/g, '');
    assert.match(text, /syz-execprog stand-in/);
    assert.match(text, /syz-executor stand-in/, 'syz-executor found beside syz-execprog');
    assert.match(text, /openat\$foo/);
    assert.match(text, /sysctl -w 'kernel\.panic_on_warn=1'[^\n]*\n[\s\S]*running the reproducer"\ntimeout -s KILL 120 \/syz-execprog -executor=\/syz-executor -cover=0 -threaded=true -procs=6 -sandbox=none -repeat=0 \/repro\.syz\n/);
    assert.deepEqual(syzExecprogArgs('r0 = foo()\n'), ['/syz-execprog', '-executor=/syz-executor', '-cover=0', '-repeat=1', '/repro.syz']);
  });

  it('a syz program without syzkaller on the agent is an InfraError that says what to install', async () => {
    const repro = join(dir, 'lonely.syz');
    await writeFile(repro, 'r0 = foo()\n');
    await assert.rejects(
      buildInitramfs(opts(repro, { syzExecprog: join(dir, 'nowhere', 'syz-execprog') })),
      (e: unknown) => e instanceof InfraError && /needs syz-execprog/.test(e.message) && /make execprog executor/.test(e.hint ?? ''),
    );
  });
});
