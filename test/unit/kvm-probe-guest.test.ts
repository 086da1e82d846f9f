/**
 * The KVM proof guest's bytes (agent/kernel/kvm-probe/guest.ts) are what its source (guest.S)
 * assembles to, and the image is a valid multiboot a.out-kludge header. Needs binutils for the
 * first check (gcc brings it; the kernel lab installs gcc).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { GUEST_IMAGE_BASE64, GUEST_MARKER } from '../../agent/kernel/kvm-probe/guest.js';

const ROOT = join(import.meta.dirname, '../..');
const hasBinutils = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v as && command -v ld'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('KVM proof guest image', () => {
  const image = Buffer.from(GUEST_IMAGE_BASE64, 'base64');

  it('is a multiboot image with a valid checksum, loaded and entered at 1 MiB', () => {
    const magic = image.readUInt32LE(0);
    const flags = image.readUInt32LE(4);
    assert.equal(magic, 0x1badb002);
    assert.equal(flags, 0x00010000);
    assert.equal((magic + flags + image.readUInt32LE(8)) >>> 0, 0);
    assert.equal(image.readUInt32LE(16), 0x100000);
    assert.equal(image.readUInt32LE(28), 0x100020);
    assert.ok(image.includes(Buffer.from(GUEST_MARKER)));
  });

  it('is what guest.S assembles to', { skip: hasBinutils ? false : 'no as/ld here' }, () => {
    const fresh = execFileSync('bash', [join(ROOT, 'agent/kernel/kvm-probe/assemble.sh'), '--print'], { encoding: 'utf8' }).trim();
    assert.equal(fresh, GUEST_IMAGE_BASE64, 'guest.ts is stale: run agent/kernel/kvm-probe/assemble.sh');
  });
});
