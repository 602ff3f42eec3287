#include "tests/cpp/kernel_test_util.h"

#include <cstdlib>

#include "runtime/thread_pool.h"

namespace lwai::testing {

Result<std::vector<TestTensor>> RunKernel(const KernelCase& c) {
  const KernelRegistration* kernel = FindReferenceKernel(c.op);
  if (kernel == nullptr) return Unsupported("no reference kernel");
  Node node;
  node.name = "test_node";
  node.op = c.op;
  node.attributes = c.attributes;
  std::vector<TensorView> tensors(c.inputs.size() + c.num_outputs);
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const TestTensor& in = c.inputs[i];
    if (in.dtype == DataType::kUndefined) {
      node.inputs.push_back(-1);
      continue;
    }
    node.inputs.push_back(static_cast<int>(i));
    tensors[i].dtype = in.dtype;
    tensors[i].shape = in.shape;
    tensors[i].data = c.inputs_known_at_prepare ? const_cast<uint8_t*>(in.bytes.data()) : nullptr;
    // Non-null data pointer for empty tensors, so "known" stays distinguishable.
    if (c.inputs_known_at_prepare && in.bytes.empty()) tensors[i].data = tensors.data();
  }
  for (int o = 0; o < c.num_outputs; ++o) {
    node.outputs.push_back(static_cast<int>(c.inputs.size()) + o);
  }
  ThreadPool pool(c.threads);
  KernelContext ctx(node, tensors.data(), &pool);
  LWAI_RETURN_IF_ERROR(kernel->prepare(ctx));
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    if (node.inputs[i] >= 0) tensors[i].data = const_cast<uint8_t*>(c.inputs[i].bytes.data());
  }
  std::vector<std::vector<uint8_t>> output_storage(c.num_outputs);
  for (int o = 0; o < c.num_outputs; ++o) {
    TensorView& out = ctx.output(o);
    // Extra bytes so an out-of-bounds write past the end is detectable.
    output_storage[o].assign(out.ByteSize() + 64, 0xAB);
    out.data = output_storage[o].data();
  }
  std::vector<uint8_t> scratch(ctx.scratch_bytes_ + 64);
  ctx.scratch_ =
      reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(scratch.data()) + 63) & ~uintptr_t{63});
  ctx.state_ = ctx.state_owner_.get();
  LWAI_RETURN_IF_ERROR(kernel->eval(ctx));
  std::vector<TestTensor> outputs(c.num_outputs);
  for (int o = 0; o < c.num_outputs; ++o) {
    const TensorView& out = ctx.output(o);
    for (size_t b = out.ByteSize(); b < output_storage[o].size(); ++b) {
      if (output_storage[o][b] != 0xAB) return Internal("kernel wrote past the end of output");
    }
    outputs[o].dtype = out.dtype;
    outputs[o].shape = out.shape;
    outputs[o].bytes.assign(output_storage[o].begin(), output_storage[o].begin() + out.ByteSize());
  }
  return outputs;
}

Attribute IntAttr(const std::string& name, int64_t v) {
  Attribute a;
  a.name = name;
  a.type = AttributeType::kInt;
  a.i = v;
  return a;
}

Attribute FloatAttr(const std::string& name, float v) {
  Attribute a;
  a.name = name;
  a.type = AttributeType::kFloat;
  a.f = v;
  return a;
}

Attribute IntsAttr(const std::string& name, std::vector<int64_t> v) {
  Attribute a;
  a.name = name;
  a.type = AttributeType::kInts;
  a.ints = std::move(v);
  return a;
}

Attribute StringAttr(const std::string& name, const std::string& v) {
  Attribute a;
  a.name = name;
  a.type = AttributeType::kString;
  a.s = v;
  return a;
}

}  // namespace lwai::testing
