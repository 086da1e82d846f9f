/** Files the agent must never leave half-written: write beside, then rename over (0600). */
import { rename, writeFile } from 'node:fs/promises';

export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  await writeFile(`${file}.tmp`, data, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}
