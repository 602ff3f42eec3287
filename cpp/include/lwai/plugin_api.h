/* The C ABI of lwai backend plugins: kernels in a separate shared library, loaded at run time.
 *
 * A plugin is a shared library exporting one symbol:
 *
 *     const lwai_plugin_api* lwai_plugin_entry(void);
 *
 * It is loaded with SessionOptions::backends = {"/path/to/libmyplugin.so"} (any entry that
 * contains '/' or ends in ".so" is a plugin path), in Python with
 * lwai.Session(model, backends=["/path/to/libmyplugin.so"]). The session asks each backend in
 * priority order whether it claims a node (`supports`); the reference kernels take whatever no
 * other backend claims.
 *
 * What a plugin does and does not do:
 *  - It computes. Output dtypes and shapes always come from lwai's reference kernel for the
 *    operator (its `prepare`), so a plugin can only claim operators that have a reference
 *    kernel (lwai.supported_ops()); the host never offers it any other node.
 *  - It sees nodes in the graph's layout (NCHW for images) and dense, row-major tensors.
 *  - It does not share lwai's thread pool (version 1); it may use its own threads.
 *
 * Lifetimes and ownership:
 *  - The table returned by lwai_plugin_entry() and every string in it belong to the plugin and
 *    must stay valid while the library is loaded. lwai never unloads a plugin library: once
 *    loaded, it stays loaded until the process exits. lwai_plugin_entry() may be called more
 *    than once (once per session that names the plugin) and must return the same table.
 *  - Every pointer lwai passes (nodes, tensors, dims, names, attributes) is owned by lwai and
 *    valid only during the call it is passed to. A plugin that needs something later (an
 *    attribute value, a weight) copies it into its own state. Exception: the `data` of an
 *    input that is a model constant (weights) stays valid and unchanged as long as any state
 *    created for that node exists.
 *  - State: create_state makes one state per node and session each time the session prepares
 *    (at creation, and whenever input shapes change; the node's previous state may be
 *    destroyed before the new one is made). lwai passes the state to every run of that node
 *    until it destroys it, exactly once, with destroy_state.
 *
 * Threads: supports, create_state and destroy_state may be called from any thread, also for
 * different sessions at the same time. run is never called concurrently for the same state;
 * runs with different states (different nodes or sessions) may happen at the same time.
 *
 * Errors: functions that can fail return an lwai status code (LWAI_STATUS_*; 0 = success) and
 * write a NUL-terminated message of at most error_size bytes (including the NUL) into
 * error_buffer. lwai reports it as "node 'NAME' (Op): plugin 'PLUGIN': MESSAGE" with the
 * returned code (codes outside 1..8 become LWAI_STATUS_INTERNAL). Plugins must not throw C++
 * exceptions or call exit/abort on bad input.
 *
 * Partitions (version 2): a plugin may instead claim nodes for partitions (supports_partition).
 * lwai then hands it each maximal convex run of consecutive claimed nodes as one lwai_partition,
 * as ONNX Runtime's execution providers and TFLite's delegates get subgraphs: the plugin compiles
 * it once per prepare (create_partition: pack weights, choose its own layouts, fuse) and runs it
 * as a unit (run_partition). Only the partition's boundary tensors cross the ABI, dense and
 * row-major as above; tensors produced and consumed inside it never get lwai buffers, so the
 * plugin keeps them in whatever layout it likes (NHWC, blocked) in its own memory. A partition
 * whose float inputs hold NaN or infinities runs on lwai's reference kernels for that run, as
 * lwai's own partition backends do.
 *
 * Versioning: LWAI_PLUGIN_API_VERSION changes whenever the ABI grows or changes; lwai loads
 * plugins built for any version from 1 to its own (others fail with "InvalidModel: ... plugin
 * API version: expected 1 to 2, got N"). Version 2 appended the partition functions to
 * lwai_plugin_api: a version-1 table ends before them (struct_size says so) and lwai never reads
 * past it. lwai_node, lwai_partition and lwai_plugin_api begin with their struct_size, so a
 * version can grow by appending fields: readers check struct_size before reading a field that a
 * smaller struct lacks.
 */
