/*
 * The KVM proof guest: a multiboot image (a.out kludge, loaded at 1 MiB by qemu's -kernel) that
 * does what a kernel's early boot does before it prints: 32-bit protected mode, 4-level paging,
 * long mode, a far jump into 64-bit code, then CPUID, RDTSC and an SSE move. It prints
 * "MULTISECT-KVM-OK" on the first serial port and exits qemu through isa-debug-exit (status 99).
 * Assembled into agent/kernel/kvm-probe/guest.ts by agent/kernel/kvm-probe/assemble.sh.
 */
.code32
.globl _start
_start:
  .long 0x1BADB002                 /* multiboot magic */
  .long 0x00010000                 /* flags: load addresses below (a.out kludge) */
  .long -(0x1BADB002+0x00010000)   /* checksum */
  .long 0x100000                   /* header_addr */
  .long 0x100000                   /* load_addr */
  .long 0                          /* load_end_addr: the whole file */
  .long 0                          /* bss_end_addr: none */
  .long 0x100020                   /* entry_addr: entry below */
entry:
  cli
  mov $0x3f8, %dx
  mov $'3', %al                    /* '3': 32-bit code runs */
  out %al, %dx
  mov $0x200000, %edi              /* page tables at 2 MiB: PML4, PDPT, PD */
  xor %eax, %eax
  mov $3072, %ecx
  rep stosl
  movl $0x201003, 0x200000
  movl $0x202003, 0x201000
  movl $0x000083, 0x202000         /* identity-map 0-4 MiB with 2 MiB pages */
  movl $0x200083, 0x202008
  mov $0x200000, %eax
  mov %eax, %cr3
  mov %cr4, %eax
  or $0x220, %eax                  /* PAE, OSFXSR (SSE) */
  mov %eax, %cr4
  mov $0xC0000080, %ecx            /* EFER.LME */
  rdmsr
  or $0x100, %eax
  wrmsr
  lgdt gdtr
  mov %cr0, %eax
  and $0xFFFFFFFB, %eax            /* EM off */
  or $0x80000003, %eax             /* PG, MP, PE */
  mov %eax, %cr0
  ljmp $0x08, $long64
.code64
long64:
  mov $0x3f8, %dx
  mov $'4', %al                    /* '4': 64-bit code runs */
  out %al, %dx
  xor %eax, %eax
  cpuid
  rdtsc
  movdqu msg(%rip), %xmm0
  movdqu %xmm0, 0x203000
  lea msg(%rip), %rsi
  mov $0x3f8, %dx                  /* cpuid and rdtsc clobbered it */
1: lodsb
  test %al, %al
  jz 2f
  out %al, %dx
  jmp 1b
2: mov $0xf4, %dx
  mov $0x31, %al                   /* isa-debug-exit: qemu exits with (0x31 << 1) | 1 = 99 */
  out %al, %dx
  hlt
  jmp 2b
.align 8
gdt: .quad 0
  .quad 0x00209A0000000000         /* 64-bit code segment */
  .quad 0x0000920000000000         /* data segment */
gdtr: .word gdtr - gdt - 1
  .long gdt
msg: .ascii "MULTISECT-KVM-OK\n\0"
