/**
 * `multisect nats-auth`: the files it writes, what it refuses, and the CLI around it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { natsAuthInit, natsAuthReader } from '../../../cli/actions/nats-auth.js';
import { decodeJwt } from '../../../shared/nats-jwt.js';
import { runCli } from '../../helpers/farm.js';

describe('multisect nats-auth', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'multisect-natsauth-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('init writes the server include, the secret seeds (0600) and reader credentials', async () => {
    const r = await natsAuthInit({ out: join(dir, 'a'), readers: ['alice'], namespace: 'lab2' });
    const conf = await readFile(join(dir, 'a', 'nats-jwt-auth.conf'), 'utf8');
    assert.match(conf, /^operator: "ey/m);
    assert.match(conf, new RegExp(`system_account: ${r.systemAccount}`));
    assert.match(conf, /resolver: MEMORY/);
    assert.match(conf, new RegExp(`${r.account}: "ey`));
    for (const f of ['account.seed', 'operator.seed', 'readers/alice.creds']) {
      assert.equal((await stat(join(dir, 'a', f))).mode & 0o777, 0o600, f);
    }
    assert.match(await readFile(join(dir, 'a', 'account.seed'), 'utf8'), /^SA/);
    const creds = await readFile(join(dir, 'a', 'readers', 'alice.creds'), 'utf8');
    const jwt = creds.split('\n')[1]!;
    assert.equal(decodeJwt(jwt).iss, r.account);
    assert.ok((decodeJwt(jwt).nats as { pub: { allow: string[] } }).pub.allow.includes('$JS.API.STREAM.INFO.lab2_EVENTS'), 'reader rights follow the namespace');
  });

  it('init refuses to replace an account (every credential would stop working) unless forced', async () => {
    await assert.rejects(natsAuthInit({ out: join(dir, 'a'), readers: [] }), /--out: .*account\.seed exists/);
    await natsAuthInit({ out: join(dir, 'a'), readers: [], force: true });
  });

  it('names a bad reader name, and a missing seed file', async () => {
    await assert.rejects(natsAuthInit({ out: join(dir, 'b'), readers: ['../x'] }), /--reader: "\.\.\/x"/);
    await assert.rejects(natsAuthReader({ accountSeedFile: join(dir, 'nope.seed'), name: 'bob' }), /--account-seed: cannot read .*nope\.seed/);
  });

  it('reader adds a credential from the account seed', async () => {
    const { file } = await natsAuthReader({ accountSeedFile: join(dir, 'a', 'account.seed'), name: 'bob' });
    assert.equal(file, join(dir, 'a', 'readers', 'bob.creds'));
  });

  it('the CLI prints JSON, and --help shows an example', async () => {
    const r = await runCli(['nats-auth', 'init', '--out', join(dir, 'c'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.match((JSON.parse(r.stdout) as { account: string }).account, /^A/);
    const again = await runCli(['nats-auth', 'init', '--out', join(dir, 'c')]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /exists[\s\S]*hint: add readers/);
    const help = await runCli(['nats-auth', 'init', '--help']);
    assert.match(help.stdout, /Example:\n {2}multisect nats-auth init --out/);
  });
});
