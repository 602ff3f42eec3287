/* Broken lwai plugins for tests/cpp/plugin_test.cc, one per build variant:
 *  - LWAI_BAD_PLUGIN_VERSION: the entry point reports another API version;
 *  - LWAI_FAILING_PLUGIN: a valid plugin claiming Relu whose run always fails;
 *  - neither: no entry point at all. */
#include <string.h>

#include "lwai/plugin_api.h"

#if defined(LWAI_FAILING_PLUGIN)
static int claims_relu(const lwai_node* node) { return strcmp(node->op_type, "Relu") == 0; }

static int always_fails(void* state, const lwai_node* node, const lwai_tensor* inputs,
                        int32_t num_inputs, const lwai_tensor* outputs, int32_t num_outputs,
                        char* error_buffer, size_t error_size) {
  (void)state, (void)inputs, (void)num_inputs, (void)outputs, (void)num_outputs;
  lwai_set_error(error_buffer, error_size, node->inputs[0].name); /* names the input tensor */
  return 77; /* not an lwai status code: reported as Internal */
}

static const lwai_plugin_api kFailingApi = {
    LWAI_PLUGIN_API_VERSION, sizeof(lwai_plugin_api), "failing", claims_relu, 0, 0, always_fails,
};

LWAI_PLUGIN_EXPORT const lwai_plugin_api* lwai_plugin_entry(void) { return &kFailingApi; }
#elif defined(LWAI_BAD_PLUGIN_VERSION)
static int never_supports(const lwai_node* node) {
  (void)node;
  return 0;
}

static const lwai_plugin_api kFutureApi = {
    LWAI_PLUGIN_API_VERSION + 41, sizeof(lwai_plugin_api), "future", never_supports, 0, 0, 0,
};

LWAI_PLUGIN_EXPORT const lwai_plugin_api* lwai_plugin_entry(void) { return &kFutureApi; }
#else
LWAI_PLUGIN_EXPORT int not_an_lwai_plugin(void) { return 42; }
#endif
