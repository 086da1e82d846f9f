/**
 * Which qemu accelerator this host can use: KVM when /dev/kvm can be opened read-write (the user
 * is in the kvm group), TCG (pure emulation, roughly 10x slower) otherwise.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';

export type Accel = 'kvm' | 'tcg';

export async function detectAccel(path = '/dev/kvm'): Promise<Accel> {
  try {
    await access(path, constants.R_OK | constants.W_OK);
    return 'kvm';
  } catch {
    return 'tcg';
  }
}

/** qemu arguments for the accelerator: KVM passes the host CPU through; TCG emulates the best it can. */
export function accelArgs(accel: Accel): string[] {
  return accel === 'kvm' ? ['-enable-kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max'];
}
