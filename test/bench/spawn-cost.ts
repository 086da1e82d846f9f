/**
 * What starting a git process costs this process's event loop, by heap size, spawned here
 * against through the spawn helper (shared/spawn-helper.ts), side by side in one run. The figure
 * is the longest the event loop is held per `git --version` (the synchronous part of the call,
 * and for the helper the IPC send): fork copies the page tables of the whole heap.
 *
 *   npx tsx test/bench/spawn-cost.ts        (SPAWN_HEAPS_MB=0,200,500, SPAWN_RUNS=40)
 */
import { git } from '../../shared/git.js';
import { acquireSpawnHelper } from '../../shared/spawn-helper.js';

const HEAPS = (process.env.SPAWN_HEAPS_MB || '0,200,500').split(',').map(Number);
const RUNS = Number(process.env.SPAWN_RUNS || 40);
const held: Float64Array[] = [];

/** Mean time the call itself holds the loop (ms), and the mean until git's result (ms). */
async function measure(): Promise<{ blockMs: number; roundMs: number }> {
  let block = 0;
  let round = 0;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const p = git(process.cwd(), ['--version']);
    block += performance.now() - t0;
    await p;
    round += performance.now() - t0;
  }
  return { blockMs: block / RUNS, roundMs: round / RUNS };
}

console.log(`git --version x ${RUNS} per row; "held": the event loop blocked per spawn; "done": until its output`);
console.log('extra heap   here: held    done   helper: held    done   held ratio');
for (const mb of HEAPS) {
  while (held.length * 1 < mb) held.push(new Float64Array(131072).fill(1)); // 1 MB each
  const here = await measure();
  const release = await acquireSpawnHelper();
  const via = await measure();
  release();
  console.log(
    `${String(mb).padStart(6)} MB  ${here.blockMs.toFixed(2).padStart(8)} ms ${here.roundMs.toFixed(2).padStart(6)} ms  ${via.blockMs.toFixed(2).padStart(8)} ms ${via.roundMs.toFixed(2).padStart(6)} ms  ${(here.blockMs / Math.max(via.blockMs, 1e-3)).toFixed(0).padStart(6)}x`,
  );
}
