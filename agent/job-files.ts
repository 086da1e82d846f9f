/**
 * The files a job carries (Recipe.files: a syzbot bug's .config, its reproducer...), written into
 * the probe's scratch directory before the recipe runs, so that every agent has them whatever the
 * operator's machine held. The coordinator checked names and sizes on submission; the content is
 * checked against its sha256 here, since a damaged file would make a wrong verdict.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InfraError } from '../shared/errors.js';
import { JOB_FILE_NAME } from '../shared/job-spec.js';
import type { JobFile } from '../shared/proto.js';

/** Returns the directory and name → path of every file. */
export async function writeJobFiles(files: readonly JobFile[], scratchDir: string): Promise<{ dir: string; paths: Record<string, string> }> {
  const dir = join(scratchDir, 'job-files');
  await mkdir(dir, { recursive: true });
  const paths: Record<string, string> = {};
  for (const f of files) {
    // Checked on submission too; a name is never a path here, whoever sent it.
    if (!JOB_FILE_NAME.test(f.name)) throw new InfraError(`the job file name ${JSON.stringify(f.name)} is not a plain file name`);
    const sha = createHash('sha256').update(f.content).digest('hex');
    if (f.sha256 && f.sha256 !== sha) throw new InfraError(`the job file ${f.name} arrived damaged (sha256 ${sha}, expected ${f.sha256})`);
    const path = join(dir, f.name);
    await writeFile(path, f.content, { mode: 0o644 });
    paths[f.name] = path;
  }
  return { dir, paths };
}
