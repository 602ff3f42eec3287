/* Reset handler and vector table for the MPS2 AN386 (Cortex-M4F) under qemu-system-arm: copies
 * .data, clears .bss, enables the FPU, paints the stack (for its high-water mark), runs the C++
 * constructors and main, and exits through semihosting. */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t __data_load, __data_start, __data_end, __bss_start__, __bss_end__;
extern uint32_t __stack_top, __stack_limit;
extern void __libc_init_array(void);
extern void initialise_monitor_handles(void);
int main(void);

#define STACK_PAINT 0x5AA5C33Cu

/* The newlib start files are not linked (-nostartfiles): __libc_init_array calls these. */
void _init(void) {}
void _fini(void) {}
void* __dso_handle = 0; /* crtbegin.o's, for static destructors registered with __cxa_atexit */

/* Bytes of stack used so far: the deepest word whose paint was overwritten. */
size_t board_stack_high_water(void) {
  const uint32_t* word = &__stack_limit;
  while (word < &__stack_top && *word == STACK_PAINT) ++word;
  return (size_t)((const char*)&__stack_top - (const char*)word);
}

__attribute__((noreturn)) void Reset_Handler(void) {
  const uint32_t* from = &__data_load;
  for (uint32_t* to = &__data_start; to < &__data_end;) *to++ = *from++;
  for (uint32_t* to = &__bss_start__; to < &__bss_end__;) *to++ = 0;
  /* CPACR: full access to coprocessors 10 and 11 (the FPU), before any float instruction. */
  *(volatile uint32_t*)0xE000ED88u |= 0xFu << 20;
  __asm volatile("dsb\n isb");
  /* Paint the stack below the current frame (the handler's own few words stay unpainted). */
  uint32_t* sp;
  __asm volatile("mov %0, sp" : "=r"(sp));
  for (uint32_t* word = &__stack_limit; word < sp - 16; ++word) *word = STACK_PAINT;
  initialise_monitor_handles();
  __libc_init_array();
  exit(main());
}

/* A semihosting call (ARM's "bkpt 0xAB" convention): operation in r0, argument in r1. */
static void Semihost(uint32_t operation, const void* argument) {
  register uint32_t r0 __asm("r0") = operation;
  register const void* r1 __asm("r1") = argument;
  __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
}

/* Any fault ends the run at once with a failing exit status (no hang until the test's timeout). */
static void Fault_Handler(void) {
  Semihost(0x04 /* SYS_WRITE0 */, "lwai-m4: fault\n");
  Semihost(0x18 /* SYS_EXIT */, (const void*)0x20023 /* ADP_Stopped_RunTimeErrorUnknown */);
  for (;;) {
  }
}

__attribute__((section(".isr_vector"), used)) static void (*const vector_table[16])(void) = {
    (void (*)(void))(&__stack_top),
    Reset_Handler,
    Fault_Handler, /* NMI */
    Fault_Handler, /* HardFault */
    Fault_Handler, /* MemManage */
    Fault_Handler, /* BusFault */
    Fault_Handler, /* UsageFault */
};
