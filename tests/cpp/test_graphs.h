// Small graphs built in C++ for the format, pass and session tests.
#ifndef LWAI_TESTS_TEST_GRAPHS_H_
#define LWAI_TESTS_TEST_GRAPHS_H_

#include <memory>
#include <vector>

#include "ir/graph.h"
#include "lwai/model.h"

namespace lwai::testing {

inline int AddFloatConstant(Graph& g, const std::string& name, std::vector<int64_t> dims,
                            const std::vector<float>& values) {
  TensorDesc t;
  t.name = name;
  t.dtype = DataType::kFloat32;
  t.shape_known = true;
  for (int64_t d : dims) t.shape.push_back(Dim{d, ""});
  t.constant = ConstantData::Copy(values.data(), values.size() * sizeof(float));
  return g.AddTensor(std::move(t));
}

inline int AddValue(Graph& g, const std::string& name, std::vector<Dim> dims = {},
                    bool shape_known = false) {
  TensorDesc t;
  t.name = name;
  t.dtype = DataType::kFloat32;
  t.shape_known = shape_known;
  t.shape = std::move(dims);
  return g.AddTensor(std::move(t));
}

inline Node MakeNode(const std::string& name, OpType op, std::vector<int> inputs,
                     std::vector<int> outputs) {
  Node n;
  n.name = name;
  n.op = op;
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  return n;
}

// x[batch, 2, 4, 4] -> Conv(2->3, 3x3, pad 1, bias) -> BatchNormalization -> Relu -> y
// -> Add(y, y) -> z (outputs: z). Weights are simple closed forms.
inline std::shared_ptr<Model> MakeConvModel() {
  auto g = std::make_unique<Graph>();
  const int x = AddValue(*g, "x", {Dim{-1, "batch"}, Dim{2, ""}, Dim{4, ""}, Dim{4, ""}}, true);
  std::vector<float> w(3 * 2 * 3 * 3);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = 0.05f * static_cast<float>(static_cast<int>(i % 7) - 3);
  const int weight = AddFloatConstant(*g, "conv.w", {3, 2, 3, 3}, w);
  const int bias = AddFloatConstant(*g, "conv.b", {3}, {0.1f, -0.2f, 0.3f});
  const int scale = AddFloatConstant(*g, "bn.scale", {3}, {1.0f, 0.5f, 2.0f});
  const int shift = AddFloatConstant(*g, "bn.shift", {3}, {0.0f, 0.1f, -0.1f});
  const int mean = AddFloatConstant(*g, "bn.mean", {3}, {0.2f, -0.1f, 0.0f});
  const int var = AddFloatConstant(*g, "bn.var", {3}, {1.0f, 4.0f, 0.25f});
  const int conv_out = AddValue(*g, "conv_out");
  const int bn_out = AddValue(*g, "bn_out");
  const int y = AddValue(*g, "y");
  const int z = AddValue(*g, "z");
  Node conv = MakeNode("conv", OpType::Conv, {x, weight, bias}, {conv_out});
  Attribute pads;
  pads.name = "pads";
  pads.type = AttributeType::kInts;
  pads.ints = {1, 1, 1, 1};
  conv.attributes.push_back(pads);
  g->nodes.push_back(conv);
  g->nodes.push_back(
      MakeNode("bn", OpType::BatchNormalization, {conv_out, scale, shift, mean, var}, {bn_out}));
  g->nodes.push_back(MakeNode("relu", OpType::Relu, {bn_out}, {y}));
  g->nodes.push_back(MakeNode("add", OpType::Add, {y, y}, {z}));
  g->inputs = {x};
  g->outputs = {z};
  auto info = std::make_unique<ModelInfo>();
  info->producer = "lwai tests";
  info->source_format = "c++";
  return std::make_shared<Model>(std::move(g), std::move(info), nullptr);
}

}  // namespace lwai::testing

#endif  // LWAI_TESTS_TEST_GRAPHS_H_
