// Net: a small graph builder for C++ tests (static-shaped float32 inputs, seeded random
// constants, one output tensor per node).
#ifndef LWAI_TESTS_NET_BUILDER_H_
#define LWAI_TESTS_NET_BUILDER_H_

#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"
#include "lwai/model.h"
#include "passes/passes.h"
#include "tests/cpp/kernel_test_util.h"

namespace lwai::testing {

using Attrs = std::vector<Attribute>;

class Net {
 public:
  explicit Net(uint32_t seed) : graph_(std::make_unique<Graph>()), rng_(seed) {}

  // A graph input with values drawn uniformly from [lo, hi]; dim -1 is dynamic and named
  // "batch", any other negative dim is dynamic without a name (as exporters often leave them).
  int Input(std::vector<int64_t> dims, float lo = -1.0f, float hi = 1.0f) {
    TensorDesc t;
    t.name = "input" + std::to_string(graph_->inputs.size());
    t.dtype = DataType::kFloat32;
    t.shape_known = true;
    for (int64_t d : dims) {
      t.shape.push_back(d == -1 ? Dim{-1, "batch"} : Dim{d < 0 ? -1 : d, ""});
    }
    const int index = graph_->AddTensor(std::move(t));
    graph_->inputs.push_back(index);
    ranges_.push_back({lo, hi});
    return index;
  }

  // A float32 constant with values uniform in [lo, hi].
  int Const(std::vector<int64_t> dims, float lo = -1.0f, float hi = 1.0f) {
    int64_t count = 1;
    for (int64_t d : dims) count *= d;
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> values(count);
    for (float& v : values) v = dist(rng_);
    return AddConstant(DataType::kFloat32, dims, values.data(), values.size() * sizeof(float));
  }

  // A float32 constant holding `value` (shape [] by default).
  int Scalar(float value, std::vector<int64_t> dims = {}) {
    return AddConstant(DataType::kFloat32, dims, &value, sizeof(float));
  }

  int FloatConst(std::vector<int64_t> dims, const std::vector<float>& values) {
    return AddConstant(DataType::kFloat32, dims, values.data(), values.size() * sizeof(float));
  }

  int IntConst(std::vector<int64_t> dims, const std::vector<int64_t>& values) {
    return AddConstant(DataType::kInt64, dims, values.data(), values.size() * sizeof(int64_t));
  }

  // An int8, uint8 or int32 constant holding `values`.
  int TypedConst(DataType dtype, std::vector<int64_t> dims, const std::vector<int32_t>& values) {
    if (dtype == DataType::kInt32) {
      return AddConstant(dtype, dims, values.data(), values.size() * sizeof(int32_t));
    }
    std::vector<uint8_t> bytes(values.size());
    for (size_t i = 0; i < values.size(); ++i) bytes[i] = static_cast<uint8_t>(values[i] & 0xFF);
    return AddConstant(dtype, dims, bytes.data(), bytes.size());
  }

  // Random integers in [lo, hi] (as int32 for TypedConst).
  std::vector<int32_t> RandomInts(int64_t count, int lo, int hi) {
    std::uniform_int_distribution<int> dist(lo, hi);
    std::vector<int32_t> values(static_cast<size_t>(count));
    for (int32_t& v : values) v = dist(rng_);
    return values;
  }

  // How quantized weights come: int8 with zero points 0 (lwai's and ONNX Runtime's default),
  // uint8 with zero points (ONNX Runtime's QUInt8 weights, or weights quantized as activations),
  // int8 with nonzero zero points. With zero points, odd rows span the type and even rows stay
  // near their zero point.
  enum class QWeights { kInt8, kUint8, kInt8WithZeroPoints };

  // `rows` rows of `depth` random weights of `form` (row-major, as int32) and their zero points
  // (one per row when `per_row`, else one).
  void QuantizedWeightValues(QWeights form, int64_t rows, int64_t depth, bool per_row,
                             std::vector<int32_t>* values, std::vector<int32_t>* zero_points) {
    values->clear();
    if (form == QWeights::kInt8) {
      *values = RandomInts(rows * depth, -127, 127);
      zero_points->assign(per_row ? rows : 1, 0);
      return;
    }
    const bool is_unsigned = form == QWeights::kUint8;
    *zero_points = RandomInts(per_row ? rows : 1, is_unsigned ? 90 : -20, is_unsigned ? 170 : 20);
    for (int64_t r = 0; r < rows; ++r) {
      const int32_t z = (*zero_points)[per_row ? r : 0];
      const std::vector<int32_t> row =
          r % 2 == 1 ? RandomInts(depth, is_unsigned ? 0 : -128, is_unsigned ? 255 : 127)
                     : RandomInts(depth, z - 40, z + 40);
      values->insert(values->end(), row.begin(), row.end());
    }
  }
  static DataType TypeOf(QWeights form) {
    return form == QWeights::kUint8 ? DataType::kUInt8 : DataType::kInt8;
  }

