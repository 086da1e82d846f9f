/**
 * A bisection in progress: the belief plus the rules for proposing, cancelling and deciding.
 * Pure and deterministic under the seed; the coordinator owns all I/O and persistence (it can
 * rebuild a Bisection by replaying its verdicts, in any order).
 */
import { InvalidJobError } from '../../shared/errors.js';
import { Belief } from './belief.js';
import { bugPresence, type BugPresence } from './bug-presence.js';
import { DagIndex } from './dag.js';
import { ProbeValue } from './information.js';
import { compileEngineOptions, type EngineOptions } from './options.js';
import { ProbePartitioner } from './partition.js';
import { buildability, SweepWorkspace, type Partition, type SweepResult } from './planner.js';
import { probeScorer, type ProbePreference, type ProbeScorer, type ScoringContext } from './probe-scoring.js';
import { setOnlySkipsSplit, topMassSet } from './suspect-sets.js';
import type { CandidateDag, Decision, EngineStatus, EngineVerdict } from './types.js';

export type { ProbePreference } from './probe-scoring.js';

export class Bisection {
  readonly options: EngineOptions;
  readonly index: DagIndex;
  private readonly belief: Belief;
  /** Fix mode: which candidates contain a start commit; fork points are keys after the goods. */
  private readonly presence: BugPresence;
  private readonly keys = new Map<string, number>();
  private readonly seen = new Set<string>();
  /** Per key (candidates then goods): a skip verdict was seen. */
  private readonly skipped: Uint8Array;
  private skipCount = 0;
  private skipVersion = 0;
  private build: { version: number; b: Float64Array } | undefined;
  private decision: { version: string; d: Decision } | undefined;
  /** status() of the last evidence seen: a job asks it several times per verdict (events, record). */
  private statusMemo: { version: number; s: EngineStatus } | undefined;
  private planCache: { version: number; probes: number[]; partition: Partition; sweep: SweepResult } | undefined;
  private readonly masks = new Map<number, Uint8Array>();
  private valueCache: ProbeValue | undefined;
  private ancCache: { version: number; anc: Float64Array } | undefined;
  private workspace: SweepWorkspace | undefined;
  private readonly partitioner: ProbePartitioner;
  private lookWorkspace: SweepWorkspace | undefined;
  /** What probe scoring (probe-scoring.ts) reads from this bisection. */
  private readonly scoring: ScoringContext;

