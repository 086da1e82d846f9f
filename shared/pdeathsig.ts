/**
 * Children that die with their parent: `setpriv --pdeathsig SIG -- program args` (util-linux 2.33
 * or later) makes the kernel send the child SIG the moment this process dies, kill -9 included.
 * setpriv execs the program, so the pid is the program's own. Where setpriv is missing the command
 * is returned as it is.
 */
import { spawnSync } from 'node:child_process';

let setprivWorks: boolean | undefined;

/**
 * Whether `setpriv --pdeathsig` is there and works (tried once). PR_SET_PDEATHSIG fires when the
 * thread that forked the child exits: Node spawns from its main thread, which lives as long as the
 * process.
 */
export function pdeathsigAvailable(): boolean {
  setprivWorks ??= spawnSync('setpriv', ['--pdeathsig', 'TERM', '--', 'true'], { stdio: 'ignore' }).status === 0;
  return setprivWorks;
}

/** `program args`, to be sent `signal` by the kernel when this process dies (when setpriv can). */
export function dieWithThisProcess(program: string, args: string[], signal: 'TERM' | 'KILL' = 'TERM'): { program: string; args: string[] } {
  return pdeathsigAvailable() ? { program: 'setpriv', args: ['--pdeathsig', signal, '--', program, ...args] } : { program, args };
}
