/**
 * Fails on an import cycle among the project's own modules, on coordinator/ and agent/
 * importing each other (they talk only over gRPC and NATS, through shared/), and on the pure
 * parts (the engine, the job reducer) reaching an I/O module, directly or through the project's
 * modules they import at run time. Cheap: reads the import lines of every .ts file; no bundler
 * needed.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');
const SOURCE_DIRS = ['shared', 'coordinator', 'agent', 'cli'];

function walk(dir: string, out: string[]): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    if (name === 'node_modules' || name === 'gen') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
}

const files: string[] = [];
for (const d of SOURCE_DIRS) walk(join(root, d), files);
const importRe = /^\s*(?:import|export)\s[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|^\s*import\s+['"](\.{1,2}\/[^'"]+)['"]/gm;
const anyImportRe = /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm;
/** Modules that do I/O: the pure parts must not load them. */
const IO_MODULES = [/^node:(fs|fs\/promises|child_process|net|http|https|http2|dgram|dns|tls|worker_threads|cluster)$/, /^(fs|child_process|net)$/, /^nats$/, /^@grpc\//, /^pino$/];
/** Project files that do I/O through a helper (checked like the external modules). */
const IO_FILES = ['shared/git.ts', 'shared/nats.ts', 'shared/grpc.ts', 'shared/mirror.ts'];
/** The pure parts: no I/O at run time (type-only imports are erased and allowed). */
const PURE = [/^coordinator\/engine\//, /^coordinator\/job-run\//, /^coordinator\/repo\.ts$/, /^coordinator\/host-faults\.ts$/];
const external = new Map<string, string[]>();
const graph = new Map<string, string[]>();
const problems: string[] = [];
const top = (f: string) => relative(root, f).split('/')[0];

for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const deps: string[] = [];
  for (const m of text.matchAll(importRe)) {
    const spec = m[1] ?? m[2];
    if (!spec) continue;
    // Type-only imports cannot form runtime cycles, but boundaries apply to them too.
    const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
    const from = top(file);
    const to = top(target);
    if ((from === 'coordinator' && to === 'agent') || (from === 'agent' && to === 'coordinator')) {
      problems.push(`${relative(root, file)} imports ${spec}: ${from}/ and ${to}/ must not import each other; move the common part to shared/`);
    }
    if (from === 'shared' && (to === 'coordinator' || to === 'agent' || to === 'cli')) {
      problems.push(`${relative(root, file)} imports ${spec}: shared/ must not depend on ${to}/`);
    }
    if (!/^\s*import\s+type\s/.test(m[0])) deps.push(target);
  }
  graph.set(file, deps);
  const ext: string[] = [];
  for (const m of text.matchAll(anyImportRe)) {
    const spec = m[1] ?? m[2];
    if (spec && !spec.startsWith('.') && !/^\s*(?:import|export)\s+type\s/.test(m[0])) ext.push(spec);
  }
  external.set(file, ext);
}

// The pure parts: the runtime import closure of each reaches no I/O module.
function ioReached(file: string, seen = new Set<string>()): string | undefined {
  if (seen.has(file)) return undefined;
  seen.add(file);
  const rel = relative(root, file);
  if (IO_FILES.includes(rel)) return rel;
  const bad = (external.get(file) ?? []).find((spec) => IO_MODULES.some((re) => re.test(spec)));
  if (bad) return `${bad} (imported by ${rel})`;
  for (const dep of graph.get(file) ?? []) {
    const hit = ioReached(dep, seen);
    if (hit) return hit;
  }
  return undefined;
}
for (const file of graph.keys()) {
  const rel = relative(root, file);
  if (!PURE.some((re) => re.test(rel))) continue;
  const hit = ioReached(file);
  if (hit) problems.push(`${rel} reaches an I/O module at run time: ${hit}; the engine and the job reducer stay pure (pass the I/O in through a port)`);
}

// Cycle detection (iterative DFS with colours).
const colour = new Map<string, 0 | 1 | 2>();
const stack: string[] = [];
function dfs(node: string): void {
  colour.set(node, 1);
  stack.push(node);
  for (const dep of graph.get(node) ?? []) {
    if (!graph.has(dep)) continue;
    const c = colour.get(dep) ?? 0;
    if (c === 1) {
      const cycle = stack.slice(stack.indexOf(dep)).concat(dep).map((f) => relative(root, f));
      problems.push(`import cycle: ${cycle.join(' -> ')}`);
    } else if (c === 0) dfs(dep);
  }
  stack.pop();
  colour.set(node, 2);
}
for (const f of graph.keys()) if ((colour.get(f) ?? 0) === 0) dfs(f);

if (problems.length > 0) {
  for (const p of problems) console.error(`check-imports: ${p}`);
  process.exit(1);
}
console.log(`check-imports: ${files.length} files, no cycles, boundaries kept`);
