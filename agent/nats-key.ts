/**
 * The agent's NATS user key. Kept in the state directory (mode 0600) so that verdicts in the
 * outbox stay publishable after a restart: their credentials were minted for this key. Only the
 * public half ever leaves the host (at Register).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from './files.js';
import { join } from 'node:path';
import { createUserKey, keyPairFromSeed, seedOf, type KeyPair } from '../shared/nats-jwt.js';

export async function loadNatsUserKey(stateDir: string): Promise<KeyPair> {
  const file = join(stateDir, 'nats-user.seed');
  const seed = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (seed !== undefined) return keyPairFromSeed(seed, file);
  const key = createUserKey();
  await mkdir(stateDir, { recursive: true });
  await writeFileAtomic(file, `${seedOf(key)}\n`);
  return key;
}
