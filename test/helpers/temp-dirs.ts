/**
 * Temporary directories for tests that are gone when the test process ends, pass or fail: each is
 * removed at exit (synchronously, so it runs in an 'exit' handler too), whether or not the test
 * removed it itself. A real kernel worktree is 1.5 GB: nothing may stay behind in /tmp.
 */
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set<string>();
let hooked = false;

function removeAll(): void {
  for (const dir of made) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    } catch {
      // A directory still in use (a process the test could not stop): test/run.sh's sweep names it.
    }
  }
  made.clear();
}

/** A new directory `multisect-<prefix>-XXXXXX` under the temporary directory. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `multisect-${prefix}-`));
  made.add(dir);
  if (!hooked) {
    hooked = true;
    process.once('exit', removeAll);
  }
  return dir;
}
