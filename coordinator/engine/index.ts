/**
 * The multisection engine (pure, no I/O): a belief over "which commit is the culprit" on a
 * candidate DAG, k probes at once, flaky verdicts as evidence. See DESIGN.md, "The engine".
 *
 *   const b = Bisection.create(dag, { mode: 'cause', runsPerProbe: 10 });
 *   b.propose([])            // -> bad tip first, then the most informative commits
 *   b.apply({ probeId, commit, runs, crashes })
 *   b.useless(inFlight)      // -> cancel these
 *   b.decide()               // -> continue | culprit | inconclusive | not-in-range
 */
export { Bisection, type ProbePreference } from './bisection.js';
export { compileEngineOptions, DEFAULT_ENGINE_OPTIONS, type EngineOptions } from './options.js';
export type { CandidateDag, Decision, EngineStatus, EngineVerdict } from './types.js';
export { DagIndex } from './dag.js';
