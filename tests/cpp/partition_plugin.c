/* Plugins for tests/cpp/plugin_test.cc that exercise the ABI's versions, one per build variant:
 *  - default: a version-2 partition plugin. It claims float32 Relu and same-shape Add for
 *    partitions and runs each partition from its own node list, with its own buffers for the
 *    tensors produced and consumed inside. It declines (LWAI_STATUS_UNSUPPORTED) partitions
 *    whose boundary inputs have a dimension of 7, so that the reference fallback is tested.
 *    Test hooks: lwai_partition_live_states() and lwai_partition_last_counts().
 *  - LWAI_V1_PLUGIN: a plugin built against version 1 (its table ends before the partition
 *    functions), claiming float32 Relu node by node. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lwai/plugin_api.h"

#if defined(LWAI_V1_PLUGIN)
static int v1_supports(const lwai_node* node) {
  return strcmp(node->op_type, "Relu") == 0 && node->inputs[0].dtype == LWAI_DTYPE_FLOAT32;
}

static int v1_run(void* state, const lwai_node* node, const lwai_tensor* inputs, int32_t num_inputs,
                  const lwai_tensor* outputs, int32_t num_outputs, char* error_buffer,
                  size_t error_size) {
  const float* x = (const float*)inputs[0].data;
  float* y = (float*)outputs[0].data;
  int64_t i, n = lwai_tensor_num_elements(&inputs[0]);
  (void)state, (void)node, (void)num_inputs, (void)num_outputs, (void)error_buffer,
      (void)error_size;
  for (i = 0; i < n; ++i) y[i] = x[i] > 0 ? x[i] : 0;
  return LWAI_STATUS_OK;
}

/* Exactly the version-1 layout: the fields before supports_partition. */
typedef struct v1_table {
  uint32_t api_version, struct_size;
  const char* name;
  int (*supports)(const lwai_node*);
  int (*create_state)(const lwai_node*, void**, char*, size_t);
  void (*destroy_state)(void*);
  int (*run)(void*, const lwai_node*, const lwai_tensor*, int32_t, const lwai_tensor*, int32_t,
             char*, size_t);
} v1_table;

static const v1_table kV1Api = {1, sizeof(v1_table), "version1", v1_supports, 0, 0, v1_run};

LWAI_PLUGIN_EXPORT const lwai_plugin_api* lwai_plugin_entry(void) {
  return (const lwai_plugin_api*)(const void*)&kV1Api;
}
#else

static int is_float_relu_or_add(const lwai_node* node) {
  if (node->inputs[0].dtype != LWAI_DTYPE_FLOAT32) return 0;
  if (strcmp(node->op_type, "Relu") == 0) return node->num_inputs == 1;
  return strcmp(node->op_type, "Add") == 0 && node->num_inputs == 2 &&
         node->inputs[1].dtype == LWAI_DTYPE_FLOAT32 &&
         lwai_tensor_num_elements(&node->inputs[0]) == lwai_tensor_num_elements(&node->inputs[1]) &&
         node->inputs[0].rank == node->inputs[1].rank;
}

#define MAX_NODES 64
#define MAX_TENSORS 192
#define NAME_SIZE 128

typedef struct tensor_slot {
  char name[NAME_SIZE];
  int64_t count;
  int input, output; /* boundary index or -1 */
  float* own;        /* internal tensors: the plugin's buffer */
  float* data;       /* this run's address */
} tensor_slot;

typedef struct partition_state {
  int num_nodes, num_tensors;
  int is_add[MAX_NODES];
  int args[MAX_NODES][3]; /* slot indices: in0, in1 (Add), out */
  tensor_slot tensors[MAX_TENSORS];
} partition_state;

static int64_t g_live_states = 0;
static int32_t g_last_nodes = 0, g_last_inputs = 0, g_last_outputs = 0;

LWAI_PLUGIN_EXPORT int64_t lwai_partition_live_states(void) { return g_live_states; }
/* Nodes, boundary inputs and boundary outputs of the last partition created. */
LWAI_PLUGIN_EXPORT void lwai_partition_last_counts(int32_t* nodes, int32_t* inputs,
                                                   int32_t* outputs) {
  *nodes = g_last_nodes, *inputs = g_last_inputs, *outputs = g_last_outputs;
}

static int slot_of(partition_state* s, const lwai_tensor* t) {
  int i;
  for (i = 0; i < s->num_tensors; ++i) {
    if (strcmp(s->tensors[i].name, t->name) == 0) return i;
  }
  if (s->num_tensors == MAX_TENSORS || strlen(t->name) >= NAME_SIZE) return -1;
  i = s->num_tensors++;
  memset(&s->tensors[i], 0, sizeof(tensor_slot));
  strcpy(s->tensors[i].name, t->name);
  s->tensors[i].count = lwai_tensor_num_elements(t);
  s->tensors[i].input = s->tensors[i].output = -1;
  return i;
}

