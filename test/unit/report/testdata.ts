/**
 * Where the shared test vectors live: <repo>/../shared/testdata, or MULTISECT_TESTDATA (the
 * testdata root, or the vector directory itself). Read in place, never copied.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export function vectorDir(): string {
  const override = process.env.MULTISECT_TESTDATA;
  if (override) {
    const nested = join(override, 'syzkaller-linux-report');
    return existsSync(nested) ? nested : override;
  }
  return resolve(REPO, '../shared/testdata/syzkaller-linux-report');
}
