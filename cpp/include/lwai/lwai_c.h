/* lwai's C API (C99): load a .lwai model, run it, read its outputs.
 *
 * Stability: the functions are reached through a table, LwaiApi, returned by
 * lwai_get_api(LWAI_C_API_VERSION) (the way ONNX Runtime's OrtGetApiBase works). A table of
 * version N keeps its layout in every later release; later versions only append members. A
 * program built against version N asks for N and runs against any library that supports it;
 * lwai_get_api returns NULL for versions the library does not know. The enum values below are
 * part of the ABI and never change.
 *
 * Errors: every function that can fail returns an LwaiStatus (LWAI_OK = 0) and, on failure,
 * sets the calling thread's last error message (last_error), which names the problem (file,
 * node, tensor, expected vs got). Output parameters are left untouched on failure. No function
 * aborts or throws on bad input.
 *
 * Ownership: LwaiModel and LwaiSession objects are created by the library and freed by the
 * caller with model_release / session_release (NULL is accepted). A session keeps its model
 * alive: the model may be released right after creating its sessions. Strings and dims
 * returned by the library are owned by the object they describe (see each function).
 *
 * Threads: a model may be shared by any number of sessions on any threads, and the sessions
 * run in parallel. A session keeps the inputs set on it between calls, so it must not be used
 * by two threads at once: give each thread its own.
 */
#ifndef LWAI_LWAI_C_H_
#define LWAI_LWAI_C_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LWAI_C_API_VERSION 1

/* Status codes (the C++ API's StatusCode values). */
typedef enum LwaiStatus {
  LWAI_OK = 0,
  LWAI_INVALID_ARGUMENT = 1,
  LWAI_INVALID_MODEL = 2,
  LWAI_UNSUPPORTED = 3,
  LWAI_SHAPE_MISMATCH = 4,
  LWAI_NOT_FOUND = 5,
  LWAI_IO_ERROR = 6,
  LWAI_OUT_OF_MEMORY = 7,
  LWAI_INTERNAL = 8,
  LWAI_DEADLINE_EXCEEDED = 9,
  LWAI_CANCELLED = 10
} LwaiStatus;

/* Element types (ONNX TensorProto.DataType values). */
typedef enum LwaiDataType {
  LWAI_UNDEFINED = 0,
  LWAI_FLOAT32 = 1,
  LWAI_UINT8 = 2,
  LWAI_INT8 = 3,
  LWAI_UINT16 = 4,
  LWAI_INT16 = 5,
  LWAI_INT32 = 6,
  LWAI_INT64 = 7,
  LWAI_BOOL = 9,
  LWAI_FLOAT16 = 10,
  LWAI_FLOAT64 = 11,
  LWAI_UINT32 = 12,
  LWAI_UINT64 = 13
} LwaiDataType;

typedef struct LwaiModel LwaiModel;
typedef struct LwaiSession LwaiSession;

/* A tensor view: dtype, rank (at most 8) and dims, and row-major data. Views passed in are
 * read during the call (dims) or until the next run (data, see session_set_input); views
 * returned point into the session. */
typedef struct LwaiTensor {
  LwaiDataType dtype;
  int32_t rank;
  const int64_t* dims; /* rank values; -1 marks a dynamic dim in input_info */
  const void* data;
  size_t byte_size; /* bytes at data */
} LwaiTensor;

/* Session options. Initialize with session_options_init before setting fields, so that fields
 * added by later versions keep their defaults. */
typedef struct LwaiSessionOptions {
  uint32_t struct_size; /* set by session_options_init */
  int32_t threads;      /* 1: the calling thread only (default) */
  /* Optional caller memory for the session's tensors: 64-byte aligned, at least the bytes
   * session_memory_bytes reports, alive and unused by anyone else while the session exists. */
  void* arena;
  size_t arena_size;
  uint64_t max_memory_bytes; /* 0: half the physical memory */
  int64_t timeout_ms;        /* per run; 0: none */
} LwaiSessionOptions;

typedef struct LwaiApi {
  uint32_t version; /* the table's version: at least the one asked for */

  /* The calling thread's message for its last failed call ("" if none). Owned by the library,
   * valid until the thread's next failing call. */
  const char* (*last_error)(void);

  /* A .lwai file (memory-mapped) or a JSON model (path ending in ".json"). */
  LwaiStatus (*model_load_file)(const char* path, LwaiModel** model);
  /* A .lwai image in memory. copy != 0: copied, the buffer may go right after. copy == 0: used
   * in place (e.g. a model in flash), so the buffer must be 8-byte aligned and stay alive and
   * unchanged until the model and all its sessions are released. */
  LwaiStatus (*model_load_buffer)(const void* data, size_t size, int copy, LwaiModel** model);
  void (*model_release)(LwaiModel* model);

  void (*session_options_init)(LwaiSessionOptions* options);
  /* The arena bytes a session of `model` with `options` needs for the inputs' declared shapes
   * (dynamic dims as 1): what to give as LwaiSessionOptions.arena. It plans a throwaway
   * session, so it costs about as much as session_create. */
  LwaiStatus (*session_memory_bytes)(const LwaiModel* model, const LwaiSessionOptions* options,
                                     size_t* bytes);
  /* options may be NULL (defaults). */
  LwaiStatus (*session_create)(const LwaiModel* model, const LwaiSessionOptions* options,
                               LwaiSession** session);
  void (*session_release)(LwaiSession* session);

  size_t (*session_input_count)(const LwaiSession* session);
  size_t (*session_output_count)(const LwaiSession* session);
  /* Name and declared type of input/output `index`: *name and info->dims are owned by the
   * session (valid until it is released); info->data is NULL. */
  LwaiStatus (*session_input_info)(const LwaiSession* session, size_t index, const char** name,
                                   LwaiTensor* info);
  LwaiStatus (*session_output_info)(const LwaiSession* session, size_t index, const char** name,
                                    LwaiTensor* info);

  /* Sets input `index` for the next runs. dims are copied; data is borrowed: it must stay
   * alive and unchanged until the last run that uses it. byte_size must match dtype and dims. */
  LwaiStatus (*session_set_input)(LwaiSession* session, size_t index, const LwaiTensor* tensor);
  /* Runs the model on the inputs set (all of them must be). */
  LwaiStatus (*session_run)(LwaiSession* session);
  /* Output `index` of the last successful run: a view into the session, valid until its next
   * run or release. */
  LwaiStatus (*session_output)(LwaiSession* session, size_t index, LwaiTensor* output);
} LwaiApi;

/* The function table of `version` (LWAI_C_API_VERSION for this header), or NULL when this
 * library does not provide it. The table is static: never freed. */
const LwaiApi* lwai_get_api(uint32_t version);

#ifdef __cplusplus
}
#endif

#endif /* LWAI_LWAI_C_H_ */