static void destroy_partition(void* state) {
  partition_state* s = (partition_state*)state;
  int i;
  for (i = 0; i < s->num_tensors; ++i) free(s->tensors[i].own);
  free(s);
  --g_live_states;
}

static int create_partition(const lwai_partition* p, void** state, char* error_buffer,
                            size_t error_size) {
  partition_state* s;
  int32_t i, n, d;
  for (i = 0; i < p->num_inputs; ++i) {
    for (d = 0; d < p->inputs[i].rank; ++d) {
      if (p->inputs[i].dims[d] == 7) return LWAI_STATUS_UNSUPPORTED;
    }
  }
  if (p->num_nodes > MAX_NODES) {
    lwai_set_error(error_buffer, error_size, "too many nodes");
    return LWAI_STATUS_UNSUPPORTED;
  }
  s = (partition_state*)calloc(1, sizeof(partition_state));
  if (s == NULL) return LWAI_STATUS_OUT_OF_MEMORY;
  ++g_live_states;
  s->num_nodes = p->num_nodes;
  for (i = 0; i < p->num_inputs; ++i) s->tensors[slot_of(s, &p->inputs[i])].input = i;
  for (i = 0; i < p->num_outputs; ++i) s->tensors[slot_of(s, &p->outputs[i])].output = i;
  for (n = 0; n < p->num_nodes; ++n) {
    const lwai_node* node = &p->nodes[n];
    s->is_add[n] = strcmp(node->op_type, "Add") == 0;
    s->args[n][0] = slot_of(s, &node->inputs[0]);
    s->args[n][1] = s->is_add[n] ? slot_of(s, &node->inputs[1]) : -1;
    s->args[n][2] = slot_of(s, &node->outputs[0]);
    if (s->args[n][0] < 0 || s->args[n][2] < 0 || (s->is_add[n] && s->args[n][1] < 0)) {
      destroy_partition(s);
      lwai_set_error(error_buffer, error_size, "too many tensors");
      return LWAI_STATUS_INTERNAL;
    }
  }
  for (i = 0; i < s->num_tensors; ++i) {
    tensor_slot* t = &s->tensors[i];
    if (t->input >= 0 || t->output >= 0) continue;
    t->own = (float*)malloc((size_t)t->count * sizeof(float) + 1);
    if (t->own == NULL) {
      destroy_partition(s);
      return LWAI_STATUS_OUT_OF_MEMORY;
    }
  }
  g_last_nodes = p->num_nodes, g_last_inputs = p->num_inputs, g_last_outputs = p->num_outputs;
  *state = s;
  return LWAI_STATUS_OK;
}

static int run_partition(void* state, const lwai_tensor* inputs, int32_t num_inputs,
                         const lwai_tensor* outputs, int32_t num_outputs, int64_t* node_time_ns,
                         char* error_buffer, size_t error_size) {
  partition_state* s = (partition_state*)state;
  int i, n;
  int64_t k;
  (void)num_inputs, (void)num_outputs, (void)error_buffer, (void)error_size;
  for (i = 0; i < s->num_tensors; ++i) {
    tensor_slot* t = &s->tensors[i];
    t->data = t->input >= 0    ? (float*)inputs[t->input].data
              : t->output >= 0 ? (float*)outputs[t->output].data
                               : t->own;
  }
  for (n = 0; n < s->num_nodes; ++n) {
    const float* a = s->tensors[s->args[n][0]].data;
    float* y = s->tensors[s->args[n][2]].data;
    const int64_t count = s->tensors[s->args[n][2]].count;
    if (s->is_add[n]) {
      const float* b = s->tensors[s->args[n][1]].data;
      for (k = 0; k < count; ++k) y[k] = a[k] + b[k];
    } else {
      for (k = 0; k < count; ++k) y[k] = a[k] > 0 ? a[k] : 0;
    }
    if (node_time_ns != NULL) node_time_ns[n] = 1000 + n; /* marks that times are reported */
  }
  return LWAI_STATUS_OK;
}

static int supports_partition(const lwai_node* node) {
  const char* join_only = getenv("LWAI_TEST_JOIN_ONLY");
  if (!is_float_relu_or_add(node)) return LWAI_PARTITION_DECLINE;
  if (strcmp(node->op_type, "Relu") == 0 || (join_only != NULL && strcmp(join_only, "1") == 0)) {
    return LWAI_PARTITION_JOIN_ONLY;
  }
  return LWAI_PARTITION_CLAIM;
}

static const lwai_plugin_api kPartitionApi = {
    LWAI_PLUGIN_API_VERSION,
    sizeof(lwai_plugin_api),
    "partitions",
    NULL,
    NULL,
    NULL,
    NULL,
    supports_partition,
    create_partition,
    run_partition,
    destroy_partition,
    NULL, /* partition_memory_bytes: its buffers are not counted */
    NULL, /* partition_node_kernel */
};

LWAI_PLUGIN_EXPORT const lwai_plugin_api* lwai_plugin_entry(void) { return &kPartitionApi; }
#endif
