/**
 * The content of one commit as data: the module's tunables, stats counters, feature files (one per
 * topic) and the planted bug. Commits change this state and render.ts turns it into files, so a
 * merge is the mainline's state plus the topic's own feature: never a textual conflict.
 */
import type { PlantedBug } from './bugs.js';
import type { Rng } from './rng.js';

export interface Feature {
  weight: number;
  /** Each step is one line of the score function: an operator and a constant. */
  steps: { op: '+' | '^' | '*'; k: number }[];
}

export interface LabState {
  version: number;
  batch: number;
  counters: string[];
  features: Record<string, Feature>;
  docs: string[];
  bug: PlantedBug | null;
  /** The tree does not compile (an undeclared helper is called). */
  broken: boolean;
}

export function initialState(): LabState {
  return { version: 0, batch: 8, counters: ['writes', 'errors'], features: {}, docs: [], bug: null, broken: false };
}

export function mergeState(main: LabState, topic: LabState, topicName: string): LabState {
  const s = structuredClone(main);
  const f = topic.features[topicName];
  if (f) s.features[topicName] = structuredClone(f);
  s.bug ??= topic.bug ? structuredClone(topic.bug) : null;
  return s;
}

const COUNTER_WORDS = ['lookups', 'misses', 'pushes', 'pops', 'walks', 'requeues', 'drains', 'races', 'reserves', 'stats', 'resets', 'retries', 'spills', 'evictions', 'refills', 'scans', 'hits', 'stalls', 'wakeups', 'flushes'];
const DOC_LINES = [
  'Commands are written one per write(2) to /proc/multisect_lab.',
  'The reproducer drives every command once, in a fixed order.',
  'Feature files each export one scoring function used by the stats command.',
  'Tunables live at the top of lab_main.c.',
  'LAB_BUDGET bounds reservations; larger requests are clamped.',
  'Entries are kept on a single list protected by the caller.',
  'The spare entry is kept after a pop to be reused by the next push.',
  'Counters are reported by the stats command.',
  'The shared entry is read under lab.lock.',
  'Drain waits only when work is pending for the flusher.',
];

/** A mainline change; returns the commit subject. */
export function mutateMain(s: LabState, rng: Rng): string {
  const features = Object.keys(s.features);
  const r = rng.next();
  if (r < 0.25) {
    const old = s.batch;
    do s.batch = rng.pick([8, 12, 16, 24, 32, 48, 64]);
    while (s.batch === old);
    return `lab: ${s.batch > old ? 'raise' : 'lower'} the push batch to ${s.batch}`;
  }
  if (r < 0.4) {
    s.version++;
    return `lab: bump version to 1.${s.version}`;
  }
  if (r < 0.55) {
    const name = `${rng.pick(COUNTER_WORDS)}${s.counters.length}`;
    s.counters.push(name);
    return `lab/stats: count ${name}`;
  }
  if (r < 0.8 && features.length > 0) {
    const name = rng.pick(features);
    const f = s.features[name] as Feature;
    f.weight = rng.int(1, 97);
    return `${name}: retune the weight to ${f.weight}`;
  }
  const line = `${rng.pick(DOC_LINES)} (rev ${s.docs.length + 1})`;
  s.docs.push(line);
  return `docs: ${line.slice(0, 40).toLowerCase()}`;
}

/** A change on a topic branch: the first one creates the topic's feature file. */
export function mutateTopic(s: LabState, topic: string, rng: Rng): string {
  const f = s.features[topic];
  if (!f) {
    s.features[topic] = { weight: rng.int(1, 97), steps: [{ op: '+', k: rng.int(1, 50) }] };
    return `${topic}: add the ${topic} score`;
  }
  if (rng.next() < 0.6) {
    const op = rng.pick(['+', '^', '*'] as const);
    f.steps.push({ op, k: rng.int(1, op === '*' ? 7 : 255) });
    return `${topic}: fold one more term into the score`;
  }
  const step = rng.pick(f.steps);
  step.k = rng.int(1, step.op === '*' ? 7 : 255);
  return `${topic}: adjust a scoring constant`;
}