  private constructor(
    readonly dag: CandidateDag,
    options: EngineOptions,
    index: DagIndex | undefined,
  ) {
    this.options = options;
    this.index = index ?? DagIndex.build(dag);
    const n = this.index.n;
    dag.hashes.forEach((h, i) => this.keys.set(h, i));
    dag.goods.forEach((h, i) => {
      if (!this.keys.has(h)) this.keys.set(h, n + i);
    });
    this.presence = bugPresence(dag, options.mode);
    // A verdict on a fork point (a merge base with the start commit) says whether its branch had the bug.
    this.presence.forks.forEach((h, i) => {
      if (h !== '' && !this.keys.has(h)) this.keys.set(h, n + dag.goods.length + i);
    });
    const prior = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const w = (dag.weights?.[i] ?? 1) * (this.index.isMerge[i] ? options.mergeWeight : 1);
      prior[i] = w;
      total += w;
    }
    if (!(total > 0)) throw new InvalidJobError('dag.weights', 'every candidate has prior weight 0', { hint: 'give some candidates a positive weight (or raise mergeWeight)' });
    for (let i = 0; i < n; i++) prior[i]! *= (1 - options.notInRange) / total;
    this.belief = new Belief(this.index, dag.goods.length, prior, options.notInRange, options, this.presence);
    this.skipped = new Uint8Array(n + dag.goods.length + this.presence.forks.length);
    this.partitioner = new ProbePartitioner(this.index, (key) => this.ancestorMask(key));
    this.scoring = {
      index: this.index,
      options,
      hashes: dag.hashes,
      goods: dag.goods.length,
      presence: this.presence,
      skipped: this.skipped,
      plan: (probes) => this.plan(probes),
      value: () => this.value(),
      buildable: () => this.buildable(),
      posterior: () => this.belief.posterior(),
      mass: () => this.belief.mass(),
      ancestorMask: (x) => this.ancestorMask(x),
      lookaheadWorkspace: () => (this.lookWorkspace ??= new SweepWorkspace(this.index)),
    };
  }

  /**
   * Start a bisection. `index` lets many bisections of one DAG (simulations) share the DagIndex
   * built by `DagIndex.build(dag)` instead of rebuilding it.
   */
  static create(dag: CandidateDag, options?: Partial<EngineOptions>, index?: DagIndex): Bisection {
    return new Bisection(dag, compileEngineOptions(options), index);
  }

  /** Take a verdict. False when its probeId was seen before (ignored). Order does not matter. */
  apply(v: EngineVerdict): boolean {
    if (typeof v?.probeId !== 'string' || v.probeId === '') throw new InvalidJobError('verdict.probeId', 'must be a non-empty string');
    const key = this.keys.get(v.commit);
    if (key === undefined) {
      throw new InvalidJobError('verdict.commit', `${JSON.stringify(v.commit)} is neither a candidate, a good commit nor a fork point of this bisection`);
    }
    if ('skipped' in v && v.skipped === true) {
      if (this.seen.has(v.probeId)) return false;
      this.seen.add(v.probeId);
      if (!this.skipped[key]) {
        this.skipped[key] = 1;
        this.skipCount++;
        this.skipVersion++;
      }
      return true;
    }
    const { runs, crashes } = v as { runs: number; crashes: number };
    if (!Number.isInteger(runs) || runs < 0) throw new InvalidJobError('verdict.runs', `must be a whole number >= 0, got ${JSON.stringify(runs)}`);
    if (!Number.isInteger(crashes) || crashes < 0 || crashes > runs) {
      throw new InvalidJobError('verdict.crashes', `must be a whole number from 0 to runs (${runs}), got ${JSON.stringify(crashes)}`);
    }
    if (this.seen.has(v.probeId)) return false;
    this.seen.add(v.probeId);
    this.belief.addRuns(key, runs, crashes);
    return true;
  }

  private hashOf(key: number): string {
    const n = this.index.n;
    const g = this.dag.goods.length;
    return key < n ? this.dag.hashes[key]! : key < n + g ? this.dag.goods[key - n]! : this.presence.forks[key - n - g]!;
  }

  private value(): ProbeValue {
    const p = this.belief.posterior();
    const v = this.valueCache;
    if (v && v.q === p.q && v.eps === p.eps) return v;
    this.valueCache = new ProbeValue(p.q, p.eps, this.options.runsPerProbe, this.options.mode);
    return this.valueCache;
  }

  private buildable(): Float64Array {
    if (!this.build || this.build.version !== this.skipVersion) {
      this.build = { version: this.skipVersion, b: buildability(this.index, this.skipped) };
    }
    return this.build.b;
  }

  /** The most likely candidate. Ties go to the lowest id. */
  private top(): { id: number; p: number } {
    const w = this.belief.mass();
    let id = 0;
    for (let i = 1; i < w.length; i++) if (w[i]! > w[id]!) id = i;
    return { id, p: w[id]! };
  }

  /**
   * Candidate parents of x that no verdict tells apart from x yet: every tested commit that
   * contains the parent also contains x (same class), and the parent was not skipped. Naming x
   * the culprit needs each parent "tested": a verdict on the parent itself or on any commit that
   * contains the parent but not x (git bisect takes the same shortcut: good propagates down).
   */
  private untestedParents(x: number): number[] {
    const out: number[] = [];
    const { parentStart, parentList } = this.index;
    const classOf = this.belief.classOf;
    for (let k = parentStart[x]!; k < parentStart[x + 1]!; k++) {
      const p = parentList[k]!;
      if (classOf[p] === classOf[x] && !this.skipped[p]) out.push(p);
    }
    return out;
  }

  private inFlightKeys(inFlight: readonly string[]): Map<number, number> {
    const counts = new Map<number, number>();
    for (const h of inFlight) {
      const k = this.keys.get(h);
      if (k !== undefined) counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    return counts;
  }

  /**
   * The next commit to probe, given the ones in flight (repeats allowed: with flaky verdicts a
   * second probe of the same commit can be the best use of an agent). Undefined when nothing
   * would add at least minGain bits, or the bisection is decided. Greedy: right when agents free
   * up one at a time; when several are free at once, proposeMany places them jointly.
   */
  propose(inFlight: readonly string[], prefer?: ProbePreference): string | undefined {
    if (this.decide().kind !== 'continue') return undefined;
    const counts = this.inFlightKeys(inFlight);
    const rule = this.ruleBased(counts);
    if (rule !== undefined) return this.hashOf(rule);
    const best = this.scorer(counts, prefer).best();
    return best === undefined ? undefined : this.hashOf(best);
  }

  /**
   * Up to `count` commits to probe at once, given the ones in flight, placed jointly: a greedy
   * pick, then rounds of "re-place each probe given all the others" (coordinate ascent) while it
   * helps. On a chain this moves k probes from greedy's 1/2, 1/4, 3/4... to the i/(k+1)
   * quantiles, which is what ceil(log_{k+1} n) rounds needs when k+1 is not a power of two.
   */
  proposeMany(inFlight: readonly string[], count: number): string[] {
    if (count <= 0 || this.decide().kind !== 'continue') return [];
    const counts = this.inFlightKeys(inFlight);
    const fixed: number[] = [];
    const picks: number[] = [];
    while (fixed.length + picks.length < count) {
      const rule = this.ruleBased(counts);
      const key = rule ?? this.scorer(counts).best();
      if (key === undefined) break;
      (rule !== undefined ? fixed : picks).push(key);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    // Coordinate ascent, with a work budget that keeps big DAGs fast (deterministic: it depends
    // on n and count only). Only when these picks are most of the job's probes (a round placed
    // at once): a few picks among many in flight are what one-at-a-time greedy would choose
    // given the others, and re-placing them costs a sweep per pick per pass (a busy farm frees
    // a few slots of each job at a time).
    const budget = picks.length > inFlight.length ? 4 : 0;
    const passes = Math.min(budget, Math.floor(4e6 / (this.index.n * Math.max(1, picks.length))));
    for (let pass = 0; pass < passes && picks.length > 1; pass++) {
      let changed = false;
      for (let i = 0; i < picks.length; i++) {
        const cur = picks[i]!;
        const d = counts.get(cur)!;
        if (d === 1) counts.delete(cur);
        else counts.set(cur, d - 1);
        const sc = this.scorer(counts);
        const alt = sc.best();
        let chosen = cur;
        if (alt !== undefined && alt !== cur && sc.score(alt) > sc.score(cur) * (1 + 1e-9) + 1e-12) {
          chosen = alt;
          changed = true;
        }
        picks[i] = chosen;
        counts.set(chosen, (counts.get(chosen) ?? 0) + 1);
      }
      if (!changed) break;
    }
    return [...fixed, ...picks].map((k) => this.hashOf(k));
  }

  /** Scores of probing each commit next, given the in-flight multiset `counts` (see probe-scoring.ts). */
  private scorer(counts: Map<number, number>, prefer?: ProbePreference): ProbeScorer {
    return probeScorer(this.scoring, counts, prefer);
  }

  /** Commits proposed by rule before any scoring: the unconfirmed bad tip, the culprit's parents. */
  private ruleBased(counts: Map<number, number>): number | undefined {
    const bad = this.index.bad;
    if (this.options.confirmBad && this.belief.runs[bad] === 0 && !this.skipped[bad] && !counts.has(bad)) return bad;
    const top = this.top();
    if (top.p >= this.options.confidenceTarget) {
      for (const p of this.untestedParents(top.id)) if (!counts.has(p)) return p;
    }
    return undefined;
  }

  /** Partition by the in-flight probes and sweep; the last result is reused when nothing changed. */
  private plan(probes: number[]): { partition: Partition; sweep: SweepResult } {
    const version = this.belief.version;
    const c = this.planCache;
    if (c && c.version === version && sameKeys(c.probes, probes)) return c;
    // The partition depends on the probes alone, not on the belief: a verdict or a new
    // assignment changes it by one probe, and the partitioner changes one bit.
    const partition = c && sameKeys(c.probes, probes) ? c.partition : this.partitioner.partition(probes);
    const post = this.belief.posterior();
    this.workspace ??= new SweepWorkspace(this.index);
    const sweep = this.workspace.sweep(this.belief.mass(), post.nirOld, post.nirAbsent, partition, this.value());
    this.planCache = { version, probes, partition, sweep };
    return this.planCache;
  }

  /** anc(x) as a byte mask, cached (the DAG never changes; a few dozen masks are live at once). */
  private ancestorMask(x: number): Uint8Array {
    let m = this.masks.get(x);
    if (m === undefined) {
      if (this.masks.size >= 96) this.masks.delete(this.masks.keys().next().value!);
      m = this.index.ancestorMask(x);
      this.masks.set(x, m);
    }
    return m;
  }

  /** Ancestor mass of every candidate under the current belief. */
  private ancestorMass(): Float64Array {
    const version = this.belief.version;
    if (!this.ancCache || this.ancCache.version !== version) {
      this.ancCache = { version, anc: this.index.ancestorSums(this.belief.mass()) };
    }
    return this.ancCache.anc;
  }

  /**
   * In-flight commits whose outcome can no longer matter: nearly all the live mass (candidates,
   * plus a not-in-range hypothesis while it is not negligible) lies on one side of anc(x).
   */
  useless(inFlight: readonly string[]): string[] {
    const n = this.index.n;
    const post = this.belief.posterior();
    const neg = (1 - this.options.confidenceTarget) / 10;
    const anc = this.ancestorMass();
    const w = this.belief.mass();
    let cand = 0;
    for (let i = 0; i < n; i++) cand += w[i]!;
    const old = post.nirOld >= neg ? post.nirOld : 0;
    const absent = post.nirAbsent >= neg ? post.nirAbsent : 0;
    const total = cand + old + absent;
    const keep = new Set<number>();
    if (this.options.confirmBad && this.belief.runs[this.index.bad] === 0) keep.add(this.index.bad);
    const top = this.top();
    if (top.p >= this.options.confidenceTarget) for (const p of this.untestedParents(top.id)) keep.add(p);
    const out: string[] = [];
    const done = new Set<string>();
    const decided = this.decide().kind !== 'continue';
    for (const h of inFlight) {
      if (done.has(h)) continue;
      done.add(h);
      const key = this.keys.get(h);
      if (key === undefined) continue;
      if (decided) {
        out.push(h);
        continue;
      }
      if (keep.has(key)) continue;
      if (key >= n + this.dag.goods.length) {
        // A fork point: useless once its branch's bug status is settled.
        const fb = post.forkBug[key - n - this.dag.goods.length]!;
        if (fb < neg || fb > 1 - neg) out.push(h);
        continue;
      }
      const a = (key < n ? anc[key]! : 0) + old;
      const f = total > 0 ? a / total : 0;
      if (f < neg || f > 1 - neg) out.push(h);
    }
    return out;
  }

  decide(): Decision {
    const version = `${this.belief.version}/${this.skipVersion}`;
    if (this.decision?.version === version) return this.decision.d;
    const d = this.computeDecision();
    this.decision = { version, d };
    return d;
  }

  private computeDecision(): Decision {
    const target = this.options.confidenceTarget;
    const post = this.belief.posterior();
    const cause = this.options.mode === 'cause';
    const nir = post.nirOld + post.nirAbsent;
    if (nir >= target) {
      const old = post.nirOld >= post.nirAbsent;
      const reason = cause
        ? old
          ? 'the good commit crashes too: the culprit is older than the range'
          : 'the bad commit does not crash'
        : old
          ? 'the good commit does not crash: the fix is older than the range'
          : 'the tip still crashes: no commit in the range fixes it';
      return { kind: 'not-in-range', confidence: nir, reason };
    }
    const top = this.top();
    if (top.p >= target) {
      if (this.untestedParents(top.id).length === 0) return { kind: 'culprit', commit: this.hashOf(top.id), confidence: top.p };
      return { kind: 'continue' };
    }
    if (this.skipCount > 0) {
      const blocked = this.blockedBySkips();
      if (blocked) return blocked;
    }
    if (this.presence.anyLacking && this.scorer(new Map()).best() === undefined) return this.untellable();
    return { kind: 'continue' };
  }

  /**
   * Fix mode: no commit left to test can move the belief, because the suspects differ only in
   * commits that may never have had the bug (a fix that came with a branch forked before the bug:
   * any of its commits, or its merge, could be the one). The smallest set holding the target mass.
   */
  private untellable(): Decision {
    const { members, mass } = topMassSet(this.belief.mass(), this.options.confidenceTarget);
    return {
      kind: 'inconclusive',
      commits: members.map((i) => this.hashOf(i)),
      confidence: mass,
      reason: 'no commit left to test tells these apart: they differ only in commits that may never have had the bug (a branch forked before it came in)',
    };
  }

  /**
   * "Inconclusive": the smallest set of candidates holding the target mass cannot be split by
   * any commit that builds (git bisect's "only skipped commits left to test").
   */
  private blockedBySkips(): Decision | undefined {
    const set = setOnlySkipsSplit(this.index, this.belief.mass(), this.skipped, this.options.confidenceTarget);
    if (!set) return undefined;
    return {
      kind: 'inconclusive',
      commits: set.members.map((i) => this.hashOf(i)),
      confidence: set.mass,
      reason: 'only skipped (unbuildable) commits stand between these candidates',
    };
  }

  status(): EngineStatus {
    // Skips change no posterior (they only bar probes): the belief's version is the key.
    if (this.statusMemo?.version === this.belief.version) return this.statusMemo.s;
    const s = this.computeStatus();
    this.statusMemo = { version: this.belief.version, s };
    return s;
  }

  private computeStatus(): EngineStatus {
    const n = this.index.n;
    const post = this.belief.posterior();
    const w = this.belief.mass();
    const cutoff = Math.log(0.01);
    // Candidates left: those of the classes still within 100x of the best (a class shares one
    // likelihood), counted by class rather than by candidate.
    let left = 0;
    const classes = this.belief.classes;
    for (let c = 0; c < classes.length; c++) {
      if (classes[c]!.prior > 0 && post.classRelLog[c]! >= cutoff) left += classes[c]!.live;
    }
    const topIds: number[] = [];
    for (let i = 0; i < n; i++) {
      if (topIds.length < 5 || w[i]! > w[topIds[topIds.length - 1]!]!) {
        topIds.push(i);
        topIds.sort((a, b) => w[b]! - w[a]! || a - b);
        if (topIds.length > 5) topIds.pop();
      }
    }
    return {
      candidatesTotal: n,
      candidatesLeft: left,
      top: topIds.map((i) => ({ commit: this.hashOf(i), probability: w[i]! })),
      tested: this.belief.tested.length,
      q: post.q,
      eps: post.eps,
      notInRange: post.nirOld + post.nirAbsent,
    };
  }

  /** Posterior of every candidate (by id); for reports and tests. */
  probabilities(): Float64Array {
    return this.belief.mass().slice();
  }
}

function sameKeys(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

