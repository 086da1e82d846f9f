/** `multisect dashboard`: the farm in a browser. */
import type { Command } from 'commander';
import { createLogger } from '../../shared/logger.js';
import { withTlsOptions } from '../client.js';
import { DEFAULT_DASHBOARD_LISTEN, startDashboard } from '../dashboard/start.js';
import { env } from '../env.js';
import { runCommand } from '../run.js';

export function registerDashboard(program: Command): void {
  withTlsOptions(
    program
      .command('dashboard')
      .description('Serve a live, read-only web dashboard of the farm: jobs, each job as it runs, agents (JSON too)')
      .option('--coordinator <addrs>', 'coordinator address; several comma-separated (or MULTISECT_COORDINATOR)', env.coordinator())
      .option('--listen <addr>', 'HTTP address; anything but loopback needs --https-cert, --https-key and --token', DEFAULT_DASHBOARD_LISTEN)
      .option('--https-cert <file>', "the dashboard's own HTTPS certificate (PEM)")
      .option('--https-key <file>', 'its private key (PEM)')
      .option('--token <token>', 'a secret every request must carry (or MULTISECT_DASHBOARD_TOKEN)', process.env.MULTISECT_DASHBOARD_TOKEN || undefined)
      .option('--log-level <level>', 'log level', env.logLevel()),
    { client: true },
  )
    .addHelpText(
      'after',
      `
Example:
  multisect dashboard --coordinator 127.0.0.1:7420              # then open http://127.0.0.1:7480/
  MULTISECT_DASHBOARD_TOKEN=$(openssl rand -hex 24) multisect dashboard --listen 0.0.0.0:7480 \\
    --https-cert /etc/multisect/tls/dashboard.crt --https-key /etc/multisect/tls/dashboard.key \\
    --coordinator coord1.lab:7420 --tls-ca /etc/multisect/tls/ca.crt --tls-cert /etc/multisect/tls/operator.crt --tls-key /etc/multisect/tls/operator.key
  (open https://HOST:7480/?token=TOKEN once; a cookie carries it from then on)
  Every page has a JSON form: /jobs.json?filter=active, /jobs/ID.json, /agents.json.`,
    )
    .action(async (o) =>
      runCommand(false, async () => {
        const logger = createLogger({ level: o.logLevel, base: { role: 'dashboard' } });
        const dashboard = await startDashboard({ coordinator: o.coordinator, listen: o.listen, httpsCert: o.httpsCert, httpsKey: o.httpsKey, token: o.token, logger });
        process.stdout.write(`dashboard on ${dashboard.url} (coordinator ${o.coordinator}); Ctrl-C stops it\n`);
        await new Promise<void>((resolve) => {
          const stop = () => void dashboard.close().then(resolve, resolve);
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      }),
    );
}
