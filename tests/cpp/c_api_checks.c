/* Uses lwai's C API from C99 (compiled as C, so the header stays C): c_api_test.cc calls these
 * and compares with the C++ API. Each returns 0 on success, else writes what failed. */
#include "tests/cpp/c_api_checks.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwai/lwai_c.h"

static int Failed(char* error, size_t error_size, const char* what, const LwaiApi* api) {
  snprintf(error, error_size, "%s: %s", what, api != NULL ? api->last_error() : "no api");
  return 1;
}

int RunThroughCApi(const void* model_bytes, size_t model_size, const float* x,
                   const int64_t* x_dims, int32_t x_rank, float* y, size_t y_capacity,
                   size_t* y_count, char* error, size_t error_size) {
  const LwaiApi* api = lwai_get_api(LWAI_C_API_VERSION);
  LwaiModel* model = NULL;
  LwaiSession* session = NULL;
  LwaiSessionOptions options;
  LwaiTensor info, input, output;
  const char* name = NULL;
  unsigned char* memory = NULL;
  size_t arena_bytes = 0, count = 1, i;
  int32_t d;
  int result = 1;
  if (api == NULL || api->version < LWAI_C_API_VERSION) {
    snprintf(error, error_size, "lwai_get_api(%d) gave no table", LWAI_C_API_VERSION);
    return 1;
  }
  /* The image is used in place (a model in flash would be). */
  if (api->model_load_buffer(model_bytes, model_size, 0, &model) != LWAI_OK) {
    return Failed(error, error_size, "model_load_buffer", api);
  }
  api->session_options_init(&options);
  if (api->session_memory_bytes(model, &options, &arena_bytes) != LWAI_OK) {
    Failed(error, error_size, "session_memory_bytes", api);
    goto done;
  }
  /* The session's tensors in the caller's memory, 64-byte aligned. */
  memory = (unsigned char*)malloc(arena_bytes + 64);
  if (memory == NULL) {
    snprintf(error, error_size, "malloc failed");
    goto done;
  }
  options.arena = memory + (64 - (uintptr_t)memory % 64) % 64;
  options.arena_size = arena_bytes;
  if (api->session_create(model, &options, &session) != LWAI_OK) {
    Failed(error, error_size, "session_create", api);
    goto done;
  }
  api->model_release(model); /* the session keeps it alive */
  model = NULL;
  if (api->session_input_count(session) != 1 || api->session_output_count(session) != 1) {
    snprintf(error, error_size, "expected 1 input and 1 output, got %zu and %zu",
             api->session_input_count(session), api->session_output_count(session));
    goto done;
  }
  if (api->session_input_info(session, 0, &name, &info) != LWAI_OK) {
    Failed(error, error_size, "session_input_info", api);
    goto done;
  }
  if (info.dtype != LWAI_FLOAT32 || info.rank != x_rank || strlen(name) == 0) {
    snprintf(error, error_size, "input '%s': dtype %d rank %d, expected float32 rank %d", name,
             (int)info.dtype, (int)info.rank, (int)x_rank);
    goto done;
  }
  for (d = 0; d < x_rank; ++d) count *= (size_t)x_dims[d];
  input.dtype = LWAI_FLOAT32;
  input.rank = x_rank;
  input.dims = x_dims;
  input.data = x;
  input.byte_size = count * sizeof(float);
  if (api->session_set_input(session, 0, &input) != LWAI_OK) {
    Failed(error, error_size, "session_set_input", api);
    goto done;
  }
  if (api->session_run(session) != LWAI_OK) {
    Failed(error, error_size, "session_run", api);
    goto done;
  }
  if (api->session_output(session, 0, &output) != LWAI_OK) {
    Failed(error, error_size, "session_output", api);
    goto done;
  }
  if (output.dtype != LWAI_FLOAT32 || output.byte_size / sizeof(float) > y_capacity) {
    snprintf(error, error_size, "output: dtype %d, %zu bytes", (int)output.dtype,
             output.byte_size);
    goto done;
  }
  /* The output lives in the caller's arena. */
  if ((const unsigned char*)output.data < (const unsigned char*)options.arena ||
      (const unsigned char*)output.data + output.byte_size >
          (const unsigned char*)options.arena + options.arena_size) {
    snprintf(error, error_size, "the output is not in the caller's arena");
    goto done;
  }
  *y_count = output.byte_size / sizeof(float);
  count = 1;
  for (d = 0; d < output.rank; ++d) count *= (size_t)output.dims[d];
  if (count != *y_count) {
    snprintf(error, error_size, "output dims give %zu values, byte_size %zu", count, *y_count);
    goto done;
  }
  for (i = 0; i < *y_count; ++i) y[i] = ((const float*)output.data)[i];
  result = 0;
done:
  api->session_release(session);
  api->model_release(model);
  free(memory);
  return result;
}

