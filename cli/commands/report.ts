/** `multisect report parse` and `multisect report conformance`. */
import type { Command } from 'commander';
import { conformanceJson, conformanceText, meetsTargets, parseConsoleFile, reportText, runConformance } from '../actions/report.js';
import { printResult, runCommand } from '../run.js';

export function registerReport(program: Command): void {
  const report = program.command('report').description('Linux crash reports: console log in, syzkaller-style title out');

  report
    .command('parse')
    .description('Find the first crash in a console log and print its title, type, frames and report')
    .argument('[file]', 'console log, or - for standard input', '-')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Example:
  multisect report parse console.log
  dmesg | multisect report parse - --json`,
    )
    .action(async (file: string, o: { json?: boolean }) =>
      runCommand(Boolean(o.json), async () => {
        const rep = await parseConsoleFile(file);
        printResult(Boolean(o.json), rep ? rep : { crash: null }, () => reportText(rep));
      }),
    );

  report
    .command('conformance')
    .description('Run the parser over syzkaller test vectors: per file expected vs got, then a summary (exit 1 below the targets)')
    .argument('<dir>', 'directory of vector files (TITLE:/TYPE:/CORRUPTED: headers, blank line, console log)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Example:
  multisect report conformance ../shared/testdata/syzkaller-linux-report
  The last line reads: title N/M type N/M corrupted N/M`,
    )
    .action(async (dir: string, o: { json?: boolean }) =>
      runCommand(Boolean(o.json), async () => {
        const c = await runConformance(dir);
        printResult(Boolean(o.json), conformanceJson(c), () => conformanceText(c));
        return meetsTargets(c) ? 0 : 1;
      }),
    );
}
