/** `multisect bisect`, `jobs`, `job`, `watch`, `cancel`, `agents`, `logs`. */
import type { Command } from 'commander';
import { InvalidOptionError } from '../../shared/errors.js';
import { parseIntFlag, parseNumberFlag } from '../../shared/options.js';
import { mailReport } from '../mail.js';
import { FINAL_STATES } from '../../shared/job-log.js';
import { buildSpec, submitJob, withClient } from '../actions/jobs.js';
import { withTlsOptions } from '../client.js';
import { followMode, followOnScreen } from '../follow.js';
import { env } from '../env.js';
import { agentsTable, exitCodeFor, jobsTable, jobText, jobToJson } from '../render.js';
import { collect, printResult, runCommand } from '../run.js';

/** --coordinator (several comma-separated: the CLI uses the one that answers) and the TLS flags. */
const coordinatorOption = (c: Command) =>
  withTlsOptions(c.option('--coordinator <addrs>', 'coordinator address; several comma-separated (or MULTISECT_COORDINATOR)', env.coordinator()), { client: true });

export function registerJobs(program: Command): void {
  coordinatorOption(
    program
      .command('bisect')
      .description('Submit a bisection and follow it until it ends; prints the log and the result (exit 0 when a culprit was found)')
      .requiredOption('--repo <path|url>', 'repository to bisect')
      .requiredOption('--bad <ref>', 'a commit that shows the bug (for --mode fix: a commit where it is fixed)')
      .option('--good <ref>', 'a commit without the bug (repeatable; for --mode fix: one that still has it); without it, release tags are walked back', collect, [])
      .option('--bad-title <title>', "the bad commit's subject line: used to find it when --bad is unknown (a rebased tree rewrote the hash)")
      .option('--good-title <title>', "a good commit's subject line, for the --good of the same position (repeatable)", collect, [])
      .option('--cross-tree', 'fix mode: --good is on a stable or vendor branch, --bad the upstream tip; the merge base is tested first')
      .option('--build <cmd>', 'build command, run once per commit in the worktree (non-zero exit = skip)')
      .option('--test <cmd>', 'test command, run R times: 0 good, 125 skip, 1..127 bad, >=128 abort')
      .option('--runs <n>', 'test runs per commit')
      .option('--parallel <k>', 'at most K commits of this job at once (default: as many as there are free slots)')
      .option('--mode <mode>', 'cause (find the commit that broke it) or fix (the one that fixed it)', 'cause')
      .option('--recipe <kind>', 'script or kernel', 'script')
      .option('--param <key=value>', 'recipe parameter (repeatable)', collect, [])
      .option('--kernel-config <file>', 'kernel recipe: the .config to build with (sent with the job)')
      .option('--reproducer <file>', 'kernel recipe: a C (.c) or syzkaller (.syz) reproducer (sent with the job)')
      .option('--sysctl <key=value>', 'kernel recipe: a sysctl the guest sets before the reproducer (repeatable)', collect, [])
      .option('--cmdline <text>', 'kernel recipe: the kernel command line')
      .option('--compiler <cc>', 'kernel recipe: the compiler for the kernel and the C reproducer (default gcc)')
      .option('--file <path>', 'a file sent with the job to every agent, in $MULTISECT_JOB_FILES (repeatable)', collect, [])
      .option('--crash <policy>', 'which crashes count: any, same (needs --original-title), or a regular expression', 'any')
      .option('--original-title <title>', 'title of the original crash (repeatable)', collect, [])
      .option('--confidence <p>', 'posterior mass the culprit must hold', '0.99')
      .option('--first-parent', 'follow only the first parent of merges')
      .option('--no-verify', 'do not re-test the culprit and its parents before the job ends')
      .option('--verify-runs <n>', 'runs per commit when verifying (default: twice --runs)')
      .option('--repro <q>', 'how often the reproducer crashes an affected commit, if known (1 = always)')
      .option('--false-crash <eps>', 'how often an unaffected commit crashes anyway, if known')
      .option('--oldest-release <tag>', 'without --good: the oldest release tag (vX.Y) to walk back to')
      .option('--max-skips <n>', 'end the job inconclusive after N untestable commits in a row once the bad commit is confirmed', '10')
      .option('--no-wait', 'submit and print the job id without following it')
      .option('--json', 'print JSON')
      .addHelpText(
        'after',
        `
Example:
  multisect bisect --repo ~/src/proj --bad HEAD --good v2.0 --build "make -j8" --test "./repro.sh" --runs 3
  multisect bisect --repo ~/src/linux --mode fix --good stable/linux-6.1.y --bad master --cross-tree --test ./repro.sh
    (is the bug of the stable branch fixed upstream, and by what? the merge base is tested first)
  The test sees MULTISECT_COMMIT, MULTISECT_JOB, MULTISECT_RUN in its environment; a line "CRASH: <title>" names the crash,
  a line "INFRA: <reason>" says the host (not the commit) is at fault: the run is no evidence and is tested again elsewhere.

A syzbot bug, with the kernel recipe (the files travel with the job: the agents need no copy):
  multisect bisect --recipe kernel --repo https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git \\
    --bad 6a2f7e1c --good v6.1 --kernel-config ./config.txt --reproducer ./repro.c --compiler gcc-12 \\
    --cmdline "console=ttyS0 panic_on_warn=1 oops=panic panic=-1 nokaslr" --sysctl kernel.panic_on_warn=1 \\
    --crash same --original-title "BUG: unable to handle kernel NULL pointer dereference in foo" --runs 4
  A .syz reproducer runs with syz-execprog and syz-executor from each agent's PATH (or --param syz_execprog=PATH).
  Each job file: at most 2 MiB; all together at most 4 MiB.`,
      ),
  ).action(async (o) =>
    runCommand(Boolean(o.json), async () => {
      const params: Record<string, string> = {};
      for (const p of o.param as string[]) {
        const eq = p.indexOf('=');
        if (eq <= 0) throw new Error(`--param: expected key=value, got ${JSON.stringify(p)}`);
        params[p.slice(0, eq)] = p.slice(eq + 1);
      }
      const spec = buildSpec({
        repo: o.repo,
        bad: o.bad,
        goods: o.good,
        badTitle: o.badTitle,
        goodTitles: o.goodTitle,
        crossTree: Boolean(o.crossTree),
        build: o.build,
        test: o.test,
        runs: o.runs ? parseIntFlag('--runs', o.runs) : undefined,
        parallel: o.parallel ? parseIntFlag('--parallel', o.parallel) : undefined,
        mode: o.mode,
        recipe: o.recipe,
        params,
        firstParent: Boolean(o.firstParent),
        crash: o.crash,
        originalTitles: o.originalTitle,
        confidence: parseNumberFlag('--confidence', o.confidence),
        verify: Boolean(o.verify),
        verifyRuns: o.verifyRuns ? parseIntFlag('--verify-runs', o.verifyRuns) : undefined,
        oldestRelease: o.oldestRelease,
        maxSkips: parseIntFlag('--max-skips', o.maxSkips),
        repro: o.repro === undefined ? undefined : parseNumberFlag('--repro', o.repro),
        falseCrash: o.falseCrash === undefined ? undefined : parseNumberFlag('--false-crash', o.falseCrash),
        kernelConfig: o.kernelConfig,
        reproducer: o.reproducer,
        sysctls: o.sysctl,
        cmdline: o.cmdline,
        compiler: o.compiler,
        files: o.file,
      });
      const job = await submitJob(o.coordinator, spec);
      if (!o.wait) {
        printResult(Boolean(o.json), jobToJson(job), () => `submitted job ${job.id} (${job.candidatesTotal} candidates)\nfollow it with: multisect watch ${job.id}`);
        return 0;
      }
      if (!o.json) process.stderr.write(`job ${job.id}: ${job.candidatesTotal} candidates\n`);
      // Progress goes to stderr (the live view on a terminal); the log and result to stdout.
      const final = await followOnScreen(o.coordinator, job.id, o.json ? 'quiet' : followMode(process.stderr, false), process.stderr);
      const log = await withClient(o.coordinator, (c) => c.getLog(job.id));
      printResult(Boolean(o.json), { ...jobToJson(final), log: log.text }, () => `${log.text}\n${jobText(final)}`);
      return exitCodeFor(final);
    }),
  );

  coordinatorOption(program.command('jobs').description('List jobs').option('--active', 'only jobs that have not ended').option('--json', 'print JSON'))
    .addHelpText('after', '\nExample:\n  multisect jobs --active')
    .action(async (o) =>
      runCommand(Boolean(o.json), async () => {
        const jobs = await withClient(o.coordinator, (c) => c.listJobs(Boolean(o.active)));
        printResult(Boolean(o.json), jobs.map(jobToJson), () => jobsTable(jobs));
      }),
    );

  coordinatorOption(
    program
      .command('job')
      .argument('<job>', 'job id')
      .description("Show a job's state and result")
      .option('--format <format>', 'text, json, or mail (a report ready to send)', 'text')
      .option('--json', 'print JSON (same as --format json)'),
  )
    .addHelpText('after', '\nExample:\n  multisect job j1a2b3c --json\n  multisect job j1a2b3c --format mail > report.eml')
    .action(async (jobId: string, o) => {
      const format = o.json ? 'json' : String(o.format);
      return runCommand(format === 'json', async () => {
        if (!['text', 'json', 'mail'].includes(format)) throw new InvalidOptionError('--format', `must be text, json or mail, got ${JSON.stringify(format)}`);
        const job = await withClient(o.coordinator, (c) => c.getJob(jobId));
        if (format === 'mail') process.stdout.write(mailReport(job));
        else printResult(format === 'json', jobToJson(job), () => jobText(job));
      });
    });

  coordinatorOption(program.command('watch').argument('<job>', 'job id').description('Follow the events of a job until it ends').option('--json', 'one JSON event per line'))
    .addHelpText('after', '\nExample:\n  multisect watch j1a2b3c')
    .action(async (jobId: string, o) =>
      runCommand(Boolean(o.json), async () => {
        const job = await followOnScreen(o.coordinator, jobId, followMode(process.stdout, Boolean(o.json)), process.stdout);
        return FINAL_STATES.has(job.state) ? exitCodeFor(job) : 1;
      }),
    );

  coordinatorOption(program.command('cancel').argument('<job>', 'job id').description('Cancel a job; its probes are stopped on the agents').option('--reason <text>', 'why').option('--json', 'print JSON'))
    .addHelpText('after', '\nExample:\n  multisect cancel j1a2b3c --reason "wrong good commit"')
    .action(async (jobId: string, o) =>
      runCommand(Boolean(o.json), async () => {
        const job = await withClient(o.coordinator, (c) => c.cancel(jobId, o.reason ?? ''));
        printResult(Boolean(o.json), jobToJson(job), () => `cancelled job ${job.id}`);
      }),
    );

  coordinatorOption(program.command('agents').description('List agents, their slots and what they run').option('--json', 'print JSON'))
    .addHelpText('after', '\nExample:\n  multisect agents --json')
    .action(async (o) =>
      runCommand(Boolean(o.json), async () => {
        const agents = await withClient(o.coordinator, (c) => c.agents());
        printResult(Boolean(o.json), agents.map((a) => ({ ...a, lastSeenMs: Number(a.lastSeenMs), healthRetryMs: Number(a.healthRetryMs) })), () => agentsTable(agents));
      }),
    );

  coordinatorOption(
    program
      .command('logs')
      .argument('<job>', 'job id')
      .description("Print a job's bisection log, or a probe's build and test logs")
      .option('--probe <id>', "a probe's logs")
      .option('--key <key>', 'one stored log by its key')
      .option('--json', 'print JSON'),
  )
    .addHelpText('after', '\nExample:\n  multisect logs j1a2b3c\n  multisect logs j1a2b3c --probe j1a2b3c-0f3e2a1b')
    .action(async (jobId: string, o) =>
      runCommand(Boolean(o.json), async () => {
        const log = await withClient(o.coordinator, (c) => c.getLog(jobId, o.probe ?? '', o.key ?? ''));
        printResult(Boolean(o.json), { text: log.text, keys: log.keys }, () => log.text);
      }),
    );
}
