/**
 * make-history: generate a lab kernel tree to bisect: an out-of-tree module with a planted bug
 * (`--tree module`, the fast mode), or a history on the real Linux tree of Debian's linux-source
 * (`--tree linux --source DIR`, DIR from deploy/lab/setup-linux) with a bug planted in prctl(2).
 *
 *   npx tsx deploy/lab/make-history.ts --out DIR --kind null-deref [--commits 400] [--seed 1]
 *       [--probability 0.5] [--unbuildable K [--unbuildable-at before|after|far]] [--json]
 *   npx tsx deploy/lab/make-history.ts --tree linux --source ~/.cache/multisect/lab/linux-current/linux-source-6.1 \
 *       --out DIR --kind null-deref|warning|flaky [--commits 200]
 *
 * Prints the repository, the good/bad refs and the planted culprit (one JSON object with --json).
 */
import { Command, InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { BUG_KINDS, isBugKind } from './history/bugs.js';
import { makeHistory } from './history/generate.js';
import { LINUX_BUG_KINDS, makeLinuxHistory, type LinuxBugKind } from './history/linux.js';

function int(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}

const program = new Command('make-history')
  .description('generate a git history of a kernel module with one planted bug')
  .requiredOption('--out <dir>', 'directory of the new repository (absent or empty)')
  .option('--tree <tree>', 'module (an out-of-tree module, fast) or linux (the real Linux tree)', (v) => {
    if (v !== 'module' && v !== 'linux') throw new InvalidArgumentError('module or linux');
    return v;
  }, 'module')
  .option('--source <dir>', 'with --tree linux: the unpacked Linux source (deploy/lab/setup-linux --json prints it)')
  .requiredOption('--kind <kind>', `bug kind: ${BUG_KINDS.join(', ')} (--tree linux: ${LINUX_BUG_KINDS.join(', ')})`, (v) => {
    if (!isBugKind(v)) throw new InvalidArgumentError(`one of ${BUG_KINDS.join(', ')}`);
    return v;
  })
  .option('--commits <n>', 'number of commits (default 400, --tree linux 200)', int('--commits', 10))
  .option('--seed <n>', 'seed: equal seeds give equal histories', int('--seed', 0), 1)
  .option('--probability <p>', 'flaky: chance that one run crashes', (v) => {
    const p = Number(v);
    if (!(p > 0 && p <= 1)) throw new InvalidArgumentError('a number in (0, 1]');
    return p;
  }, 0.5)
  .option('--unbuildable <k>', 'make K consecutive mainline commits fail to compile', int('--unbuildable', 0), 0)
  .option('--unbuildable-at <where>', 'before (the culprit fixes the build), after, or far from the culprit', (v) => {
    if (v !== 'before' && v !== 'after' && v !== 'far') throw new InvalidArgumentError('before, after or far');
    return v;
  }, 'before')
  .option('--json', 'print one JSON object')
  .parse();

const o = program.opts<{
  tree: 'module' | 'linux'; source?: string;
  out: string; kind: (typeof BUG_KINDS)[number]; commits?: number; seed: number; probability: number;
  unbuildable: number; unbuildableAt: 'before' | 'after' | 'far'; json?: boolean;
}>();
try {
  if (o.tree === 'linux') {
    if (!o.source) throw new Error('--tree linux needs --source DIR (run deploy/lab/setup-linux --json: its "source")');
    if (!(LINUX_BUG_KINDS as readonly string[]).includes(o.kind)) throw new Error(`--tree linux plants ${LINUX_BUG_KINDS.join(', ')}, not ${o.kind}`);
    const r = await makeLinuxHistory({
      source: resolve(o.source), dir: resolve(o.out), kind: o.kind as LinuxBugKind, commits: o.commits ?? 200, seed: o.seed,
      probability: o.probability, unbuildable: o.unbuildable, unbuildableAt: o.unbuildableAt,
    });
    if (o.json) console.log(JSON.stringify(r));
    else {
      console.log(`repository:  ${r.repo} (Linux, base ${r.baseHash})`);
      console.log(`commits:     ${r.commits} (good = tag good ${r.goodHash}, bad = tag bad ${r.badHash})`);
      console.log(`culprit:     ${r.culprit} ${r.culpritSubject} (tag culprit)`);
      console.log(`bug:         ${r.kind} in ${r.function}${r.probability ? ` (p=${r.probability} per run)` : ''}`);
      if (r.unbuildable.length) console.log(`unbuildable: ${r.unbuildable.join(' ')}`);
    }
    process.exit(0);
  }
  const r = await makeHistory({
    dir: resolve(o.out), kind: o.kind, commits: o.commits ?? 400, seed: o.seed, probability: o.probability,
    unbuildable: o.unbuildable, unbuildableAt: o.unbuildableAt,
  });
  if (o.json) {
    console.log(JSON.stringify(r));
  } else {
    console.log(`repository:  ${r.repo}`);
    console.log(`commits:     ${r.commits} (good = tag ${r.good} ${r.goodHash}, bad = tag ${r.bad} ${r.badHash})`);
    console.log(`culprit:     ${r.culprit} ${r.culpritSubject} (tag culprit)`);
    console.log(`bug:         ${r.kind} in ${r.function}${r.probability ? ` (p=${r.probability} per run)` : ''}`);
    if (r.unbuildable.length) console.log(`unbuildable: ${r.unbuildable.join(' ')}`);
  }
} catch (err) {
  console.error(`make-history: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
