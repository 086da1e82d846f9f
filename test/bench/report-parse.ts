/**
 * Benchmark of the crash-report parser on a large hostile console: 50 MB of interleaved CPUs
 * ("[  123.456789][ T1234]" and "[  123.456789][    C1]" prefixes, "CPU: 1 PID: ..." lines),
 * benign lines that carry oops headers (suppressed), binary garbage, and one crash at the end.
 * Prints MB/s of parse() on the raw bytes (UTF-8 decoding included); exits 1 below the target.
 *
 *   npx tsx test/bench/report-parse.ts      (BENCH_MB=50, BENCH_MIN_MBPS=50, BENCH_RUNS=3)
 */
import { performance } from 'node:perf_hooks';
import { parse } from '../../shared/report/index.js';

const MB = Number(process.env.BENCH_MB ?? 50);
const MIN_MBPS = Number(process.env.BENCH_MIN_MBPS ?? 50);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

/** Deterministic, so every run measures the same log. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NOISE = [
  'audit: type=1400 audit(1750305980.320:67): avc:  denied  { mount } for  pid=297 comm="syz-executor821" name="/" dev="tmpfs"',
  'CPU: 1 PID: 4242 Comm: kworker/1:2 Not tainted 6.9.0 #1',
  'e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: RX',
  'EXT4-fs (loop3): INFO: recovery required on readonly filesystem',
  'INFO: lockdep is turned off.',
  'WARNING: workqueue cpumask: online intersect > possible intersect',
  ' ? __lock_acquire+0x1f2/0x8f0',
  ' do_syscall_64+0x38/0xb0',
  'RIP: 0033:0x7f3c1f27cae9',
  'netlink: 4 bytes leftover after parsing attributes in process `syz-executor.0\'.',
];

const CRASH = [
  'general protection fault, probably for non-canonical address 0xdffffc0000000003: 0000 [#1] PREEMPT SMP KASAN',
  'KASAN: null-ptr-deref in range [0x0000000000000018-0x000000000000001f]',
  'CPU: 0 PID: 4410 Comm: repro Not tainted 6.5.0 #3',
  'RIP: 0010:tcf_exts_dump_stats+0x3b/0x1a0',
  'RSP: 0018:ffffc900039ef3a8 EFLAGS: 00010202',
  'Call Trace:',
  ' <TASK>',
  ' fl_dump+0x2a0/0x4d0',
  ' tcf_fill_node+0x52a/0x960',
  ' rtnetlink_rcv_msg+0x3c7/0xe00',
  ' do_syscall_64+0x38/0xb0',
  ' entry_SYSCALL_64_after_hwframe+0x63/0xcd',
  ' </TASK>',
  'Modules linked in:',
];

function buildLog(bytes: number): Buffer {
  const r = rng(42);
  const chunks: Buffer[] = [];
  let size = 0;
  let ts = 100;
  const prefix = (ctx: string): string => `[${ts.toFixed(6).padStart(12)}][${ctx.padStart(6)}] `;
  const ctx = (): string => (r() < 0.3 ? `C${Math.floor(r() * 4)}` : `T${1000 + Math.floor(r() * 9000)}`);
  while (size < bytes) {
    const lines: string[] = [];
    for (let i = 0; i < 512; i++) {
      ts += r() * 0.001;
      lines.push(prefix(ctx()) + NOISE[Math.floor(r() * NOISE.length)]!);
    }
    const text = Buffer.from(lines.join('\n') + '\n');
    chunks.push(text);
    size += text.length;
    if (r() < 0.2) {
      // Binary garbage: a serial line glitch, invalid UTF-8, NULs, no newlines for a while.
      const junk = Buffer.alloc(256 + Math.floor(r() * 4096));
      for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(r() * 256);
      chunks.push(junk, Buffer.from('\n'));
      size += junk.length + 1;
    }
  }
  // The crash, in one task's context, with another CPU interleaving.
  const crash = CRASH.flatMap((l, i) => [prefix('T4410') + l, ...(i % 3 === 0 ? [prefix('C1') + NOISE[0]] : [])]);
  chunks.push(Buffer.from(crash.join('\n') + '\n'));
  return Buffer.concat(chunks);
}

const log = buildLog(MB * 1024 * 1024);
const mb = log.length / (1024 * 1024);
let best = Infinity;
for (let i = 0; i < RUNS; i++) {
  const t0 = performance.now();
  const rep = parse(log);
  const ms = performance.now() - t0;
  best = Math.min(best, ms);
  if (rep?.title !== 'general protection fault in tcf_exts_dump_stats') {
    process.stderr.write(`report-parse: wrong result: ${JSON.stringify(rep?.title)}\n`);
    process.exit(1);
  }
}
const mbps = mb / (best / 1000);
process.stdout.write(`report-parse: ${mb.toFixed(1)} MB in ${best.toFixed(0)} ms (best of ${RUNS}): ${mbps.toFixed(0)} MB/s (target ${MIN_MBPS} MB/s)\n`);
if (mbps < MIN_MBPS) process.exit(1);
