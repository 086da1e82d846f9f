#!/usr/bin/env bash
# Assembles guest.S (GNU as/ld from binutils) and writes guest.ts, the image the agent boots to
# prove KVM. Run it after editing guest.S; test/unit/kvm-probe-guest.test.ts checks they agree.
#   agent/kernel/kvm-probe/assemble.sh [--print]   (--print: the base64 image on stdout only)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
as --64 -o "$tmp/guest.o" "$here/guest.S"
ld -m elf_x86_64 -Ttext 0x100000 --oformat binary -o "$tmp/guest.bin" "$tmp/guest.o"
b64="$(base64 -w0 "$tmp/guest.bin")"
if [ "${1:-}" = "--print" ]; then echo "$b64"; exit 0; fi
cat > "$here/guest.ts" <<TS
/**
 * The KVM proof guest (guest.S beside this file, assembled by assemble.sh: do not edit by hand).
 * A $(stat -c %s "$tmp/guest.bin")-byte multiboot image: protected mode, paging, long mode, CPUID, RDTSC, SSE, then
 * GUEST_MARKER on the serial port and an exit through isa-debug-exit.
 */
export const GUEST_IMAGE_BASE64 =
  '$b64';

export const GUEST_MARKER = 'MULTISECT-KVM-OK';

/** qemu's exit status when the guest writes 0x31 to isa-debug-exit: (0x31 << 1) | 1. */
export const GUEST_EXIT_STATUS = 99;
TS
echo "wrote $here/guest.ts"