  // QuantizeLinear(x) -> QLinearConv (random weights of `weights`' form, per output channel
  // scales when `per_channel`, random int32 bias) -> DequantizeLinear: a quantized convolution
  // seen from float inputs and outputs. x and y are `x_type` / `y_type` (uint8 or int8) with
  // nonzero zero points.
  int QConv(int x, int64_t in_channels, int64_t out_channels, std::vector<int64_t> kernel,
            DataType x_type, DataType y_type, bool per_channel, Attrs attrs = {}, int64_t group = 1,
            QWeights weights = QWeights::kInt8) {
    const bool x_signed = x_type == DataType::kInt8, y_signed = y_type == DataType::kInt8;
    const int x_scale = Scalar(0.02f), y_scale = Scalar(0.05f);
    const int x_zp = TypedConst(x_type, {}, {x_signed ? -5 : 120});
    const int y_zp = TypedConst(y_type, {}, {y_signed ? 3 : 130});
    const int xq = Op(OpType::QuantizeLinear, {x, x_scale, x_zp});
    std::vector<int64_t> w_dims = {out_channels, in_channels / group};
    int64_t taps = 1;
    for (int64_t k : kernel) {
      w_dims.push_back(k);
      taps *= k;
    }
    std::vector<int32_t> w_values, w_zero_points;
    QuantizedWeightValues(weights, out_channels, in_channels / group * taps, per_channel, &w_values,
                          &w_zero_points);
    const int w = TypedConst(TypeOf(weights), w_dims, w_values);
    const int w_zp = TypedConst(
        TypeOf(weights), per_channel ? std::vector<int64_t>{out_channels} : std::vector<int64_t>{},
        w_zero_points);
    std::vector<float> scales(per_channel ? out_channels : 1);
    std::uniform_real_distribution<float> dist(0.5f, 2.0f);
    for (float& v : scales) v = dist(rng_) / (127.0f * std::sqrt(static_cast<float>(taps)));
    const int w_scale = FloatConst({static_cast<int64_t>(scales.size())}, scales);
    const int bias =
        TypedConst(DataType::kInt32, {out_channels}, RandomInts(out_channels, -2000, 2000));
    if (group != 1) attrs.push_back(IntAttr("group", group));
    attrs.push_back(IntsAttr("kernel_shape", kernel));
    const int yq =
        Op(OpType::QLinearConv, {xq, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, bias}, attrs);
    return Op(OpType::DequantizeLinear, {yq, y_scale, y_zp});
  }

  // QuantizeLinear(a), QuantizeLinear(b) -> QLinearAdd or QLinearMul (`op`) -> DequantizeLinear,
  // all of `type`, with distinct scales and nonzero zero points.
  int QBinary(OpType op, int a, int b, DataType type) {
    const bool s = type == DataType::kInt8;
    const int a_scale = Scalar(0.02f), b_scale = Scalar(0.03f), c_scale = Scalar(0.04f);
    const int a_zp = TypedConst(type, {}, {s ? -7 : 121});
    const int b_zp = TypedConst(type, {}, {s ? 5 : 133});
    const int c_zp = TypedConst(type, {}, {s ? 2 : 128});
    const int aq = Op(OpType::QuantizeLinear, {a, a_scale, a_zp});
    const int bq = Op(OpType::QuantizeLinear, {b, b_scale, b_zp});
    const int cq = Op(op, {aq, a_scale, a_zp, bq, b_scale, b_zp, c_scale, c_zp});
    return Op(OpType::DequantizeLinear, {cq, c_scale, c_zp});
  }

  // QuantizeLinear(x) -> MaxPool on the quantized values -> DequantizeLinear.
  int QMaxPool(int x, DataType type, Attrs attrs) {
    const int scale = Scalar(0.04f);
    const int zp = TypedConst(type, {}, {type == DataType::kInt8 ? -9 : 100});
    const int xq = Op(OpType::QuantizeLinear, {x, scale, zp});
    return Op(OpType::DequantizeLinear, {Op(OpType::MaxPool, {xq}, attrs), scale, zp});
  }

