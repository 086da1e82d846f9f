/**
 * `multisect nats-auth`: the NATS JWT authentication material of a lab, made without nsc.
 *
 * `init` makes an operator, the farm's account (with JetStream) and a system account, and
 * writes: nats-jwt-auth.conf (include it in every nats-server.conf: the operator, the accounts,
 * a MEMORY resolver), account.seed (the coordinator's secret: it mints every other user), the
 * operator's seed (only to re-sign accounts later) and one .creds file per reader. `reader`
 * adds a reader later from account.seed.
 */
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidOptionError } from '../../shared/errors.js';
import {
  accountJwt,
  createAccountKey,
  createOperatorKey,
  createUserKey,
  credsFile,
  keyPairFromSeed,
  operatorJwt,
  seedOf,
  userJwt,
} from '../../shared/nats-jwt.js';
import { readerPermissions } from '../../shared/nats-permissions.js';
import { storeNamesFor } from '../../shared/nats.js';

export interface NatsAuthInitOptions {
  /** Directory to write into (created). */
  out: string;
  /** Reader (operator role) names: one .creds file each. */
  readers: string[];
  /** JetStream names prefix of the farm (as the coordinator's --namespace). Default ''. */
  namespace?: string;
  /** Replace existing material (invalidates every credential minted from it). Default false. */
  force?: boolean;
}

export interface NatsAuthResult {
  dir: string;
  operator: string;
  account: string;
  systemAccount: string;
  files: string[];
}

// No dots: the name is a token of the reader's inbox subject.
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export async function natsAuthInit(o: NatsAuthInitOptions): Promise<NatsAuthResult> {
  const dir = resolve(o.out);
  o.readers.forEach((r) => checkName(r, '--reader'));
  const seedFile = join(dir, 'account.seed');
  if (!o.force && (await exists(seedFile))) {
    throw new InvalidOptionError('--out', `${seedFile} exists: a new account would invalidate every credential of this farm`, { hint: 'add readers with `multisect nats-auth reader`, or pass --force to start over' });
  }
  const operator = createOperatorKey();
  const account = createAccountKey();
  const system = createAccountKey();
  const conf = `# NATS JWT authentication of a multisect farm (written by \`multisect nats-auth init\`).
# Include it from nats-server.conf on every server of the cluster (\`include nats-jwt-auth.conf\`),
# instead of nats-auth.conf. Users are not listed here: the coordinator mints them with the
# account's seed, and the server checks their signatures against these accounts.
operator: "${operatorJwt(operator, 'multisect-lab', system.getPublicKey())}"
system_account: ${system.getPublicKey()}
resolver: MEMORY
resolver_preload: {
  # multisect: streams, buckets, verdicts, events, logs (JetStream enabled)
  ${account.getPublicKey()}: "${accountJwt(operator, account, 'multisect', { jetstream: true })}"
  # SYS: the servers' own traffic
  ${system.getPublicKey()}: "${accountJwt(operator, system, 'SYS', { jetstream: false })}"
}
`;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const files = [join(dir, 'nats-jwt-auth.conf'), seedFile, join(dir, 'operator.seed')];
  await writeFile(files[0]!, conf);
  await writeFile(seedFile, `${seedOf(account)}\n`, { mode: 0o600 });
  await writeFile(files[2]!, `${seedOf(operator)}\n`, { mode: 0o600 });
  for (const r of o.readers) files.push(await writeReader(dir, seedOf(account), r, o.namespace ?? ''));
  return { dir, operator: operator.getPublicKey(), account: account.getPublicKey(), systemAccount: system.getPublicKey(), files };
}

export interface NatsAuthReaderOptions {
  /** account.seed of `init`. */
  accountSeedFile: string;
  name: string;
  /** Where readers/NAME.creds goes. Default: the seed file's directory. */
  out?: string;
  namespace?: string;
}

export async function natsAuthReader(o: NatsAuthReaderOptions): Promise<{ file: string }> {
  checkName(o.name, '--name');
  const seed = await readFile(o.accountSeedFile, 'utf8').catch((err: Error) => {
    throw new InvalidOptionError('--account-seed', `cannot read ${o.accountSeedFile}: ${err.message}`, { cause: err });
  });
  return { file: await writeReader(resolve(o.out ?? join(o.accountSeedFile, '..')), seed, o.name, o.namespace ?? '') };
}

/** A reader's .creds: read events and logs (what `nats --creds` and dashboards use). */
async function writeReader(dir: string, accountSeed: string, name: string, namespace: string): Promise<string> {
  const account = keyPairFromSeed(accountSeed, 'account.seed');
  const user = createUserKey();
  const jwt = userJwt(account, { userKey: user.getPublicKey(), name: `reader ${name}`, permissions: readerPermissions(storeNamesFor(namespace), readerInboxPrefix(name)) });
  await mkdir(join(dir, 'readers'), { recursive: true, mode: 0o700 });
  const file = join(dir, 'readers', `${name}.creds`);
  await writeFile(file, credsFile(jwt, seedOf(user)), { mode: 0o600 });
  return file;
}

/** A reader may subscribe only to its own inbox: its client must set this prefix. */
export function readerInboxPrefix(name: string): string {
  return `_INBOX_reader_${name}`;
}

function checkName(name: string, flag: string): void {
  if (!NAME.test(name)) throw new InvalidOptionError(flag, `${JSON.stringify(name)}: letters, digits, _ and - only, at most 64`);
}

const exists = (f: string) => access(f).then(
  () => true,
  () => false,
);
