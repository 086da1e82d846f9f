/**
 * Fix mode: what testing a fork point tells (syzkaller tests the merge base of a probe and the
 * start commit for the same reason). A branch that lacks the start commit and does not crash is
 * fixed, or never had the bug; its fork point cannot contain the fix (it is older than the
 * range), so it crashes iff the branch had the bug. The value of the probe is the mutual
 * information, in bits, between its crash count and the hypothesis (the belief's classes and
 * the two "not in range" ones), like every other probe's.
 */
import type { Posterior } from './belief.js';
import { binomialPmf } from './information.js';

const LOG2E = Math.LOG2E;

/** Information of `runs` runs on the fork point of posterior group `gi`. */
export function forkProbeInformation(post: Posterior, gi: number, runs: number): number {
  const nc = post.classPost.length;
  const H = nc + 2;
  const mix = new Float64Array(runs + 1);
  let hCond = 0;
  for (let h = 0; h < H; h++) {
    const p = h < nc ? post.classPost[h]! : h === nc ? post.nirOld : post.nirAbsent;
    if (!(p > 1e-12)) continue;
    const w = post.groupBug[gi * H + h]!;
    const q = Math.min(1 - 1e-6, Math.max(1e-6, post.hypQ[h]!));
    const eps = Math.min(q / 2, Math.max(1e-6, post.hypEps[h]!));
    const a = binomialPmf(runs, q);
    const b = binomialPmf(runs, eps);
    let hy = 0;
    for (let c = 0; c <= runs; c++) {
      const y = w * a[c]! + (1 - w) * b[c]!;
      mix[c]! += p * y;
      if (y > 0) hy -= y * Math.log(y);
    }
    hCond += p * hy;
  }
  let hMix = 0;
  for (const y of mix) if (y > 0) hMix -= y * Math.log(y);
  return Math.max(0, (hMix - hCond) * LOG2E);
}
