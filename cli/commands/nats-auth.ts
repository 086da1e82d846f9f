/** `multisect nats-auth init|reader`: NATS JWT authentication material for a lab. */
import type { Command } from 'commander';
import { natsAuthInit, natsAuthReader } from '../actions/nats-auth.js';
import { env } from '../env.js';
import { collect, printResult, runCommand } from '../run.js';

export function registerNatsAuth(program: Command): void {
  const cmd = program
    .command('nats-auth')
    .description('NATS JWT authentication: an account whose users the coordinator mints (agents may publish only the verdicts of jobs they were given)');
  cmd
    .command('init')
    .description('Make the operator, the farm account and the server configuration include')
    .requiredOption('--out <dir>', 'directory to write into')
    .option('--reader <name>', 'a reader (dashboard, nats CLI) credential: read events and logs (repeatable)', collect, [])
    .option('--namespace <ns>', 'JetStream names prefix of the farm (as the coordinator)', env.namespace())
    .option('--force', 'replace existing material (every credential minted from it stops working)', false)
    .option('--json', 'print the result as JSON', false)
    .addHelpText(
      'after',
      `
Example:
  multisect nats-auth init --out /etc/multisect/nats-auth --reader alice
  # nats1..3: include nats-jwt-auth.conf in /etc/nats/nats-server.conf
  # coordinator: multisect coordinator --nats-account-seed /etc/multisect/nats-auth/account.seed ...`,
    )
    .action(async (o) =>
      runCommand(o.json, async () => {
        const r = await natsAuthInit({ out: o.out, readers: o.reader, namespace: o.namespace, force: o.force });
        printResult(o.json, r, () =>
          [
            `account ${r.account} (operator ${r.operator})`,
            ...r.files.map((f) => `wrote ${f}`),
            'next: include nats-jwt-auth.conf in nats-server.conf; give account.seed to the coordinator (--nats-account-seed), to nobody else',
          ].join('\n'),
        );
      }),
    );
  cmd
    .command('reader')
    .description('Add a reader credential (read events and logs) from the account seed')
    .requiredOption('--account-seed <file>', 'account.seed written by `nats-auth init`')
    .requiredOption('--name <name>', "the reader's name")
    .option('--out <dir>', 'directory for readers/NAME.creds (default: next to the seed)')
    .option('--namespace <ns>', 'JetStream names prefix of the farm', env.namespace())
    .option('--json', 'print the result as JSON', false)
    .addHelpText('after', '\nExample:\n  multisect nats-auth reader --account-seed /etc/multisect/nats-auth/account.seed --name bob')
    .action(async (o) =>
      runCommand(o.json, async () => {
        const r = await natsAuthReader({ accountSeedFile: o.accountSeed, name: o.name, out: o.out, namespace: o.namespace });
        printResult(o.json, r, () => `wrote ${r.file}`);
      }),
    );
}
