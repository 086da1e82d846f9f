/**
 * The shape of a generated history: a mainline with topic branches forked from it and merged back,
 * then where the bug is planted and which commits do not build. Content comes later (render.ts):
 * keeping the shape separate lets the culprit and the broken window be chosen with the whole graph
 * in view.
 */
import type { Rng } from './rng.js';

export interface HistoryNode {
  idx: number;
  /** Indices of the parents; the first is the first parent. */
  parents: number[];
  /** 'main' or the topic's name. */
  line: string;
  merge: boolean;
  /** For a merge: the topic it merges. */
  mergedTopic?: string;
}

export interface Topology {
  nodes: HistoryNode[];
  /** Mainline nodes in first-parent order. */
  mainline: number[];
  /** Nodes from which a topic was forked (their state is inherited by the topic). */
  forkPoints: Set<number>;
}

export function planTopology(total: number, rng: Rng): Topology {
  if (total < 3) throw new Error('a history needs at least 3 commits');
  const nodes: HistoryNode[] = [];
  const mainline: number[] = [];
  const forkPoints = new Set<number>();
  const open: { name: string; tip: number; mergeAfter: number }[] = [];
  let topicNo = 0;
  const add = (n: Omit<HistoryNode, 'idx'>): number => {
    nodes.push({ idx: nodes.length, ...n });
    return nodes.length - 1;
  };
  const addMain = (n: Omit<HistoryNode, 'idx' | 'line'>): void => {
    mainline.push(add({ ...n, line: 'main' }));
  };
  addMain({ parents: [], merge: false });

  while (nodes.length < total) {
    const left = total - nodes.length;
    const tip = mainline[mainline.length - 1] as number;
    // Every open topic still needs its merge: when only those are left, merge them all.
    const due = open.findIndex((t) => t.mergeAfter <= 0);
    if (left <= open.length || due >= 0) {
      const t = open.splice(due >= 0 ? due : 0, 1)[0] as (typeof open)[number];
      addMain({ parents: [tip, t.tip], merge: true, mergedTopic: t.name });
      continue;
    }
    const room = left - open.length - 1; // commits a new topic may take, keeping room for its merge
    if (open.length < 2 && room >= 2 && rng.next() < 0.12) {
      const name = `topic${++topicNo}`;
      const size = rng.int(1, Math.min(6, room));
      forkPoints.add(tip);
      let parent = tip;
      for (let i = 0; i < size; i++) parent = add({ parents: [parent], line: name, merge: false });
      open.push({ name, tip: parent, mergeAfter: rng.int(1, 6) });
      continue;
    }
    addMain({ parents: [tip], merge: false });
    for (const t of open) t.mergeAfter--;
  }
  return { nodes, mainline, forkPoints };
}

export type BrokenPlacement = 'before' | 'after' | 'far';

export interface Plan {
  culprit: number;
  /** Commits that do not build. */
  broken: number[];
  /** The commit that makes the tree build again (undefined when nothing is broken). */
  fix?: number;
}

/**
 * Choose the culprit (a non-merge commit in the middle 20%..90% of the history) and, when asked,
 * K consecutive mainline commits that do not build: just before the culprit (the culprit itself
 * fixes the build, so the answer can only be "inconclusive between them"), just after it, or far
 * from it. Broken commits are never merges or fork points, so exactly K commits fail to build.
 */
export function planBug(topo: Topology, unbuildable: number, where: BrokenPlacement, rng: Rng): Plan {
  const n = topo.nodes.length;
  const lo = Math.max(1, Math.floor(n * 0.2));
  const hi = Math.max(lo, Math.floor(n * 0.9));
  const plain = (i: number | undefined): boolean =>
    i !== undefined && !(topo.nodes[i] as HistoryNode).merge && !topo.forkPoints.has(i);
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const culprit = rng.int(lo, hi);
    const node = topo.nodes[culprit] as HistoryNode;
    if (node.merge) continue;
    if (unbuildable <= 0) return { culprit, broken: [] };
    const p = topo.mainline.indexOf(culprit);
    if (p < 0) continue;
    let start: number;
    if (where === 'before') start = p - unbuildable;
    else if (where === 'after') start = p + 1;
    else {
      start = rng.int(1, topo.mainline.length - unbuildable - 2);
      if (Math.abs(start - p) < unbuildable + 5) continue;
    }
    if (start < 1) continue;
    const window = topo.mainline.slice(start, start + unbuildable);
    if (window.length !== unbuildable || !window.every(plain)) continue;
    const fix = topo.mainline[start + unbuildable];
    if (fix === undefined || (topo.nodes[fix] as HistoryNode).merge) continue;
    return { culprit, broken: window, fix };
  }
  throw new Error(`cannot place ${unbuildable} unbuildable commits ${where} a culprit in a ${n}-commit history; use more commits`);
}
