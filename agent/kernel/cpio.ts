/**
 * A minimal writer of the "newc" cpio format the kernel unpacks as an initramfs. Writing it here
 * (instead of running cpio) lets an unprivileged agent put device nodes such as /dev/console in
 * the archive, and makes the archive a pure function of its entries (stable artifact hashes).
 */
import { gzipSync } from 'node:zlib';

export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Uint8Array | string; mode?: number }
  | { type: 'char'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFCHR = 0o020000;

function header(fields: number[]): string {
  return '070701' + fields.map((f) => (f >>> 0).toString(16).padStart(8, '0')).join('');
}

function pad4(n: number): Buffer {
  return Buffer.alloc((4 - (n % 4)) % 4);
}

export function cpioArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const push = (name: string, mode: number, data: Buffer, rdev: [number, number] = [0, 0]) => {
    const nameBuf = Buffer.from(name + '\0');
    const h = Buffer.from(header([ino++, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], nameBuf.length, 0]));
    parts.push(h, nameBuf, pad4(h.length + nameBuf.length), data, pad4(data.length));
  };
  for (const e of entries) {
    const name = e.path.replace(/^\/+/, '');
    if (e.type === 'dir') push(name, S_IFDIR | (e.mode ?? 0o755), Buffer.alloc(0));
    else if (e.type === 'char') push(name, S_IFCHR | (e.mode ?? 0o600), Buffer.alloc(0), [e.major, e.minor]);
    else push(name, S_IFREG | (e.mode ?? 0o644), Buffer.from(e.data));
  }
  push('TRAILER!!!', 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}

export function gzipCpio(entries: readonly CpioEntry[]): Buffer {
  return gzipSync(cpioArchive(entries), { level: 6 });
}