  // QuantizeLinear(x [M, K]) -> QGemm (random weights of `weights`' form, [N, K] or [K, N],
  // per-column scales and zero points, int32 bias, `alpha`) -> DequantizeLinear; x and y of
  // `type`.
  int QGemm(int x, int64_t k, int64_t n, DataType type, bool trans_b, float alpha = 1.0f,
            Attrs attrs = {}, QWeights weights = QWeights::kInt8) {
    const bool s = type == DataType::kInt8;
    const int x_scale = Scalar(0.03f), y_scale = Scalar(0.05f);
    const int x_zp = TypedConst(type, {}, {s ? 4 : 118});
    const int y_zp = TypedConst(type, {}, {s ? -2 : 131});
    const int xq = Op(OpType::QuantizeLinear, {x, x_scale, x_zp});
    const std::vector<int64_t> w_dims =
        trans_b ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n};
    std::vector<int32_t> w_values, w_zero_points;  // [N][K]
    QuantizedWeightValues(weights, n, k, true, &w_values, &w_zero_points);
    if (!trans_b) {
      std::vector<int32_t> by_rows = w_values;
      for (int64_t j = 0; j < n; ++j) {
        for (int64_t p = 0; p < k; ++p) w_values[p * n + j] = by_rows[j * k + p];
      }
    }
    const int w = TypedConst(TypeOf(weights), w_dims, w_values);
    const int w_zp = TypedConst(TypeOf(weights), {n}, w_zero_points);
    std::vector<float> scales(static_cast<size_t>(n));
    std::uniform_real_distribution<float> dist(0.5f, 2.0f);
    for (float& v : scales) v = dist(rng_) / (127.0f * std::sqrt(static_cast<float>(k)));
    const int w_scale = FloatConst({n}, scales);
    const int bias = TypedConst(DataType::kInt32, {n}, RandomInts(n, -3000, 3000));
    attrs.push_back(IntAttr("transB", trans_b ? 1 : 0));
    attrs.push_back(FloatAttr("alpha", alpha));
    const int yq =
        Op(OpType::QGemm, {xq, x_scale, x_zp, w, w_scale, w_zp, bias, y_scale, y_zp}, attrs);
    return Op(OpType::DequantizeLinear, {yq, y_scale, y_zp});
  }

  // DynamicQuantizeMatMul(x [..., K]) with random weights [K, N] of `type`, per-column scales,
  // zero points `zero_point` (all columns) and an optional float bias.
  int DynamicMatMul(int x, int64_t k, int64_t n, DataType type, bool with_bias,
                    int32_t zero_point = 0) {
    const bool s = type == DataType::kInt8;
    const int w = TypedConst(type, {k, n}, RandomInts(n * k, s ? -127 : 0, s ? 127 : 255));
    std::vector<float> scales(static_cast<size_t>(n));
    std::uniform_real_distribution<float> dist(0.5f, 2.0f);
    for (float& v : scales) v = dist(rng_) / (127.0f * std::sqrt(static_cast<float>(k)));
    const int w_zp = TypedConst(type, {n}, std::vector<int32_t>(n, zero_point));
    std::vector<int> inputs = {x, w, FloatConst({n}, scales), w_zp};
    if (with_bias) {
      std::vector<float> bias(static_cast<size_t>(n));
      for (float& v : bias) v = dist(rng_) - 1.25f;
      inputs.push_back(FloatConst({n}, bias));
    }
    return Op(OpType::DynamicQuantizeMatMul, inputs);
  }

  // Adds a node reading `inputs` (-1: omitted) and returns its (single) output tensor.
  int Op(OpType op, std::vector<int> inputs, Attrs attrs = {}) {
    TensorDesc t;
    t.name = "t" + std::to_string(graph_->tensors.size());
    t.dtype = DataType::kFloat32;
    const int output = graph_->AddTensor(std::move(t));
    Node node;
    node.name = std::string(OpTypeName(op)) + "_" + std::to_string(graph_->nodes.size());
    node.op = op;
    node.inputs = std::move(inputs);
    node.outputs = {output};
    node.attributes = std::move(attrs);
    graph_->nodes.push_back(std::move(node));
    return output;
  }

