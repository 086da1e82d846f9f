/** `multisect simulate`: what would k agents buy? The engine against a planted culprit. */
import type { Command } from 'commander';
import { parseIntFlag, parseNumberFlag } from '../../shared/options.js';
import { renderSimulate, simulate, type BaselineName } from '../actions/simulate.js';
import { parseBuildCostFlag, parseDurationFlag } from '../duration-flags.js';
import { collect, printResult, runCommand } from '../run.js';

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('Run the engine against a planted culprit, without agents: probes, runs and rounds (makespan) for K agents')
    .option('--repo <path>', 'repository to simulate on (with --good and --bad)')
    .option('--good <ref>', 'a good commit (repeatable)', collect, [])
    .option('--bad <ref>', 'the bad commit')
    .option('--linear <n>', 'a linear history of N candidates instead of a repository')
    .option('--culprit <sha>', 'plant this culprit (one trial); with --linear, a position 1..N or a hash')
    .option('--trials <n>', 'trials, each with a culprit drawn among non-merge candidates (default 20)')
    .option('--seed <s>', 'seed for culprits and verdicts (default 1)')
    .option('--parallel <k>', 'K agents probing at once (default 1)')
    .option('--runs <r>', 'runs per probe (default 1 with a clean reproducer, else 10)')
    .option('--repro <q>', 'Q: chance that a run on a commit with the culprit crashes (default 1)')
    .option('--false-crash <eps>', 'EPS: chance that any run crashes anyway (default 0)')
    .option('--first-parent', 'follow only first parents (merges stand for their branch)')
    .option('--mode <mode>', 'cause (the planted commit brings the crash) or fix (it ends it)', 'cause')
    .option('--baseline <name>', 'also run git-bisect (the real one; --repo, clean verdicts) or syzkaller (its per-commit rule) on the same culprits')
    .option('--tell-engine', 'give the engine the true Q and EPS as strong starting estimates (default: it learns them, as a real job must)')
    .option('--build-cost <full,incremental>', 'project wall time: a kernel build from scratch and an incremental one, e.g. 5m54s,11s (with --test-cost)')
    .option('--test-cost <duration>', "project wall time: one probe's test step, boot + R runs, e.g. 9m24s or 564 (seconds)")
    .option('--json', 'print every trial, the summaries and the calibration as JSON')
    .addHelpText(
      'after',
      `
With one agent the bad and good commits are taken on trust, as git bisect does; with more, the
first round also confirms the bad one. The engine is not told Q and EPS (a real job does not
know them): it learns them from the verdicts; --tell-engine gives them as strong starting
estimates (a clean reproducer, Q=1 EPS=0, is always said to be clean). It is told that drawn
culprits are never merges. The calibration lines say, for the culprits named at a confidence c,
the share that were right ("confidence 0.99" should be right at least 99% of the time).

--build-cost and --test-cost project each trial's wall time from those costs (a projection, not
a measurement): per round, the slowest probe's build plus its test step; a slot's first build
is full and later ones incremental (build affinity), and the verification of the culprit and
its parents (2R runs) builds nothing for commits already probed (kernel cache). It is printed
beside the same with every build full, and beside the seed (syzbot, one commit at a time: 4h04m
for 7,562 revisions).

Examples:
  multisect simulate --linear 7562 --trials 50 --parallel 7
  multisect simulate --linear 7562 --parallel 16 --trials 50 --build-cost 5m54s,11s --test-cost 9m24s
  multisect simulate --linear 3500 --trials 500 --repro 0.3 --false-crash 0.02 --runs 10 --baseline syzkaller
  multisect simulate --linear 3500 --trials 100 --repro 0.1 --false-crash 0.02 --runs 10 --tell-engine
  multisect simulate --repo ~/src/linux --good v6.1 --bad v6.2 --trials 20 --baseline git-bisect --json`,
    )
    .action(async (o) =>
      runCommand(Boolean(o.json), async () => {
        const num = (flag: string, v: string | undefined, int = true) => (v === undefined ? undefined : int ? parseIntFlag(flag, v) : parseNumberFlag(flag, v));
        const report = await simulate({
          repo: o.repo,
          bad: o.bad,
          good: o.good,
          linear: num('--linear', o.linear),
          culprit: o.culprit,
          trials: num('--trials', o.trials),
          seed: num('--seed', o.seed),
          parallel: num('--parallel', o.parallel),
          runs: num('--runs', o.runs),
          repro: num('--repro', o.repro, false),
          falseCrash: num('--false-crash', o.falseCrash, false),
          firstParent: Boolean(o.firstParent),
          mode: o.mode,
          baseline: o.baseline as BaselineName | undefined,
          tellEngine: Boolean(o.tellEngine),
          buildCost: o.buildCost === undefined ? undefined : parseBuildCostFlag('--build-cost', o.buildCost),
          testCostMs: o.testCost === undefined ? undefined : parseDurationFlag('--test-cost', o.testCost),
          onTrial: o.json || !process.stderr.isTTY ? undefined : (done, total) => process.stderr.write(`\r${done}/${total} trials`),
        });
        if (!o.json && process.stderr.isTTY) process.stderr.write('\r');
        printResult(Boolean(o.json), report, () => renderSimulate(report));
        return 0;
      }),
    );
}
