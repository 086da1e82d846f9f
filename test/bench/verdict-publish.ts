/**
 * What per-job NATS credentials cost an agent: publishing a verdict with its assignment's
 * credential on a connection of its own (connect with TLS and a client certificate, JWT
 * signature check by the server, JetStream publish, close) against publishing on the agent's
 * long-lived connection, side by side on one nats-server in JWT mode with TLS, as a lab runs it.
 * Prints ms per verdict for both and the difference; a probe takes minutes, so anything under
 * ~100 ms is noise. Exits 1 when the credential path is above BENCH_MAX_MS (default 250).
 *
 *   npx tsx test/bench/verdict-publish.ts      (BENCH_VERDICTS=200)
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { verdictPublisher } from '../../agent/verdict-publisher.js';
import { natsAuthInit } from '../../cli/actions/nats-auth.js';
import { NatsCredentials } from '../../coordinator/nats-credentials.js';
import { agentStore, connectNats, DEFAULT_STORE_NAMES, ensureStore } from '../../shared/nats.js';
import { createUserKey, keyPairFromSeed, userJwt } from '../../shared/nats-jwt.js';
import { inboxPrefixFor } from '../../shared/nats-permissions.js';
import { RunOutcome, Verdict } from '../../shared/proto.js';
import { makeLabCerts, startSecureNats } from '../helpers/certs.js';

const N = Number(process.env.BENCH_VERDICTS ?? 200);
const MAX_MS = Number(process.env.BENCH_MAX_MS ?? 250);

const lab = await makeLabCerts({ agents: ['agent-1'] });
try {
  const authDir = join(lab.dir, 'auth');
  await natsAuthInit({ out: authDir, readers: [] });
  const nats = await startSecureNats(lab, { jwtAuth: authDir });
  try {
    const creds = new NatsCredentials(await readFile(join(authDir, 'account.seed'), 'utf8'), DEFAULT_STORE_NAMES, 3600_000);
    const admin = await connectNats({ servers: [nats.url], name: 'bench-coordinator', attempts: 1, tls: lab.coordinator, credentials: creds.forCoordinator('bench') });
    await ensureStore(admin, {});
    const key = createUserKey();
    const tls = lab.agent('agent-1');
    // The agent's own connection gets a credential that may publish verdicts too, for the baseline.
    const account = keyPairFromSeed(await readFile(join(authDir, 'account.seed'), 'utf8'), 'account.seed');
    const wide = userJwt(account, { userKey: key.getPublicKey(), name: 'bench', permissions: { pub: { allow: ['multisect.verdict.>'] }, sub: { allow: [`${inboxPrefixFor(key.getPublicKey())}.>`] } } });
    const nc = await connectNats({ servers: [nats.url], name: 'bench-agent', attempts: 1, tls, inboxPrefix: inboxPrefixFor(key.getPublicKey()), credentials: { jwt: wide, seed: key.getSeed() } });
    const store = agentStore(nc, DEFAULT_STORE_NAMES);
    const publish = verdictPublisher({ store: () => store, connection: () => ({ servers: [nats.url], tls, inboxPrefix: inboxPrefixFor(key.getPublicKey()) }), key: () => key, name: 'bench-verdict' });
    const verdict = (i: number, job: string) => Verdict.fromPartial({ probeId: `${job}-b-${i}`, jobId: job, commit: 'c0ffee', agentId: 'agent-1', runs: [{ index: 1, outcome: RunOutcome.RUN_OUTCOME_OK }] });

    const time = async (fn: (i: number) => Promise<unknown>): Promise<number> => {
      const t0 = performance.now();
      for (let i = 0; i < N; i++) await fn(i);
      return (performance.now() - t0) / N;
    };
    // Alternate the two, twice, so neither runs on a warmer machine only.
    const shared: number[] = [];
    const own: number[] = [];
    for (let round = 0; round < 2; round++) {
      shared.push(await time((i) => publish({ verdict: verdict(i, `shared${round}`), jwt: '' })));
      own.push(await time((i) => publish({ verdict: verdict(i, `own${round}`), jwt: creds.forVerdicts('agent-1', key.getPublicKey(), `own${round}`, `own${round}-b-${i}`) })));
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const a = mean(shared);
    const b = mean(own);
    console.log(`verdicts: ${N} x 2 rounds each, nats-server ${admin.info?.version} with TLS (client certificates) and JWT authentication`);
    console.log(`on the agent's connection:                             ${a.toFixed(2)} ms per verdict`);
    console.log(`with the assignment's credential (own TLS connection): ${b.toFixed(2)} ms per verdict (+${(b - a).toFixed(2)} ms, x${(b / a).toFixed(1)})`);
    await nc.close();
    await admin.close();
    if (b > MAX_MS) {
      console.error(`above the bound of ${MAX_MS} ms per verdict`);
      process.exitCode = 1;
    }
  } finally {
    await nats.dispose();
  }
} finally {
  await lab.dispose();
}
