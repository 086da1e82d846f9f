/**
 * Fails on an import cycle among the project's own modules, and on coordinator/ and agent/
 * importing each other (they talk only over gRPC and NATS, through shared/). Cheap: reads the
 * import lines of every .ts file; no bundler needed.
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
