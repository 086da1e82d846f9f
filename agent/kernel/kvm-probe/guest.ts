/**
 * The KVM proof guest (guest.S beside this file, assembled by assemble.sh: do not edit by hand).
 * A 264-byte multiboot image: protected mode, paging, long mode, CPUID, RDTSC, SSE, then
 * GUEST_MARKER on the serial port and an exit through isa-debug-exit.
 */
export const GUEST_IMAGE_BASE64 =
  'ArCtGwAAAQD+T1HkAAAQAAAAEAAAAAAAAAAAACAAEAD6Zrr4A7Az7r8AACAAMcC5AAwAAPOrxwUAACAAAxAgAMcFABAgAAMgIADHBQAgIACDAAAAxwUIICAAgwAgALgAACAADyLYDyDgDSACAAAPIuC5gAAAwA8yDQABAAAPMA8BFfAAEAAPIMCD4PsNAwAAgA8iwOqbABAACABmuvgDsDTuMcAPog8x8w9vBUYAAADzD38EJQAwIABIjTU2AAAAZrr4A6yEwHQD7uv4Zrr0ALAx7vTr9maQAAAAAAAAAAAAAAAAAJogAAAAAAAAkgAAFwDYABAATVVMVElTRUNULUtWTS1PSwoA';

export const GUEST_MARKER = 'MULTISECT-KVM-OK';

/** qemu's exit status when the guest writes 0x31 to isa-debug-exit: (0x31 << 1) | 1. */
export const GUEST_EXIT_STATUS = 99;
