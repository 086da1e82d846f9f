/**
 * Turns one VM's end into a run outcome. Conventions (syzkaller's where it has one):
 * - qemu did not start: infra (the host's fault, not the commit's);
 * - the boot marker never came (boot timeout, or a crash or power-off before init): skip;
 * - the parser found a crash: crash with its title;
 * - the console went silent: a crash titled "no output from test machine" (a hang);
 * - the total timeout ran out with output still flowing: skip (nothing can be concluded);
 * - a panic the parser did not name: a crash titled "kernel panic: <reason>";
 * - a clean power-off: ok, unless the job names a done marker that never printed (the test did
 *   not really run): skip.
 */
import { RunOutcome } from '../../shared/proto.js';
import type { RunClassification } from '../recipes/types.js';
import type { VmResult } from './vm.js';

export const NO_OUTPUT_TITLE = 'no output from test machine';

export interface Judgement {
  outcome: RunOutcome;
  title: string;
  crashType: string;
  matches: boolean;
  /** The VM never got to its boot marker: the commit's fault or the host's (the coordinator tells). */
  bootFailed?: boolean;
}

export function judgeRun(
  vm: VmResult,
  classify: (console: string) => RunClassification,
  matchesPolicy: (title: string) => boolean,
  doneMarker?: string,
): Judgement {
  const skip = (title: string): Judgement => ({ outcome: RunOutcome.RUN_OUTCOME_SKIP, title, crashType: '', matches: false });
  const crash = (title: string, crashType: string, matches: boolean): Judgement => ({ outcome: RunOutcome.RUN_OUTCOME_CRASH, title, crashType, matches });
  if (vm.end === 'qemu-failed') {
    return { outcome: RunOutcome.RUN_OUTCOME_INFRA, title: `qemu failed to start: ${vm.qemuStderr.split('\n').slice(-3).join(' / ') || `exit ${vm.exitCode}`}`, crashType: '', matches: false };
  }
  if (!vm.booted) {
    const c = classify(vm.console);
    const why = vm.end === 'boot-timeout' ? 'boot timed out' : c.crashed ? c.title : vm.end === 'poweroff' ? 'the VM stopped before the boot marker' : vm.end;
    return { ...skip(`could not boot: ${why}`), bootFailed: true };
  }
  const c = classify(vm.console);
  if (c.crashed) return crash(c.title, c.type, c.matches);
  if (vm.end === 'no-output') return crash(NO_OUTPUT_TITLE, 'HANG', matchesPolicy(NO_OUTPUT_TITLE));
  if (vm.end === 'timeout') return skip('test did not finish before the total timeout');
  if (vm.end === 'panic') {
    const m = /Kernel panic - not syncing: ([^\n]*)/.exec(vm.console);
    const title = `kernel panic: ${(m?.[1] ?? 'unknown').trim()}`;
    return crash(title, 'PANIC', matchesPolicy(title));
  }
  if (doneMarker && !vm.console.includes(doneMarker)) return skip(`the test did not complete (no "${doneMarker}" on the console)`);
  return { outcome: RunOutcome.RUN_OUTCOME_OK, title: '', crashType: '', matches: false };
}
