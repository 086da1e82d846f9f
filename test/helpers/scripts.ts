/**
 * Test commands for end-to-end bisections: a shell script that takes a while, records how many
 * probes run at once (files in a marks directory), and crashes when the planted `BUG` file is
 * in the worktree (or when the `crashIf` shell condition holds).
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { tempDir } from './temp-dirs.js';
import { join } from 'node:path';

export interface TestScript {
  /** The --test command line. */
  command: string;
  marksDir: string;
  /** Largest number of test runs seen at once. */
  maxConcurrency(): Promise<number>;
}

export async function makeTestScript(options: { sleepSeconds?: number; title?: string; crashIf?: string } = {}): Promise<TestScript> {
  const dir = await tempDir('script');
  const marks = join(dir, 'marks');
  const script = join(dir, 'test.sh');
  await writeFile(
    script,
    `#!/bin/sh
marks="$1"
mkdir -p "$marks/running"
echo $$ > "$marks/running/$MULTISECT_PROBE"
# Count the test runs alive right now (a cancelled run is killed and leaves its file behind).
n=0
for f in "$marks"/running/*; do kill -0 "$(cat "$f")" 2>/dev/null && n=$((n+1)); done
echo $n >> "$marks/counts"
sleep ${options.sleepSeconds ?? 0.3}
rm -f "$marks/running/$MULTISECT_PROBE"
echo "$MULTISECT_COMMIT" >> "$marks/tested"
if ${options.crashIf ?? '[ -e BUG ]'}; then
  echo "CRASH: ${options.title ?? 'general protection fault in fast_path'}"
  exit 1
fi
exit 0
`,
  );
  await chmod(script, 0o755);
  return {
    command: `${script} ${marks}`,
    marksDir: marks,
    maxConcurrency: async () => {
      const text = await readFile(join(marks, 'counts'), 'utf8').catch(() => '');
      return Math.max(0, ...text.split('\n').filter(Boolean).map(Number));
    },
  };
}