#ifndef LWAI_PLUGIN_API_H_
#define LWAI_PLUGIN_API_H_

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LWAI_PLUGIN_API_VERSION 2
/* The oldest version lwai still loads. */
#define LWAI_PLUGIN_API_MIN_VERSION 1

/* Status codes: the same numbers as lwai::StatusCode. */
#define LWAI_STATUS_OK 0
#define LWAI_STATUS_INVALID_ARGUMENT 1
#define LWAI_STATUS_INVALID_MODEL 2
/* From create_state: "not for these shapes/values"; lwai then runs the node with its
 * reference kernel instead (see create_state). From run: an error like the others. */
#define LWAI_STATUS_UNSUPPORTED 3
#define LWAI_STATUS_SHAPE_MISMATCH 4
#define LWAI_STATUS_NOT_FOUND 5
#define LWAI_STATUS_IO_ERROR 6
#define LWAI_STATUS_OUT_OF_MEMORY 7
#define LWAI_STATUS_INTERNAL 8

/* Element types: ONNX TensorProto.DataType numbers (as lwai::DataType). */
#define LWAI_DTYPE_UNDEFINED 0 /* also: an omitted optional input, or not known yet */
#define LWAI_DTYPE_FLOAT32 1
#define LWAI_DTYPE_UINT8 2
#define LWAI_DTYPE_INT8 3
#define LWAI_DTYPE_UINT16 4
#define LWAI_DTYPE_INT16 5
#define LWAI_DTYPE_INT32 6
#define LWAI_DTYPE_INT64 7
#define LWAI_DTYPE_BOOL 9
#define LWAI_DTYPE_FLOAT16 10
#define LWAI_DTYPE_FLOAT64 11
#define LWAI_DTYPE_UINT32 12
#define LWAI_DTYPE_UINT64 13
#define LWAI_DTYPE_BFLOAT16 16

/* A tensor: dense, row-major (C order), `dims[0..rank)`.
 *  - In supports(): what the graph knows before any input is given. rank is -1 when unknown,
 *    a dim is -1 when dynamic (e.g. the batch size), dtype may be LWAI_DTYPE_UNDEFINED for an
 *    output whose type is not inferred yet. data is set only for model constants (weights).
 *  - In create_state(): final dtypes and shapes. Input data is set only where the value is
 *    known at prepare time (constants); output data is NULL.
 *  - In run(): final dtypes, shapes and data. Input data is read-only; output data is
 *    writable, uninitialized and may live at a different address on every run.
 * An omitted optional input has dtype LWAI_DTYPE_UNDEFINED, rank 0, dims and data NULL. */
typedef struct lwai_tensor {
  int32_t dtype;
  int32_t rank;
  const int64_t* dims;
  void* data;
  const char* name; /* the graph's tensor name; "" for an omitted input */
} lwai_tensor;

#define LWAI_ATTRIBUTE_INT 0
#define LWAI_ATTRIBUTE_FLOAT 1
#define LWAI_ATTRIBUTE_INTS 2
#define LWAI_ATTRIBUTE_FLOATS 3
#define LWAI_ATTRIBUTE_STRING 4

/* A node attribute (ONNX semantics). Exactly the fields of its type are meaningful:
 * INT: i; FLOAT: f; INTS: ints[0..count); FLOATS: floats[0..count); STRING: s (NUL-terminated,
 * count = length without the NUL). */
typedef struct lwai_attribute {
  const char* name;
  int32_t type;
  int64_t i;
  float f;
  const int64_t* ints;
  const float* floats;
  const char* s;
  int64_t count;
} lwai_attribute;

/* A graph node as lwai shows it to a plugin. */
typedef struct lwai_node {
  uint32_t struct_size; /* sizeof(lwai_node) of the host */
  uint32_t api_version; /* LWAI_PLUGIN_API_VERSION of the host */
  const char* op_type;  /* ONNX operator name: "Relu", "Conv", ... */
  const char* name;     /* the node's name in the graph (may be "") */
  int32_t num_inputs;
  const lwai_tensor* inputs;
  int32_t num_outputs;
  const lwai_tensor* outputs;
  int32_t num_attributes;
  const lwai_attribute* attributes;
} lwai_node;

