/**
 * Reads a V8 CPU profile (node --cpu-prof) and ranks functions by self time and by inclusive
 * time (a function counted once per sample however deep it recurses), optionally only over the
 * samples taken in a time window of CLOCK_MONOTONIC (process.hrtime; V8 stamps its samples with
 * the same clock), so the coordinator's start-up does not dilute the run.
 *
 *   npx tsx test/bench/scale/profile.ts FILE.cpuprofile [--top 30] [--from US --to US] [--json]
 */
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionShare {
  name: string;
  where: string;
  selfMs: number;
  selfShare: number;
  totalMs: number;
  totalShare: number;
}

export interface ProfileSummary {
  /** Sampled time in the window (ms), idle included. */
  sampledMs: number;
  /** Sampled time the thread was not idle (ms): the base of the shares. */
  busyMs: number;
  gcMs: number;
  bySelf: FunctionShare[];
  byTotal: FunctionShare[];
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

export function summarizeProfile(file: string, opts: { top?: number; fromUs?: number; toUs?: number; root?: string } = {}): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of prof.nodes) byId.set(n.id, n);
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'}\0${n.callFrame.url}\0${n.callFrame.lineNumber}`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let t = prof.startTime;
  let sampled = 0;
  let idle = 0;
  let gc = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    t += prof.timeDeltas[i] ?? 0;
    // The delta before a sample is the time it stands for (as Chrome DevTools counts).
    const dt = prof.timeDeltas[i + 1] ?? 0;
    if (opts.fromUs !== undefined && t < opts.fromUs) continue;
    if (opts.toUs !== undefined && t > opts.toUs) continue;
    const node = byId.get(prof.samples[i]!);
    if (!node) continue;
    sampled += dt;
    const name = node.callFrame.functionName;
    if (name === '(idle)') {
      idle += dt;
      continue;
    }
    if (name === '(garbage collector)') gc += dt;
    const k = keyOf(node);
    self.set(k, (self.get(k) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id)!;
      if (SPECIAL.has(n.callFrame.functionName)) continue;
      const key = keyOf(n);
      if (seen.has(key)) continue;
      seen.add(key);
      total.set(key, (total.get(key) ?? 0) + dt);
    }
  }
  const busy = sampled - idle;
  const share = (m: Map<string, number>): FunctionShare[] =>
    [...m.keys()].map((k) => {
      const [name, url, line] = k.split('\0');
      const path = url?.startsWith('file://') ? url.slice(7) : (url ?? '');
      const where = path ? `${opts.root ? relative(opts.root, path) : path}:${Number(line) + 1}` : '';
      return { name: name!, where, selfMs: (self.get(k) ?? 0) / 1000, selfShare: (self.get(k) ?? 0) / busy, totalMs: (total.get(k) ?? 0) / 1000, totalShare: (total.get(k) ?? 0) / busy };
    });
  const top = opts.top ?? 30;
  return {
    sampledMs: sampled / 1000,
    busyMs: busy / 1000,
    gcMs: gc / 1000,
    bySelf: share(self).sort((a, b) => b.selfMs - a.selfMs).slice(0, top),
    byTotal: share(total).sort((a, b) => b.totalMs - a.totalMs).slice(0, top),
  };
}

export function renderProfile(s: ProfileSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;
  const lines = [
    `profile: ${s.sampledMs.toFixed(0)} ms sampled, ${s.busyMs.toFixed(0)} ms not idle (the base of the shares), GC ${s.gcMs.toFixed(0)} ms (${pct(s.gcMs / Math.max(1, s.busyMs))})`,
    'by self time:',
    ...s.bySelf.map((f) => `  ${pct(f.selfShare)} ${f.selfMs.toFixed(0).padStart(7)} ms  ${f.name}  ${f.where}`),
    'by inclusive time:',
    ...s.byTotal.map((f) => `  ${pct(f.totalShare)} ${f.totalMs.toFixed(0).padStart(7)} ms  ${f.name}  ${f.where}`),
  ];
  return lines.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a));
  if (!file) {
    process.stderr.write('usage: profile.ts FILE.cpuprofile [--top N] [--from US --to US] [--json]\n');
    process.exit(2);
  }
  const num = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? Number(args[i + 1]) : undefined;
  };
  const s = summarizeProfile(file, { top: num('--top') ?? 30, fromUs: num('--from'), toUs: num('--to'), root: process.cwd() });
  process.stdout.write(args.includes('--json') ? `${JSON.stringify(s, null, 2)}\n` : `${renderProfile(s)}\n`);
}
