/**
 * Build affinity: which free slot should build which of a job's chosen commits. The engine picks
 * the commits (how many and which does not change here: no more rounds); this only places them.
 *
 * A slot whose agent keeps the commit's kernel builds nothing (cost 0). A slot whose build
 * directory last built a commit of the same build key (tree, config, compiler) builds
 * incrementally: the nearer the two commits, the fewer files changed and the faster the build.
 * The proxy for "fewer changed files" is cheap: how far apart the two are in the range's
 * topological order (git's --topo-order keeps a branch's commits together). A slot that built
 * this key at a commit outside the range is better than one that never did (same .config, most
 * objects); a slot with nothing of this key is the last choice.
 */
import type { SlotView } from './types.js';

/**
 * When one slot is free, the engine may give up this fraction of the best probe's information
 * for a probe the slot builds faster (ProbePreference). Near the middle of what is left the
 * information curve is flat: 2% of it spans about 16% of the remaining mass on a chain, which is
 * the difference between a build of seconds and one of minutes.
 */
export const AFFINITY_TOLERANCE = 0.02;

/** Costs: kept kernel < near build < same key elsewhere < nothing. */
export const KEPT = 0;
const ELSEWHERE = 1e8;
const NOTHING = 1e9;

export interface AffinityContext {
  buildKey: string;
  /** A commit's position in the range's topological order; undefined outside the range. */
  position(commit: string): number | undefined;
}

export function placementCost(commit: string, slot: SlotView, ctx: AffinityContext): number {
  if (slot.cached.get(ctx.buildKey)?.has(commit)) return KEPT;
  const last = slot.lastBuilt.get(ctx.buildKey);
  if (last === undefined) return NOTHING;
  if (last === commit) return 1;
  const a = ctx.position(commit);
  const b = ctx.position(last);
  return a === undefined || b === undefined ? ELSEWHERE : 1 + Math.abs(a - b);
}

export function slotId(s: { agentId: string; slot: number }): string {
  return `${s.agentId}/${s.slot}`;
}

/**
 * Place commits on slots, cheapest pairs first (greedy matching: each commit and each slot at
 * most once). Slots with nothing of this build key take no part: they get what is left, in the
 * engine's order. Returns slot id → commit.
 */
export function placeCommits(commits: readonly string[], slots: readonly SlotView[], ctx: AffinityContext): Map<string, string> {
  const placed = new Map<string, string>();
  const relevant = slots.filter((s) => s.lastBuilt.has(ctx.buildKey) || (s.cached.get(ctx.buildKey)?.size ?? 0) > 0);
  if (relevant.length === 0 || commits.length === 0) return placed;
  const pairs: Array<{ cost: number; commit: number; slot: number }> = [];
  relevant.forEach((s, si) => commits.forEach((c, ci) => pairs.push({ cost: placementCost(c, s, ctx), commit: ci, slot: si })));
  // Ties keep the engine's order of commits and the scheduler's order of slots.
  pairs.sort((x, y) => x.cost - y.cost || x.commit - y.commit || x.slot - y.slot);
  const commitTaken = new Uint8Array(commits.length);
  const slotTaken = new Uint8Array(relevant.length);
  for (const p of pairs) {
    if (p.cost >= NOTHING || commitTaken[p.commit] || slotTaken[p.slot]) continue;
    commitTaken[p.commit] = 1;
    slotTaken[p.slot] = 1;
    placed.set(slotId(relevant[p.slot]!), commits[p.commit]!);
  }
  return placed;
}

/** Is the offered slot the best of the pool for this commit (no other slot builds it cheaper)? */
export function isBestSlotFor(commit: string, offered: SlotView, pool: readonly SlotView[], ctx: AffinityContext): boolean {
  const mine = placementCost(commit, offered, ctx);
  return !pool.some((s) => slotId(s) !== slotId(offered) && placementCost(commit, s, ctx) < mine);
}

/**
 * The commit for the offered slot: the one placed on it; else the first (engine's order) placed
 * on no slot of the pool; else the first at all (its slot may go to another job).
 */
export function commitForSlot(commits: readonly string[], offered: SlotView, pool: readonly SlotView[], ctx: AffinityContext): string | undefined {
  if (commits.length <= 1) return commits[0];
  const placed = placeCommits(commits, pool.some((s) => slotId(s) === slotId(offered)) ? pool : [offered, ...pool], ctx);
  const mine = placed.get(slotId(offered));
  if (mine !== undefined) return mine;
  const elsewhere = new Set(placed.values());
  return commits.find((c) => !elsewhere.has(c)) ?? commits[0];
}