/* supports_partition's answers (version 2). */
#define LWAI_PARTITION_DECLINE 0
#define LWAI_PARTITION_CLAIM 1
#define LWAI_PARTITION_JOIN_ONLY 2

/* A partition (version 2): consecutive claimed nodes that run as one unit.
 *  - nodes[0..num_nodes) in an order where every node comes after the producers of its
 *    inputs. Their tensors have final dtypes and shapes; data is set for constants (weights),
 *    valid and unchanged as long as the partition's state exists, and NULL for everything else.
 *  - inputs: the tensors the partition reads that are produced outside it (graph inputs,
 *    outputs of other nodes), not constants; each appears once, matched to the nodes' tensors
 *    by name.
 *  - outputs: the tensors produced inside that something outside reads (later nodes, the graph's
 *    outputs); matched by name. Every other tensor produced inside has no lwai buffer.
 *  - num_threads: the session's thread count; the plugin may use that many threads of its own.
 *  - max_memory_bytes: the most memory the plugin may hold for this partition (its buffers,
 *    packed weights), what the session has left under its memory limit; 0: no limit. Beyond
 *    it, create_partition returns LWAI_STATUS_OUT_OF_MEMORY with a message naming the tensor.
 * The plugin copies what it needs; the struct and its arrays are valid during the call only. */
typedef struct lwai_partition {
  uint32_t struct_size; /* sizeof(lwai_partition) of the host */
  int32_t num_nodes;
  const lwai_node* nodes;
  int32_t num_inputs;
  const lwai_tensor* inputs;
  int32_t num_outputs;
  const lwai_tensor* outputs;
  int32_t num_threads;
  uint64_t max_memory_bytes;
} lwai_partition;

/* The plugin's entry table. */
typedef struct lwai_plugin_api {
  uint32_t api_version; /* must be LWAI_PLUGIN_API_VERSION */
  uint32_t struct_size; /* sizeof(lwai_plugin_api) of the plugin */
  /* Backend name shown in node assignments and errors, e.g. "example". Not "reference". */
  const char* name;

  /* Required. Nonzero when the plugin claims `node` (op type, dtypes, attributes, and the
   * shapes as far as the graph knows them). Called once per node when a session is created.
   * Claim only what you can run for every shape consistent with what is known, or decline
   * the rest at create_state with LWAI_STATUS_UNSUPPORTED. */
  int (*supports)(const lwai_node* node);

  /* Optional (NULL: the state is NULL). Called for each claimed node when the session
   * prepares (at creation when input shapes are known, and whenever they change), with final
   * shapes. Stores an opaque state (may be NULL) in *state. Returns LWAI_STATUS_OK, an error
   * (session creation/run fails with it), or LWAI_STATUS_UNSUPPORTED to decline these shapes:
   * lwai then runs the node with its reference kernel until the next prepare (*state must be
   * left NULL). */
  int (*create_state)(const lwai_node* node, void** state, char* error_buffer, size_t error_size);

  /* Optional. Frees a non-NULL state from create_state. */
  void (*destroy_state)(void* state);

  /* Required. Computes the node's outputs from its inputs. `inputs`/`outputs` are the same
   * tensors as node->inputs/node->outputs, with data. Must not keep any pointer after
   * returning. Returns LWAI_STATUS_OK or an error code with a message in error_buffer. */
  int (*run)(void* state, const lwai_node* node, const lwai_tensor* inputs, int32_t num_inputs,
             const lwai_tensor* outputs, int32_t num_outputs, char* error_buffer,
             size_t error_size);

  /* Version 2 (all optional: NULL when the plugin claims nodes one by one only). A node for
   * which supports_partition returns nonzero joins a partition, unless supports() claimed it as
   * a single node first: LWAI_PARTITION_CLAIM, or LWAI_PARTITION_JOIN_ONLY for nodes not worth
   * a partition of their own (layout conversions at its boundary would cost more than they
   * save: a pooling, an elementwise node). A partition made only of JOIN_ONLY nodes is not
   * formed; lwai's other backends take its nodes. create_partition, run_partition and
   * destroy_partition are required when supports_partition is set. */
  int (*supports_partition)(const lwai_node* node);

  /* Called for each partition whenever the session prepares (input shapes known or changed);
   * the previous state of the same partition is destroyed first. Stores an opaque state in
   * *state. LWAI_STATUS_UNSUPPORTED declines these shapes: lwai runs the partition's nodes on
   * its reference kernels until the next prepare (*state must be left NULL). */
  int (*create_partition)(const lwai_partition* partition, void** state, char* error_buffer,
                          size_t error_size);

  /* Runs the partition: inputs/outputs as in create_partition's lwai_partition (same order),
   * now with data; inputs read-only, outputs written in full. When node_time_ns is not NULL,
   * the plugin may store each node's time in ns at its index in partition->nodes (the array is
   * zeroed before the call). Never called concurrently for the same state. */
  int (*run_partition)(void* state, const lwai_tensor* inputs, int32_t num_inputs,
                       const lwai_tensor* outputs, int32_t num_outputs, int64_t* node_time_ns,
                       char* error_buffer, size_t error_size);

  /* Frees a state from create_partition, exactly once. */
  void (*destroy_partition)(void* state);

  /* Optional: the bytes the state holds (buffers, packed weights), which lwai counts against the
   * session's memory limit with its own arena. NULL: not counted. */
  uint64_t (*partition_memory_bytes)(void* state);

  /* Optional: the name of the kernel that runs partition->nodes[node] (shown by lwai's profiler
   * and node assignments, e.g. "brgconv:avx512_core_vnni"), or NULL; valid while the state
   * exists. */
  const char* (*partition_node_kernel)(void* state, int32_t node);
} lwai_plugin_api;

