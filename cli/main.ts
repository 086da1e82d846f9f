#!/usr/bin/env node
/**
 * The `multisect` command. Commands only parse arguments and call action functions
 * (cli/actions/), which tests call directly.
 */
import { Command } from 'commander';
import { registerSimulate } from './commands/simulate.js';
import { registerReport } from './commands/report.js';
import { registerFarm } from './commands/farm.js';
import { registerJobs } from './commands/jobs.js';
import { registerLab } from './commands/lab.js';
import { registerNatsAuth } from './commands/nats-auth.js';
import { registerDashboard } from './commands/dashboard.js';

export function buildProgram(): Command {
  const program = new Command('multisect')
    .description('A distributed bisection farm: several commits tested at once, verdicts taken as evidence.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage and an example)')
    .addHelpText(
      'after',
      `
Example:
  multisect up --agents 4 &
  multisect bisect --repo ./linux --bad HEAD --good v6.1 --build make --test ./repro.sh`,
    );
  registerFarm(program);
  registerJobs(program);
  registerSimulate(program);
  registerReport(program);
  registerLab(program);
  registerNatsAuth(program);
  registerDashboard(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