  // A node with several outputs; every output also becomes a graph output.
  std::vector<int> OpWithOutputs(OpType op, std::vector<int> inputs, int num_outputs,
                                 Attrs attrs = {}) {
    const int first = Op(op, std::move(inputs), std::move(attrs));
    std::vector<int> outputs = {first};
    for (int o = 1; o < num_outputs; ++o) {
      TensorDesc t;
      t.name = "t" + std::to_string(graph_->tensors.size());
      t.dtype = DataType::kFloat32;
      outputs.push_back(graph_->AddTensor(std::move(t)));
      graph_->nodes.back().outputs.push_back(outputs.back());
    }
    for (int t : outputs) Output(t);
    return outputs;
  }

  // LSTM (gates 4) or GRU (gates 3) over x [seq, batch, input] with random weights.
  void Recurrent(OpType op, int64_t seq, int64_t batch, int64_t input, int64_t hidden,
                 const std::string& direction, Attrs attrs = {}, bool initial_state = false,
                 bool peepholes = false) {
    const int64_t gates = op == OpType::LSTM ? 4 : 3;
    const int64_t dirs = direction == "bidirectional" ? 2 : 1;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hidden));
    std::vector<int> inputs = {Input({seq, batch, input}),
                               Const({dirs, gates * hidden, input}, -scale, scale),
                               Const({dirs, gates * hidden, hidden}, -scale, scale),
                               Const({dirs, 2 * gates * hidden}, -0.5f, 0.5f), -1};
    if (initial_state || peepholes) {
      inputs.push_back(Input({dirs, batch, hidden}));
      if (op == OpType::LSTM) inputs.push_back(Input({dirs, batch, hidden}));
    }
    if (peepholes) inputs.push_back(Const({dirs, 3 * hidden}, -0.5f, 0.5f));
    attrs.push_back(IntAttr("hidden_size", hidden));
    attrs.push_back(StringAttr("direction", direction));
    OpWithOutputs(op, inputs, op == OpType::LSTM ? 3 : 2, attrs);
  }

  // Conv with random weights scaled by 1/sqrt(fan-in) (and a random bias when `bias`).
  int Conv(int x, int64_t in_channels, int64_t out_channels, std::vector<int64_t> kernel,
           Attrs attrs = {}, int64_t group = 1, bool bias = true) {
    std::vector<int64_t> w_dims = {out_channels, in_channels / group};
    int64_t fan_in = in_channels / group;
    for (int64_t k : kernel) {
      w_dims.push_back(k);
      fan_in *= k;
    }
    const float scale = 1.0f / std::sqrt(static_cast<float>(fan_in));
    const int w = Const(w_dims, -scale, scale);
    std::vector<int> inputs = {x, w};
    if (bias) inputs.push_back(Const({out_channels}, -0.5f, 0.5f));
    if (group != 1) attrs.push_back(IntAttr("group", group));
    attrs.push_back(IntsAttr("kernel_shape", kernel));
    return Op(OpType::Conv, inputs, attrs);
  }

  void Output(int tensor) { graph_->outputs.push_back(tensor); }

  const std::vector<std::pair<float, float>>& ranges() const { return ranges_; }

  // Infers intermediate shapes (as the converter does) and wraps the graph in a Model.
  Result<std::shared_ptr<Model>> Build() {
    if (graph_->outputs.empty()) graph_->outputs.push_back(graph_->nodes.back().outputs[0]);
    LWAI_RETURN_IF_ERROR(graph_->Validate());
    LWAI_RETURN_IF_ERROR(InferShapes(*graph_));
    auto info = std::make_unique<ModelInfo>();
    info->producer = "backend_ops_test";
    return std::make_shared<Model>(std::move(graph_), std::move(info), nullptr);
  }

 private:
  int AddConstant(DataType dtype, const std::vector<int64_t>& dims, const void* data,
                  size_t bytes) {
    TensorDesc t;
    t.name = "c" + std::to_string(graph_->tensors.size());
    t.dtype = dtype;
    t.shape_known = true;
    for (int64_t d : dims) t.shape.push_back(Dim{d, ""});
    t.constant = ConstantData::Copy(data, bytes);
    return graph_->AddTensor(std::move(t));
  }

  std::unique_ptr<Graph> graph_;
  std::mt19937 rng_;
  std::vector<std::pair<float, float>> ranges_;
};

}  // namespace lwai::testing

#endif  // LWAI_TESTS_NET_BUILDER_H_