/* The size of a version-1 table (everything before supports_partition). */
#define LWAI_PLUGIN_API_V1_SIZE offsetof(lwai_plugin_api, supports_partition)

/* The one exported symbol (name below). Returns the plugin's table, never NULL. */
typedef const lwai_plugin_api* (*lwai_plugin_entry_fn)(void);
#define LWAI_PLUGIN_ENTRY_SYMBOL "lwai_plugin_entry"

/* Helpers for plugins (inline: nothing here is part of the binary interface). */

/* The attribute called `name`, or NULL. */
static inline const lwai_attribute* lwai_node_find_attribute(const lwai_node* node,
                                                             const char* name) {
  int32_t a;
  for (a = 0; a < node->num_attributes; ++a) {
    if (strcmp(node->attributes[a].name, name) == 0) return &node->attributes[a];
  }
  return NULL;
}

static inline int64_t lwai_node_get_int(const lwai_node* node, const char* name,
                                        int64_t default_value) {
  const lwai_attribute* a = lwai_node_find_attribute(node, name);
  return a != NULL && a->type == LWAI_ATTRIBUTE_INT ? a->i : default_value;
}

static inline float lwai_node_get_float(const lwai_node* node, const char* name,
                                        float default_value) {
  const lwai_attribute* a = lwai_node_find_attribute(node, name);
  return a != NULL && a->type == LWAI_ATTRIBUTE_FLOAT ? a->f : default_value;
}

/* Element count of a tensor with known shape (1 for a scalar; -1 if any dim is unknown). */
static inline int64_t lwai_tensor_num_elements(const lwai_tensor* tensor) {
  int64_t n = 1;
  int32_t d;
  if (tensor->rank < 0) return -1;
  for (d = 0; d < tensor->rank; ++d) {
    if (tensor->dims[d] < 0) return -1;
    n *= tensor->dims[d];
  }
  return n;
}

/* Copies `message` into an error buffer, truncating and always NUL-terminating. */
static inline void lwai_set_error(char* error_buffer, size_t error_size, const char* message) {
  size_t n;
  if (error_buffer == NULL || error_size == 0) return;
  n = strlen(message);
  if (n >= error_size) n = error_size - 1;
  memcpy(error_buffer, message, n);
  error_buffer[n] = '\0';
}

#if defined(_WIN32)
#define LWAI_PLUGIN_EXPORT __declspec(dllexport)
#else
#define LWAI_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* Declares the entry point; a plugin defines it with the same line followed by a body. */
LWAI_PLUGIN_EXPORT const lwai_plugin_api* lwai_plugin_entry(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LWAI_PLUGIN_API_H_ */
