/** The `multisect bisect ...` command line that submits the same job again. */
import { CrashMatch, type JobSpec, Mode } from '../../shared/proto.js';

/** Quote for a POSIX shell when needed. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function bisectCommand(spec: JobSpec | undefined): string {
  if (!spec) return '';
  const a: string[] = ['multisect', 'bisect', '--repo', spec.repo, '--bad', spec.bad];
  spec.goods.forEach((g, i) => {
    a.push('--good', g);
    if (spec.goodTitles[i]) a.push('--good-title', spec.goodTitles[i]!);
  });
  if (spec.badTitle) a.push('--bad-title', spec.badTitle);
  if (spec.mode === Mode.MODE_FIX) a.push('--mode', 'fix');
  if (spec.crossTree) a.push('--cross-tree');
  const r = spec.recipe;
  if (r && r.kind !== 'script') a.push('--recipe', r.kind);
  // The commands are argument vectors; the flag takes them as one string, quoted word by word.
  if (r?.build?.argv.length) a.push('--build', r.build.argv.map(shellQuote).join(' '));
  if (r?.test?.argv.length) a.push('--test', r.test.argv.map(shellQuote).join(' '));
  for (const [k, v] of Object.entries(r?.params ?? {}).sort()) a.push('--param', `${k}=${v}`);
  for (const f of r?.files ?? []) a.push('--file', f.name);
  const p = spec.policy;
  if (p) {
    if (p.runsPerProbe) a.push('--runs', String(p.runsPerProbe));
    if (p.parallelismCap) a.push('--parallel', String(p.parallelismCap));
    if (p.crashMatch === CrashMatch.CRASH_MATCH_SAME) a.push('--crash', 'same');
    if (p.crashMatch === CrashMatch.CRASH_MATCH_REGEX) a.push('--crash', p.crashRegex);
    for (const t of p.originalTitles) a.push('--original-title', t);
    if (p.confidenceTarget && p.confidenceTarget !== 0.99) a.push('--confidence', String(p.confidenceTarget));
    if (p.firstParent) a.push('--first-parent');
    if (p.skipVerification) a.push('--no-verify');
    if (p.verificationRuns) a.push('--verify-runs', String(p.verificationRuns));
    if (p.oldestRelease) a.push('--oldest-release', p.oldestRelease);
    if (p.reproRate) a.push('--repro', String(p.reproRate));
    if (p.falseCrashRate) a.push('--false-crash', String(p.falseCrashRate));
    if (p.maxSkips && p.maxSkips !== 10) a.push('--max-skips', String(p.maxSkips));
  }
  return a.map(shellQuote).join(' ');
}
