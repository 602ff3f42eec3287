/* The example lwai backend plugin: float32 Relu and same-shape Add, in plain C.
 *
 * A template for real plugins: it claims nodes in supports(), checks final shapes and keeps a
 * small per-node state in create_state(), computes in run(), and reports errors through the
 * error buffer. See README.md next to this file and cpp/include/lwai/plugin_api.h. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwai/plugin_api.h"

enum example_op { EXAMPLE_RELU = 1, EXAMPLE_ADD = 2 };

typedef struct example_state {
  enum example_op op;
  int64_t count; /* elements of the output */
} example_state;

/* States alive right now (sessions may create states from several threads at once): lets
 * tests check that lwai destroys every state it creates. */
static atomic_llong g_live_states = 0;

LWAI_PLUGIN_EXPORT int64_t lwai_example_live_states(void) {
  return (int64_t)atomic_load(&g_live_states);
}

static enum example_op op_of(const lwai_node* node) {
  if (strcmp(node->op_type, "Relu") == 0) return EXAMPLE_RELU;
  if (strcmp(node->op_type, "Add") == 0) return EXAMPLE_ADD;
  return 0;
}

static int is_float32(const lwai_tensor* t) { return t->dtype == LWAI_DTYPE_FLOAT32; }

/* 0 when two shapes are known to differ; 1 when equal or not fully known yet. */
static int may_have_same_shape(const lwai_tensor* a, const lwai_tensor* b) {
  int32_t d;
  if (a->rank < 0 || b->rank < 0) return 1;
  if (a->rank != b->rank) return 0;
  for (d = 0; d < a->rank; ++d) {
    if (a->dims[d] >= 0 && b->dims[d] >= 0 && a->dims[d] != b->dims[d]) return 0;
  }
  return 1;
}

static int example_supports(const lwai_node* node) {
  switch (op_of(node)) {
    case EXAMPLE_RELU:
      return node->num_inputs == 1 && node->num_outputs == 1 && is_float32(&node->inputs[0]);
    case EXAMPLE_ADD:
      /* Shapes may still be partly unknown here; create_state declines broadcasting. */
      return node->num_inputs == 2 && node->num_outputs == 1 && is_float32(&node->inputs[0]) &&
             is_float32(&node->inputs[1]) &&
             may_have_same_shape(&node->inputs[0], &node->inputs[1]);
    default:
      return 0;
  }
}

static int example_create_state(const lwai_node* node, void** state, char* error_buffer,
                                size_t error_size) {
  example_state* s;
  const enum example_op op = op_of(node);
  if (op == 0) {
    char message[160];
    snprintf(message, sizeof(message), "cannot run operator %s", node->op_type);
    lwai_set_error(error_buffer, error_size, message);
    return LWAI_STATUS_INTERNAL;
  }
  if (op == EXAMPLE_ADD) {
    const lwai_tensor* a = &node->inputs[0];
    const lwai_tensor* b = &node->inputs[1];
    if (a->rank != b->rank || memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank) != 0) {
      return LWAI_STATUS_UNSUPPORTED; /* broadcasting: lwai's reference Add runs it */
    }
  }
  s = (example_state*)malloc(sizeof(example_state));
  if (s == NULL) {
    lwai_set_error(error_buffer, error_size, "out of memory");
    return LWAI_STATUS_OUT_OF_MEMORY;
  }
  s->op = op;
  s->count = lwai_tensor_num_elements(&node->outputs[0]);
  *state = s;
  atomic_fetch_add(&g_live_states, 1);
  return LWAI_STATUS_OK;
}

static void example_destroy_state(void* state) {
  if (state == NULL) return;
  free(state);
  atomic_fetch_sub(&g_live_states, 1);
}

static int example_run(void* state, const lwai_node* node, const lwai_tensor* inputs,
                       int32_t num_inputs, const lwai_tensor* outputs, int32_t num_outputs,
                       char* error_buffer, size_t error_size) {
  const example_state* s = (const example_state*)state;
  float* out;
  int64_t i;
  (void)node;
  if (s == NULL || num_outputs != 1) {
    lwai_set_error(error_buffer, error_size, "run without a state from create_state");
    return LWAI_STATUS_INTERNAL;
  }
  out = (float*)outputs[0].data;
  if (s->op == EXAMPLE_RELU && num_inputs == 1) {
    const float* x = (const float*)inputs[0].data;
    for (i = 0; i < s->count; ++i) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
    return LWAI_STATUS_OK;
  }
  if (s->op == EXAMPLE_ADD && num_inputs == 2) {
    const float* a = (const float*)inputs[0].data;
    const float* b = (const float*)inputs[1].data;
    for (i = 0; i < s->count; ++i) out[i] = a[i] + b[i];
    return LWAI_STATUS_OK;
  }
  lwai_set_error(error_buffer, error_size, "unexpected number of inputs");
  return LWAI_STATUS_INVALID_ARGUMENT;
}

static const lwai_plugin_api kExampleApi = {
    LWAI_PLUGIN_API_VERSION, /* api_version */
    sizeof(lwai_plugin_api), /* struct_size */
    "example",               /* name */
    example_supports,
    example_create_state,
    example_destroy_state,
    example_run,
    NULL, /* supports_partition: nodes one at a time only (no partitions) */
    NULL, /* create_partition */
    NULL, /* run_partition */
    NULL, /* destroy_partition */
    NULL, /* partition_memory_bytes */
    NULL, /* partition_node_kernel */
};

LWAI_PLUGIN_EXPORT const lwai_plugin_api* lwai_plugin_entry(void) { return &kExampleApi; }
