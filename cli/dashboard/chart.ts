/**
 * Where the culprit can be: the candidate range in topological order on the x axis, each
 * commit's posterior mass on a log y axis, drawn as a hand-made SVG (a few hundred elements: no
 * chart library needed). Commits are binned (at most BINS bars, each the largest mass in it), so
 * a 100,000-commit range draws as fast and as small as a 500-commit one.
 *
 * The mass is the engine's own posterior (OperatorService.GetPosterior) while the job runs. After
 * the end, or from a coordinator without that call, it is the last one read, else an estimate:
 * the top suspects as the events sent them, the rest of the mass spread evenly over the commits
 * that agree with the verdicts so far (cause mode: an ancestor of every crashing commit and of
 * none of the clean ones; fix mode the other way round).
 */
import type { Suspect } from '../../shared/proto.js';
import type { ProbeDone, ProbeInFlight } from './job-watch.js';
import type { CandidateRange } from './range.js';
import { esc } from './html.js';

export const BINS = 500;

export interface ChartInput {
  range: CandidateRange | string;
  mode: 'cause' | 'fix';
  done: readonly ProbeDone[];
  inFlight: readonly ProbeInFlight[];
  suspects: readonly Suspect[];
  /** The engine's posterior (commits in topological order, mass of each), when the coordinator sent one. */
  posterior?: { commits: readonly string[]; mass: readonly number[] };
}

export interface Bin {
  from: number;
  to: number;
  /** Largest estimated mass of a commit in the bin. */
  maxP: number;
  /** Commits still in agreement with the verdicts. */
  alive: number;
  crash: number;
  clean: number;
  skip: number;
  inFlight: number;
  suspect: boolean;
}

export interface ChartData {
  /** Why there is no candidate list (then the bins are the commits the events name). */
  unavailable?: string;
  /** The mass is the engine's posterior, not an estimate. */
  exact: boolean;
  commits: number;
  bins: Bin[];
  tags: { bin: number; tag: string }[];
  /** The commit of each bin when bins are single commits. */
  labels?: string[];
}

/** Estimated posterior of every commit of the range (see the file comment). */
export function estimatePosterior(range: CandidateRange, mode: 'cause' | 'fix', done: readonly ProbeDone[], suspects: readonly Suspect[]): Float64Array {
  const n = range.hashes.length;
  const positive = mode === 'cause' ? 'crash' : 'clean';
  const seen = new Map<number, Set<string>>();
  for (const d of done) {
    const i = range.index.get(d.commit);
    if (i === undefined || (d.verdict !== 'crash' && d.verdict !== 'clean')) continue;
    (seen.get(i) ?? seen.set(i, new Set()).get(i)!).add(d.verdict);
  }
  const count = new Uint32Array(n);
  const dead = new Uint8Array(n);
  const mark = new Uint8Array(n);
  let positives = 0;
  for (const [i, kinds] of seen) {
    if (kinds.size > 1) continue; // verdicts disagree (a flaky reproducer): no hard line
    const isPositive = kinds.has(positive);
    if (isPositive) positives++;
    mark.fill(0);
    const stack = [i];
    mark[i] = 1;
    while (stack.length) {
      const c = stack.pop()!;
      if (isPositive) count[c]!++;
      else dead[c] = 1;
      for (const p of range.parents[c]!) {
        if (!mark[p]) {
          mark[p] = 1;
          stack.push(p);
        }
      }
    }
  }
  const p = new Float64Array(n);
  const exact = new Map<number, number>();
  for (const s of suspects) {
    const i = range.index.get(s.hash);
    if (i !== undefined) exact.set(i, s.probability);
  }
  let alive = 0;
  for (let i = 0; i < n; i++) if (!dead[i] && count[i] === positives && !exact.has(i)) alive++;
  const rest = Math.max(0, 1 - suspects.reduce((a, s) => a + s.probability, 0));
  const each = alive ? rest / alive : 0;
  for (let i = 0; i < n; i++) p[i] = exact.get(i) ?? (!dead[i] && count[i] === positives ? each : 0);
  return p;
}