/* Expects `status` and a last error containing `part`. */
static int Expect(const LwaiApi* api, LwaiStatus status, LwaiStatus want, const char* part,
                  const char* what, char* error, size_t error_size) {
  if (status != want || strstr(api->last_error(), part) == NULL) {
    snprintf(error, error_size, "%s: status %d (want %d), message '%s' (want '%s' in it)", what,
             (int)status, (int)want, api->last_error(), part);
    return 1;
  }
  return 0;
}

int CheckCApiErrors(const void* model_bytes, size_t model_size, const char* missing_path,
                    char* error, size_t error_size) {
  const LwaiApi* api = lwai_get_api(LWAI_C_API_VERSION);
  LwaiModel* model = NULL;
  LwaiSession* session = NULL;
  LwaiSessionOptions options;
  LwaiTensor input, output;
  const char* name = NULL;
  const int64_t wrong_dims[2] = {1, 3};
  const float values[3] = {0, 0, 0};
  int failures = 0;
  if (lwai_get_api(LWAI_C_API_VERSION + 1000) != NULL) {
    snprintf(error, error_size, "an unknown version gave a table");
    return 1;
  }
  failures += Expect(api, api->model_load_file(missing_path, &model), LWAI_NOT_FOUND,
                     missing_path, "missing file", error, error_size);
  if (failures) return failures;
  failures += Expect(api, api->model_load_buffer(model_bytes, model_size / 2, 1, &model),
                     LWAI_INVALID_MODEL, "", "truncated image", error, error_size);
  if (failures || model != NULL) return 1;
  if (api->model_load_buffer(model_bytes, model_size, 1, &model) != LWAI_OK) {
    return Failed(error, error_size, "model_load_buffer", api);
  }
  api->session_options_init(&options);
  options.threads = 0;
  failures += Expect(api, api->session_create(model, &options, &session), LWAI_INVALID_ARGUMENT,
                     "threads", "zero threads", error, error_size);
  options.threads = 1;
  options.arena = (void*)values; /* not 64-byte aligned, or too small: either is refused */
  options.arena_size = 4;
  if (api->session_create(model, &options, &session) == LWAI_OK) {
    snprintf(error, error_size, "a 4-byte arena was accepted");
    api->session_release(session);
    api->model_release(model);
    return 1;
  }
  if (failures || api->session_create(model, NULL, &session) != LWAI_OK) {
    api->model_release(model);
    return failures ? failures : Failed(error, error_size, "session_create", api);
  }
  api->session_input_info(session, 0, &name, &input);
  failures += Expect(api, api->session_run(session), LWAI_INVALID_ARGUMENT, name,
                     "run without input", error, error_size);
  input.dtype = LWAI_FLOAT32;
  input.rank = 2;
  input.dims = wrong_dims;
  input.data = values;
  input.byte_size = sizeof(values) - 1;
  failures += Expect(api, api->session_set_input(session, 0, &input), LWAI_INVALID_ARGUMENT,
                     "takes 12 bytes, got 11", "byte size", error, error_size);
  input.byte_size = sizeof(values);
  if (!failures && api->session_set_input(session, 0, &input) != LWAI_OK) {
    failures += Failed(error, error_size, "session_set_input", api);
  }
  failures += Expect(api, api->session_run(session), LWAI_SHAPE_MISMATCH, name, "wrong shape",
                     error, error_size);
  failures += Expect(api, api->session_output(session, 5, &output), LWAI_INVALID_ARGUMENT,
                     "out of range", "output index", error, error_size);
  failures += Expect(api, api->session_input_info(session, 3, &name, &input),
                     LWAI_INVALID_ARGUMENT, "out of range", "input index", error, error_size);
  api->session_release(session);
  api->model_release(model);
  api->session_release(NULL);
  api->model_release(NULL);
  return failures;
}
