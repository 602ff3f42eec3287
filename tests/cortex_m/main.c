/* The Cortex-M4 test program: runs the embedded .lwai model (in flash, used in place) on the
 * embedded input through the C API, and prints its outputs' float bits and the memory it used,
 * for tests/cortex_m/run_test.py to compare with the host.
 * Built with LWAI_M4_BASELINE, it does the same printing without lwai: the size difference
 * between the two programs is lwai's (docs/footprint.md). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lwai/lwai_c.h"

size_t board_stack_high_water(void);
extern char end; /* first byte of the heap (linker script) */

extern const unsigned char lwai_input[];
extern const size_t lwai_input_size;

static size_t HeapHighWater(void) { return (size_t)((char*)sbrk(0) - &end); }

static void PrintMemory(size_t arena_bytes) {
  printf("memory heap=%u stack=%u arena=%u\n", (unsigned)HeapHighWater(),
         (unsigned)board_stack_high_water(), (unsigned)arena_bytes);
}

#ifdef LWAI_M4_BASELINE
int main(void) {
  /* What the real program does besides lwai: print numbers read from the input. */
  const uint32_t* words = (const uint32_t*)lwai_input;
  printf("output baseline float32 [%u]\n", (unsigned)(lwai_input_size / 4));
  for (size_t i = 0; i < lwai_input_size / 4; ++i) printf("%08lx\n", (unsigned long)words[i]);
  PrintMemory(0);
  printf("lwai-m4: ok\n");
  return 0;
}
#else
extern const unsigned char lwai_model[];
extern const size_t lwai_model_size;

/* Heap allocations, counted through the linker's --wrap (CMakeLists.txt): a run must make none. */
static unsigned g_allocations;
void* __real_malloc(size_t size);
void* __real_calloc(size_t count, size_t size);
void* __real_realloc(void* p, size_t size);
void* __real_memalign(size_t alignment, size_t size);
void* __real_aligned_alloc(size_t alignment, size_t size);
void* __wrap_malloc(size_t size) {
  ++g_allocations;
  return __real_malloc(size);
}
void* __wrap_calloc(size_t count, size_t size) {
  ++g_allocations;
  return __real_calloc(count, size);
}
void* __wrap_realloc(void* p, size_t size) {
  ++g_allocations;
  return __real_realloc(p, size);
}
void* __wrap_memalign(size_t alignment, size_t size) {
  ++g_allocations;
  return __real_memalign(alignment, size);
}
void* __wrap_aligned_alloc(size_t alignment, size_t size) {
  ++g_allocations;
  return __real_aligned_alloc(alignment, size);
}

/* The session's tensors live here, not on the heap (LwaiSessionOptions.arena). */
static _Alignas(64) unsigned char g_arena[LWAI_M4_ARENA_BYTES];

static int Check(const LwaiApi* api, LwaiStatus status, const char* what) {
  if (status == LWAI_OK) return 1;
  printf("lwai-m4: %s failed (status %d): %s\n", what, (int)status, api->last_error());
  return 0;
}

int main(void) {
  const LwaiApi* api = lwai_get_api(LWAI_C_API_VERSION);
  if (api == NULL) {
    printf("lwai-m4: lwai_get_api(%d) gave no table\n", LWAI_C_API_VERSION);
    return 1;
  }
  LwaiModel* model = NULL;
  if (!Check(api, api->model_load_buffer(lwai_model, lwai_model_size, 0, &model), "load")) {
    return 1;
  }
  const size_t heap_after_load = HeapHighWater();
  LwaiSessionOptions options;
  api->session_options_init(&options);
  options.arena = g_arena;
  options.arena_size = sizeof(g_arena);
  size_t arena_bytes = 0;
  if (!Check(api, api->session_memory_bytes(model, &options, &arena_bytes), "memory query")) {
    return 1;
  }
  const size_t heap_after_query = HeapHighWater();
  LwaiSession* session = NULL;
  if (!Check(api, api->session_create(model, &options, &session), "session")) return 1;

  /* The input: the model's declared shape, dynamic dims as 1, float32. */
  const char* name = NULL;
  LwaiTensor input;
  if (!Check(api, api->session_input_info(session, 0, &name, &input), "input info")) return 1;
  int64_t dims[8];
  size_t count = 1;
  for (int32_t d = 0; d < input.rank && d < 8; ++d) {
    dims[d] = input.dims[d] < 0 ? 1 : input.dims[d];
    count *= (size_t)dims[d];
  }
  input.dims = dims;
  input.data = lwai_input;
  input.byte_size = count * sizeof(float);
  if (input.dtype != LWAI_FLOAT32 || input.byte_size != lwai_input_size) {
    printf("lwai-m4: input '%s' needs %u float32 bytes, the embedded input has %u\n", name,
           (unsigned)input.byte_size, (unsigned)lwai_input_size);
    return 1;
  }
  if (!Check(api, api->session_set_input(session, 0, &input), "set input")) return 1;
  const size_t heap_after_session = HeapHighWater();
  const unsigned allocations_before_run = g_allocations;
  for (int run = 0; run < 3; ++run) {
    if (!Check(api, api->session_run(session), "run")) return 1;
  }
  printf("runs allocations=%u heap_after_load=%u heap_after_query=%u heap_after_session=%u\n",
         g_allocations - allocations_before_run, (unsigned)heap_after_load,
         (unsigned)heap_after_query, (unsigned)heap_after_session);

  /* A refused input (one float short): with code-only statuses the error allocates nothing and
     last_error() names the code. */
  LwaiTensor short_input = input;
  short_input.byte_size -= sizeof(float);
  const unsigned allocations_before_error = g_allocations;
  const LwaiStatus refused = api->session_set_input(session, 0, &short_input);
  printf("error status=%d allocations=%u message=%s\n", (int)refused,
         g_allocations - allocations_before_error, api->last_error());

  for (size_t i = 0; i < api->session_output_count(session); ++i) {
    LwaiTensor output;
    if (!Check(api, api->session_output_info(session, i, &name, &output), "output info") ||
        !Check(api, api->session_output(session, i, &output), "output")) {
      return 1;
    }
    if (output.dtype != LWAI_FLOAT32) {
      printf("lwai-m4: output '%s' is not float32\n", name);
      return 1;
    }
    printf("output %s float32 [", name);
    for (int32_t d = 0; d < output.rank; ++d) {
      printf(d == 0 ? "%ld" : ",%ld", (long)output.dims[d]);
    }
    printf("]\n");
    const uint32_t* bits = (const uint32_t*)output.data;
    for (size_t k = 0; k < output.byte_size / 4; ++k) printf("%08lx\n", (unsigned long)bits[k]);
  }
  PrintMemory(arena_bytes);
  api->session_release(session);
  api->model_release(model);
  printf("lwai-m4: ok\n");
  return 0;
}
#endif