/** The posterior's mass on each commit of the range (by hash: the dashboard may have read its own range). */
function exactPosterior(range: CandidateRange, posterior: { commits: readonly string[]; mass: readonly number[] }): Float64Array {
  const p = new Float64Array(range.hashes.length);
  posterior.commits.forEach((h, k) => {
    const i = range.index.get(h);
    if (i !== undefined) p[i] = posterior.mass[k] ?? 0;
  });
  return p;
}

/** A range from the posterior alone (the repository is not readable here): order, no parents or tags. */
function rangeOfPosterior(commits: readonly string[]): CandidateRange {
  return { hashes: [...commits], subjects: [], parents: commits.map(() => []), index: new Map(commits.map((h, i) => [h, i])), tags: [] };
}

export function chartData(input: ChartInput): ChartData {
  const exact = Boolean(input.posterior?.commits.length);
  let { range } = input;
  if (typeof range === 'string') {
    if (!exact) return knownCommitsOnly(input, range);
    range = rangeOfPosterior(input.posterior!.commits);
  }
  const n = range.hashes.length;
  const p = exact ? exactPosterior(range, input.posterior!) : estimatePosterior(range, input.mode, input.done, input.suspects);
  const nb = Math.min(BINS, n);
  const binOf = (i: number) => Math.min(nb - 1, Math.floor((i * nb) / n));
  const bins: Bin[] = [];
  for (let b = 0; b < nb; b++) {
    const from = Math.ceil((b * n) / nb);
    const to = Math.ceil(((b + 1) * n) / nb);
    let maxP = 0;
    let alive = 0;
    for (let i = from; i < to; i++) {
      if (p[i]! > maxP) maxP = p[i]!;
      if (p[i]! > 0) alive++;
    }
    bins.push({ from, to, maxP, alive, crash: 0, clean: 0, skip: 0, inFlight: 0, suspect: false });
  }
  const at = (hash: string) => {
    const i = range.index.get(hash);
    return i === undefined ? undefined : bins[binOf(i)];
  };
  for (const d of input.done) {
    const b = at(d.commit);
    if (b && d.verdict !== 'no-evidence') b[d.verdict]++;
  }
  for (const f of input.inFlight) {
    const b = at(f.commit);
    if (b) b.inFlight++;
  }
  for (const s of input.suspects) {
    const b = at(s.hash);
    if (b) b.suspect = true;
  }
  const tags = range.tags.map((t) => ({ bin: binOf(t.at), tag: t.tag }));
  return { exact, commits: n, bins, tags, labels: nb === n ? range.hashes.slice() : undefined };
}

/** Without the range: one bar per commit the events name (tested, in flight, suspects). */
function knownCommitsOnly(input: ChartInput, reason: string): ChartData {
  const order: string[] = [];
  const add = (h: string) => !order.includes(h) && order.push(h);
  input.done.forEach((d) => add(d.commit));
  input.inFlight.forEach((f) => add(f.commit));
  input.suspects.forEach((s) => add(s.hash));
  const bins = order.slice(0, BINS).map((h, i): Bin => {
    const s = input.suspects.find((x) => x.hash === h);
    const ds = input.done.filter((d) => d.commit === h);
    return {
      from: i,
      to: i + 1,
      maxP: s?.probability ?? 0,
      alive: s ? 1 : 0,
      crash: ds.filter((d) => d.verdict === 'crash').length,
      clean: ds.filter((d) => d.verdict === 'clean').length,
      skip: ds.filter((d) => d.verdict === 'skip').length,
      inFlight: input.inFlight.filter((f) => f.commit === h).length,
      suspect: Boolean(s),
    };
  });
  return { unavailable: reason, exact: false, commits: bins.length, bins, tags: [], labels: order.slice(0, BINS) };
}

const W = 1000;
const H = 260;
const LEFT = 48;
const RIGHT = 10;
const TOP = 16;
const BASE = 200;

