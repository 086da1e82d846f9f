/**
 * Job specs are checked before anything runs, and their defaults filled, in one place. The
 * coordinator calls it on SubmitJob; the CLI calls it too, to fail fast before dialling.
 * A rejected spec says which field and why.
 */
import { createHash } from 'node:crypto';
import { InvalidJobError } from './errors.js';
import { checkRepoLocation } from './mirror.js';
import { Command, CrashMatch, JobFile, JobSpec, Mode, Policy, Recipe } from './proto.js';

export const RECIPE_KINDS = ['script', 'kernel'] as const;

/** Limits that keep a spec (and what it makes agents do) bounded. */
export const SPEC_LIMITS = {
  maxGoods: 64,
  maxArgs: 256,
  maxArgLength: 8192,
  maxEnv: 64,
  maxRuns: 200,
  maxTimeoutSeconds: 24 * 3600,
  maxTitles: 32,
  maxRegexLength: 1024,
  maxParams: 64,
  maxParamLength: 64 * 1024,
  /** Job files: a syzbot .config is about 250 KB, a C reproducer a few KB. */
  maxFiles: 16,
  maxFileBytes: 2 * 1024 * 1024,
  /** All of a job's files together: every assignment carries them (gRPC messages stop at 16 MiB). */
  maxFilesBytes: 4 * 1024 * 1024,
  maxSysctls: 64,
};

