/* Loads the model named by argv[1] through the installed C API, feeds zeros of each input's
 * declared shape (dynamic dims as 1), runs it and prints its outputs' shapes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwai/lwai_c.h"

static size_t ElementSize(LwaiDataType type) {
  switch (type) {
    case LWAI_FLOAT64:
    case LWAI_INT64:
    case LWAI_UINT64:
      return 8;
    case LWAI_FLOAT32:
    case LWAI_INT32:
    case LWAI_UINT32:
      return 4;
    case LWAI_FLOAT16:
    case LWAI_INT16:
    case LWAI_UINT16:
      return 2;
    default:
      return 1;
  }
}

int main(int argc, char** argv) {
  const LwaiApi* api = lwai_get_api(LWAI_C_API_VERSION);
  LwaiModel* model = NULL;
  LwaiSession* session = NULL;
  void* buffers[16] = {0};
  int64_t dims[16][8];
  size_t i, count;
  int32_t d;
  if (argc != 2 || api == NULL) return 2;
  if (api->model_load_file(argv[1], &model) != LWAI_OK ||
      api->session_create(model, NULL, &session) != LWAI_OK) {
    fprintf(stderr, "lwai_consumer: %s\n", api->last_error());
    return 1;
  }
  count = api->session_input_count(session);
  for (i = 0; i < count && i < 16; ++i) {
    const char* name;
    LwaiTensor info;
    size_t elements = 1;
    api->session_input_info(session, i, &name, &info);
    for (d = 0; d < info.rank; ++d) {
      dims[i][d] = info.dims[d] < 0 ? 1 : info.dims[d];
      elements *= (size_t)dims[i][d];
    }
    info.dims = dims[i];
    info.byte_size = elements * ElementSize(info.dtype);
    buffers[i] = calloc(info.byte_size + 1, 1);
    info.data = buffers[i];
    if (api->session_set_input(session, i, &info) != LWAI_OK) {
      fprintf(stderr, "lwai_consumer: %s\n", api->last_error());
      return 1;
    }
  }
  if (api->session_run(session) != LWAI_OK) {
    fprintf(stderr, "lwai_consumer: %s\n", api->last_error());
    return 1;
  }
  for (i = 0; i < api->session_output_count(session); ++i) {
    LwaiTensor output;
    if (api->session_output(session, i, &output) != LWAI_OK) return 1;
    printf("output %zu: dtype %d rank %d bytes %zu\n", i, (int)output.dtype, (int)output.rank,
           output.byte_size);
  }
  api->session_release(session);
  api->model_release(model);
  for (i = 0; i < 16; ++i) free(buffers[i]);
  return 0;
}