export function chartSvg(d: ChartData): string {
  const nb = Math.max(1, d.bins.length);
  const bw = (W - LEFT - RIGHT) / nb;
  const positive = d.bins.map((b) => b.maxP).filter((x) => x > 0);
  const lo = Math.max(-9, Math.min(-1, Math.floor(Math.log10(Math.min(1, ...positive)))));
  const y = (p: number) => TOP + ((0 - Math.log10(p)) / (0 - lo)) * (BASE - TOP);
  const x = (b: number) => LEFT + b * bw;
  const f = (v: number) => v.toFixed(1);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" class="chart" role="img" aria-label="posterior mass over the candidate range">`);
  // The log axis: a grid line per power of ten.
  for (let e = 0; e >= lo; e--) {
    out.push(`<line class="grid" x1="${LEFT}" x2="${W - RIGHT}" y1="${f(y(10 ** e))}" y2="${f(y(10 ** e))}"/><text class="axis" x="${LEFT - 4}" y="${f(y(10 ** e) + 4)}" text-anchor="end">1e${e}</text>`);
  }
  let bars = '';
  let top = '';
  d.bins.forEach((b, i) => {
    if (b.maxP <= 0) return;
    const path = `M${f(x(i))} ${BASE}V${f(y(b.maxP))}h${f(Math.max(0.6, bw - (bw > 3 ? 1 : 0)))}V${BASE}Z`;
    if (b.suspect) top += path;
    else bars += path;
  });
  out.push(`<path class="mass" d="${bars}"/><path class="suspect" d="${top}"/>`);
  out.push(`<line class="axisline" x1="${LEFT}" x2="${W - RIGHT}" y1="${BASE}" y2="${BASE}"/>`);
  const cx = (i: number) => f(x(i) + bw / 2);
  d.bins.forEach((b, i) => {
    const label = d.labels?.[i] ? `${d.labels[i]!.slice(0, 12)}: ` : `commits ${b.from}..${b.to - 1}: `;
    const what = [b.crash && `${b.crash} crashed`, b.clean && `${b.clean} clean`, b.skip && `${b.skip} skipped`].filter(Boolean).join(', ');
    if (b.crash) out.push(`<circle class="v-crash" cx="${cx(i)}" cy="${BASE + 9}" r="3.5"><title>${esc(label + what)}</title></circle>`);
    if (b.clean) out.push(`<circle class="v-clean" cx="${cx(i)}" cy="${BASE + 18}" r="3.5"><title>${esc(label + what)}</title></circle>`);
    if (b.skip) out.push(`<path class="v-skip" d="M${f(x(i) + bw / 2 - 3)} ${BASE + 24}l6 6m0 -6l-6 6"><title>${esc(label + what)}</title></path>`);
    if (b.inFlight) out.push(`<path class="inflight" d="M${f(x(i) + bw / 2 - 5)} ${TOP - 12}h10l-5 8Z"><title>${esc(`${label}${b.inFlight} probe(s) in flight`)}</title></path>`);
  });
  // Release tags as ticks, labelled where there is room.
  let lastLabel = -Infinity;
  for (const t of d.tags) {
    out.push(`<line class="tag" x1="${cx(t.bin)}" x2="${cx(t.bin)}" y1="${BASE}" y2="${BASE + 34}"/>`);
    if (x(t.bin) - lastLabel > 60) {
      out.push(`<text class="axis" x="${cx(t.bin)}" y="${BASE + 46}" text-anchor="middle">${esc(t.tag)}</text>`);
      lastLabel = x(t.bin);
    }
  }
  out.push(`<text class="axis" x="${LEFT}" y="${H - 2}">oldest</text><text class="axis" x="${W - RIGHT}" y="${H - 2}" text-anchor="end">${esc(`newest (${d.commits} commits${d.bins.length < d.commits ? `, ${d.bins.length} bins` : ''})`)}</text>`);
  out.push('</svg>');
  return out.join('');
}