export const JOB_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SYSCTL_LINE = /^([a-z0-9_][a-z0-9_./-]{0,127})=([^\n'\0]{0,1024})$/;

/** Parse the kernel recipe's `sysctl` param: lines of key=value. Throws InvalidJobError naming the line. */
export function parseSysctls(text: string): { key: string; value: string }[] {
  const out: { key: string; value: string }[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = SYSCTL_LINE.exec(line);
    if (!m) {
      throw new InvalidJobError('recipe.params.sysctl', `line ${i + 1} ${JSON.stringify(line)} is not key=value`, {
        hint: 'one setting per line, as sysctl -w takes it: kernel.panic_on_warn=1 (no quotes)',
      });
    }
    out.push({ key: m[1]!, value: m[2]! });
  }
  if (out.length > SPEC_LIMITS.maxSysctls) throw new InvalidJobError('recipe.params.sysctl', `at most ${SPEC_LIMITS.maxSysctls} settings`);
  return out;
}

function checkFiles(files: JobFile[]): JobFile[] {
  if (files.length > SPEC_LIMITS.maxFiles) throw new InvalidJobError('recipe.files', `at most ${SPEC_LIMITS.maxFiles} files, got ${files.length}`);
  const seen = new Set<string>();
  let total = 0;
  return files.map((f, i) => {
    const field = `recipe.files[${i}]`;
    if (!JOB_FILE_NAME.test(f.name)) {
      throw new InvalidJobError(`${field}.name`, `${JSON.stringify(f.name)} is not a file name`, { hint: 'letters, digits, ".", "_" and "-", at most 64, not starting with "." or "-"' });
    }
    if (seen.has(f.name)) throw new InvalidJobError(`${field}.name`, `${JSON.stringify(f.name)} is given twice`);
    seen.add(f.name);
    if (f.content.length > SPEC_LIMITS.maxFileBytes) {
      throw new InvalidJobError(field, `${f.name} has ${f.content.length} bytes; at most ${SPEC_LIMITS.maxFileBytes}`);
    }
    total += f.content.length;
    if (total > SPEC_LIMITS.maxFilesBytes) throw new InvalidJobError('recipe.files', `more than ${SPEC_LIMITS.maxFilesBytes} bytes together`);
    const sha256 = createHash('sha256').update(f.content).digest('hex');
    if (f.sha256 && f.sha256 !== sha256) throw new InvalidJobError(`${field}.sha256`, `does not match the content of ${f.name}`);
    return JobFile.fromPartial({ name: f.name, content: f.content, size: f.content.length, sha256 });
  });
}

const REF_RE = /^[A-Za-z0-9][A-Za-z0-9._/@{}^~+-]{0,254}$/;

function checkRef(field: string, ref: string): void {
  if (!REF_RE.test(ref) || ref.includes('..')) {
    throw new InvalidJobError(field, `${JSON.stringify(ref)} is not a commit, branch or tag name`, {
      hint: 'refs may not start with "-" or contain spaces or ".."',
    });
  }
}

function checkCommand(field: string, cmd: Command | undefined, required: boolean): Command | undefined {
  if (!cmd || cmd.argv.length === 0) {
    if (required) throw new InvalidJobError(field, 'a command is required', { hint: `give --${field.split('.').pop()} "CMD ARGS..."` });
    return undefined;
  }
  if (cmd.argv.length > SPEC_LIMITS.maxArgs) throw new InvalidJobError(field, `at most ${SPEC_LIMITS.maxArgs} arguments`);
  cmd.argv.forEach((a, i) => {
    if (a.length > SPEC_LIMITS.maxArgLength) throw new InvalidJobError(`${field}.argv[${i}]`, `longer than ${SPEC_LIMITS.maxArgLength} characters`);
    if (a.includes('\0')) throw new InvalidJobError(`${field}.argv[${i}]`, 'contains a NUL byte');
  });
  if (cmd.argv[0] === '') throw new InvalidJobError(`${field}.argv[0]`, 'the program name is empty');
  if (Object.keys(cmd.env).length > SPEC_LIMITS.maxEnv) throw new InvalidJobError(`${field}.env`, `at most ${SPEC_LIMITS.maxEnv} variables`);
  for (const k of Object.keys(cmd.env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new InvalidJobError(`${field}.env`, `${JSON.stringify(k)} is not a variable name`);
  }
  if (cmd.timeoutSeconds > SPEC_LIMITS.maxTimeoutSeconds) throw new InvalidJobError(`${field}.timeout_seconds`, `at most ${SPEC_LIMITS.maxTimeoutSeconds}`);
  return cmd;
}

const MAX_TITLE = 512;

/** Commit titles that stand in for refs a rebase may have rewritten: one line each, one per ref at most. */
function checkTitles(spec: JobSpec): void {
  const check = (field: string, t: string) => {
    if (t.length > MAX_TITLE) throw new InvalidJobError(field, `at most ${MAX_TITLE} characters`);
    if (/[\n\r\0]/.test(t)) throw new InvalidJobError(field, 'a commit title is one line (the subject)', { hint: 'give the first line of the commit message only' });
  };
  check('bad_title', spec.badTitle);
  if (spec.goodTitles.length > spec.goods.length) {
    throw new InvalidJobError('good_titles', `${spec.goodTitles.length} titles for ${spec.goods.length} good commits`, { hint: 'each --good-title goes with the --good of the same position' });
  }
  spec.goodTitles.forEach((t, i) => check(`good_titles[${i}]`, t));
}

/** Validate and fill defaults. Returns a new spec; throws InvalidJobError naming the field. */
export function compileJobSpec(input: JobSpec): JobSpec {
  const spec = JobSpec.fromPartial(input);
  checkRepoLocation(spec.repo, 'repo');
  if (!spec.bad) throw new InvalidJobError('bad', 'the bad commit is required', { hint: 'give --bad REF (the commit that shows the crash)' });
  checkRef('bad', spec.bad);
  if (spec.goods.length > SPEC_LIMITS.maxGoods) throw new InvalidJobError('goods', `at most ${SPEC_LIMITS.maxGoods} good commits`);
  spec.goods.forEach((g, i) => checkRef(`goods[${i}]`, g));
  if (spec.mode === Mode.MODE_UNSPECIFIED) spec.mode = Mode.MODE_CAUSE;
  if (spec.mode !== Mode.MODE_CAUSE && spec.mode !== Mode.MODE_FIX) throw new InvalidJobError('mode', 'must be cause or fix');
  checkTitles(spec);
  if (spec.crossTree) {
    if (spec.mode !== Mode.MODE_FIX) throw new InvalidJobError('cross_tree', 'is for fix jobs', { hint: 'add --mode fix: "is the bug of my branch fixed upstream, and by what?"' });
    if (spec.goods.length !== 1) {
      throw new InvalidJobError('cross_tree', `needs exactly one good commit (the commit on the branch that has the bug), got ${spec.goods.length}`, { hint: 'give one --good REF on the stable or vendor branch and --bad the upstream tip' });
    }
  }

  const recipe = Recipe.fromPartial(spec.recipe ?? {});
  if (!recipe.kind) recipe.kind = 'script';
  if (!(RECIPE_KINDS as readonly string[]).includes(recipe.kind)) {
    throw new InvalidJobError('recipe.kind', `unknown recipe ${JSON.stringify(recipe.kind)}; known: ${RECIPE_KINDS.join(', ')}`);
  }
  checkCommand('recipe.build', recipe.build, false);
  checkCommand('recipe.test', recipe.test, recipe.kind === 'script');
  if (Object.keys(recipe.params).length > SPEC_LIMITS.maxParams) throw new InvalidJobError('recipe.params', `at most ${SPEC_LIMITS.maxParams}`);
  for (const [k, v] of Object.entries(recipe.params)) {
    if (v.length > SPEC_LIMITS.maxParamLength) throw new InvalidJobError(`recipe.params.${k}`, `longer than ${SPEC_LIMITS.maxParamLength} characters`);
  }
  recipe.files = checkFiles(recipe.files);
  if (recipe.kind === 'kernel' && recipe.params.sysctl) parseSysctls(recipe.params.sysctl);
  spec.recipe = recipe;

  const policy = Policy.fromPartial(spec.policy ?? {});
  if (policy.runsPerProbe === 0) policy.runsPerProbe = recipe.kind === 'kernel' ? 4 : 1;
  if (policy.runsPerProbe > SPEC_LIMITS.maxRuns) throw new InvalidJobError('policy.runs_per_probe', `at most ${SPEC_LIMITS.maxRuns}`);
  if (policy.confidenceTarget === 0) policy.confidenceTarget = 0.99;
  if (!(policy.confidenceTarget > 0.5 && policy.confidenceTarget < 1)) {
    throw new InvalidJobError('policy.confidence_target', `must be between 0.5 and 1 (exclusive), got ${policy.confidenceTarget}`);
  }
  if (policy.crashMatch === CrashMatch.CRASH_MATCH_UNSPECIFIED) policy.crashMatch = CrashMatch.CRASH_MATCH_ANY;
  if (policy.crashMatch === CrashMatch.CRASH_MATCH_REGEX) {
    if (!policy.crashRegex) throw new InvalidJobError('policy.crash_regex', 'required with crash matching "regex"');
    if (policy.crashRegex.length > SPEC_LIMITS.maxRegexLength) throw new InvalidJobError('policy.crash_regex', `longer than ${SPEC_LIMITS.maxRegexLength}`);
    try {
      new RegExp(policy.crashRegex);
    } catch (err) {
      throw new InvalidJobError('policy.crash_regex', `not a valid regular expression: ${(err as Error).message}`);
    }
  }
  if (policy.crashMatch === CrashMatch.CRASH_MATCH_SAME && policy.originalTitles.length === 0) {
    throw new InvalidJobError('policy.original_titles', 'crash matching "same" needs the original crash title(s)');
  }
  if (!(policy.reproRate >= 0 && policy.reproRate <= 1)) throw new InvalidJobError('policy.repro_rate', `must be from 0 to 1, got ${policy.reproRate}`);
  if (!(policy.falseCrashRate >= 0 && policy.falseCrashRate < 0.5)) throw new InvalidJobError('policy.false_crash_rate', `must be from 0 to 0.5 (exclusive), got ${policy.falseCrashRate}`);
  if (policy.reproRate && policy.falseCrashRate >= policy.reproRate) {
    throw new InvalidJobError('policy.false_crash_rate', `must be below the reproducer's rate (${policy.reproRate})`, { hint: 'a crash must be likelier with the bug than without it' });
  }
  if (policy.originalTitles.length > SPEC_LIMITS.maxTitles) throw new InvalidJobError('policy.original_titles', `at most ${SPEC_LIMITS.maxTitles}`);
  spec.policy = policy;
  if (spec.title.length > 512) throw new InvalidJobError('title', 'at most 512 characters');
  return spec;
}
