/**
 * A job as a pure state machine (JobRun) and its vocabulary. coordinator/jobs.ts is the executor
 * around it; nothing here does I/O (test/tools/check-imports.ts keeps it so).
 */
export { JobRun, type RunStart, type RunState } from './job-run.js';
export { answer, carryOut, replay, REPLAY_VIEW, type RunPorts } from './replay.js';
export { startOf } from './start.js';
export { DEFAULT_MAX_SKIPS, MAX_VERIFY_ROUNDS, runConfig, type RunConfig } from './config.js';
export { ReleaseWalk, WALK_TAG, type ReleaseTag } from './release-walk.js';
export { toEngineVerdict, verdictOutcome, crashOf } from './evidence.js';
export type { AgentView, Command, EventData, InFlightProbe, Phase, RunEvent, SlotView } from './types.js';
