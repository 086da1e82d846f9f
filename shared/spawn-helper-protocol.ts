/** Messages between spawn-helper.ts (the parent) and spawn-helper-main.ts (the helper process). */

export type HelperRequest =
  | {
      type: 'run';
      id: number;
      file: string;
      args: string[];
      cwd: string;
      env: NodeJS.ProcessEnv;
      input?: Buffer | undefined;
      /** 0: no limit. */
      timeoutMs: number;
      maxBuffer: number;
      /** Send stdout in chunks as it comes (one at a time, each after a 'more'). */
      stream: boolean;
    }
  | { type: 'more'; id: number }
  | { type: 'kill'; id: number };

export type HelperReply =
  | { type: 'chunk'; id: number; data: Buffer | Uint8Array }
  | {
      type: 'exit';
      id: number;
      code: number;
      signal: string;
      timedOut: boolean;
      overflow: boolean;
      stdout: Buffer | Uint8Array;
      stderr: Buffer | Uint8Array;
    }
  /** The program could not be started (ENOENT: not installed, or no such cwd). */
  | { type: 'error'; id: number; code: string; message: string };
