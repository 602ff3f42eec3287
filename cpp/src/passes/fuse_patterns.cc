#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "passes/passes.h"

namespace lwai {
namespace {

// The value of a constant float32 tensor holding one element (any rank), or false.
bool ConstantScalar(const Graph& graph, int tensor, float* value) {
  if (tensor < 0) return false;
  const TensorDesc& desc = graph.tensors[tensor];
  if (!desc.is_constant() || desc.dtype != DataType::kFloat32 ||
      desc.constant.size != sizeof(float)) {
    return false;
  }
  *value = *reinterpret_cast<const float*>(desc.constant.data);
  return true;
}

bool IsScalar(const Graph& graph, int tensor, float expected) {
  float value = 0.0f;
  return ConstantScalar(graph, tensor, &value) && value == expected;
}

// The other input of a binary node whose input `known` is one of its two inputs, or -1.
int OtherInput(const Node& node, int known) {
  if (node.inputs.size() != 2) return -1;
  if (node.inputs[0] == known) return node.inputs[1];
  if (node.inputs[1] == known) return node.inputs[0];
  return -1;
}

bool Near(float value, float expected) { return std::fabs(value - expected) <= 1e-5f; }

// The node that alone reads a tensor: what a pattern may swallow without changing other readers.
class SoleReaders {
 public:
  explicit SoleReaders(const Graph& graph) : graph_(graph), uses_(graph.UseCounts()) {
    reader_.assign(graph.tensors.size(), -1);
    for (size_t n = 0; n < graph.nodes.size(); ++n) {
      for (int t : graph.nodes[n].inputs) {
        if (t >= 0 && uses_[t] == 1) reader_[t] = static_cast<int>(n);
      }
    }
    for (int t : graph.outputs) reader_[t] = -1;
  }
  // The only reader of `tensor`, or -1 (several readers, none, or a graph output).
  int Of(int tensor) const { return tensor >= 0 ? reader_[tensor] : -1; }
  // The only reader of node n's single output, or -1.
  int Next(int node) const {
    const Node& nd = graph_.nodes[node];
    return nd.outputs.size() == 1 ? Of(nd.outputs[0]) : -1;
  }
  int uses(int tensor) const { return uses_[tensor]; }

 private:
  const Graph& graph_;
  std::vector<int> uses_;
  std::vector<int> reader_;
};

}  // namespace

// x * Clip(x + 3, 0, 6) / 6 (or * (1/6)), as exporters spell hard-swish, becomes one HardSwish
// node: one pass over the data instead of four, and a node the partition backends run.
Status FuseHardSwish(Graph& graph) {
  const SoleReaders readers(graph);
  const std::vector<int> producers = graph.Producers();
  std::vector<char> removed(graph.nodes.size(), 0);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& clip = graph.nodes[n];
    if (clip.op != OpType::Clip || clip.inputs.size() != 3 || removed[n]) continue;
    if (!IsScalar(graph, clip.inputs[1], 0.0f) || !IsScalar(graph, clip.inputs[2], 6.0f)) continue;
    const int add_index = clip.inputs[0] >= 0 ? producers[clip.inputs[0]] : -1;
    if (add_index < 0 || removed[add_index] || readers.Next(add_index) != (int)n) {
      continue;
    }
    const Node& add = graph.nodes[add_index];
    if (add.op != OpType::Add || add.inputs.size() != 2) continue;
    int x = -1;
    for (int i = 0; i < 2; ++i) {
      if (IsScalar(graph, add.inputs[i], 3.0f)) x = add.inputs[1 - i];
    }
    if (x < 0 || graph.tensors[x].dtype != DataType::kFloat32) continue;
    const int mul_index = readers.Next(static_cast<int>(n));
    if (mul_index < 0) continue;
    const Node& mul = graph.nodes[mul_index];
    if (mul.op != OpType::Mul || OtherInput(mul, clip.outputs[0]) != x) continue;
    const int scale_index = readers.Next(mul_index);
    if (scale_index < 0) continue;
    const Node& scale = graph.nodes[scale_index];
    if (scale.inputs.size() != 2 || scale.inputs[0] != mul.outputs[0]) continue;
    float divisor = 0.0f;
    if (!ConstantScalar(graph, scale.inputs[1], &divisor)) continue;
    const bool by_six = (scale.op == OpType::Div && divisor == 6.0f) ||
                        (scale.op == OpType::Mul && std::fabs(divisor * 6.0f - 1.0f) < 1e-6f);
    if (!by_six) continue;
    // The four nodes become one at the last one's place (its inputs are all defined by then).
    Node fused;
    fused.name = scale.name;
    fused.op = OpType::HardSwish;
    fused.inputs = {x};
    fused.outputs = {scale.outputs[0]};
    graph.nodes[scale_index] = std::move(fused);
    removed[add_index] = removed[n] = removed[mul_index] = 1;
  }
  DropRemoved(graph, removed);
  return Status::Ok();
}

namespace {

// The node producing `tensor` when `reader` alone reads it and `op` is its operator, or -1.
int SoleProducer(const std::vector<int>& producers, const SoleReaders& readers,
                 const std::vector<char>& removed, const Graph& graph, int tensor, int reader,
                 OpType op) {
  if (tensor < 0) return -1;
  const int p = producers[tensor];
  if (p < 0 || removed[p] || readers.Of(tensor) != reader || graph.nodes[p].op != op) return -1;
  return p;
}

// The argument of GELU's Erf: x / sqrt(2) or x * (1 / sqrt(2)). Returns x (or -1) and adds the
// node computing the argument to `nodes`.
int MatchGeluErfArgument(const Graph& graph, const std::vector<int>& producers,
                         const SoleReaders& readers, const std::vector<char>& removed, int erf,
                         std::vector<int>* nodes) {
  const int arg = graph.nodes[erf].inputs[0];
  const int scale_index = arg >= 0 ? producers[arg] : -1;
  if (scale_index < 0 || removed[scale_index] || readers.Of(arg) != erf) return -1;
  const Node& scale = graph.nodes[scale_index];
  float factor = 0.0f;
  if (scale.inputs.size() != 2 || !ConstantScalar(graph, scale.inputs[1], &factor)) return -1;
  if (!((scale.op == OpType::Div && Near(factor, 1.41421356f)) ||
        (scale.op == OpType::Mul && Near(factor, 0.70710678f)))) {
    return -1;
  }
  nodes->push_back(scale_index);
  return scale.inputs[0];
}

// The argument of GELU's tanh form: sqrt(2 / pi) * (x + 0.044715 * x^3), the cube as Pow(x, 3)
// or x * x * x in either order, constants on either side. Returns x (or -1) and adds the
// nodes computing the argument to `nodes`.
int MatchGeluTanhArgument(const Graph& graph, const std::vector<int>& producers,
                          const SoleReaders& readers, const std::vector<char>& removed, int tanh,
                          std::vector<int>* nodes) {
  auto scaled = [&](int tensor, int reader, float factor, int* product, int* operand) {
    *product = SoleProducer(producers, readers, removed, graph, tensor, reader, OpType::Mul);
    if (*product < 0) return false;
    const Node& mul = graph.nodes[*product];
    for (int i = 0; i < 2; ++i) {
      float value = 0.0f;
      if (ConstantScalar(graph, mul.inputs[i], &value) && Near(value, factor)) {
        *operand = mul.inputs[1 - i];
        return true;
      }
    }
    return false;
  };
  int outer = -1, sum = -1;
  if (!scaled(graph.nodes[tanh].inputs[0], tanh, 0.7978845608f, &outer, &sum)) return -1;
  const int add = SoleProducer(producers, readers, removed, graph, sum, outer, OpType::Add);
  if (add < 0 || graph.nodes[add].inputs.size() != 2) return -1;
  for (int i = 0; i < 2; ++i) {
    const int x = graph.nodes[add].inputs[i];
    int inner = -1, cube = -1;
    if (x < 0 || !scaled(graph.nodes[add].inputs[1 - i], add, 0.044715f, &inner, &cube)) continue;
    std::vector<int> cube_nodes;
    const int pow = SoleProducer(producers, readers, removed, graph, cube, inner, OpType::Pow);
    if (pow >= 0) {
      if (graph.nodes[pow].inputs.size() != 2 || graph.nodes[pow].inputs[0] != x ||
          !IsScalar(graph, graph.nodes[pow].inputs[1], 3.0f)) {
        continue;
      }
      cube_nodes = {pow};
    } else {
      // x * (x * x) or (x * x) * x.
      const int outer_mul =
          SoleProducer(producers, readers, removed, graph, cube, inner, OpType::Mul);
      if (outer_mul < 0) continue;
      const int square = OtherInput(graph.nodes[outer_mul], x);
      const int square_mul =
          SoleProducer(producers, readers, removed, graph, square, outer_mul, OpType::Mul);
      if (square_mul < 0 || graph.nodes[square_mul].inputs.size() != 2 ||
          graph.nodes[square_mul].inputs[0] != x || graph.nodes[square_mul].inputs[1] != x) {
        continue;
      }
      cube_nodes = {outer_mul, square_mul};
    }
    nodes->insert(nodes->end(), {outer, add, inner});
    nodes->insert(nodes->end(), cube_nodes.begin(), cube_nodes.end());
    return x;
  }
  return -1;
}

}  // namespace

// GELU as exporters spell it: 0.5 * x * (1 + Erf(x / sqrt(2))), or with the tanh approximation
// 0.5 * x * (1 + Tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))), the 0.5 applied last or to x
// first, becomes one Gelu node (approximate = "tanh" for the second).
Status FuseGelu(Graph& graph) {
  const SoleReaders readers(graph);
  const std::vector<int> producers = graph.Producers();
  auto scalar_operand = [&](const Node& node, int known, float* value) {
    const int other = OtherInput(node, known);
    return other >= 0 && ConstantScalar(graph, other, value);
  };
  std::vector<char> removed(graph.nodes.size(), 0);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& core = graph.nodes[n];
    if ((core.op != OpType::Erf && core.op != OpType::Tanh) || core.inputs.size() != 1 ||
        core.inputs[0] < 0 || core.outputs.size() != 1 || removed[n]) {
      continue;
    }
    const bool tanh_form = core.op == OpType::Tanh;
    std::vector<int> fused_nodes = {static_cast<int>(n)};
    const int x =
        tanh_form ? MatchGeluTanhArgument(graph, producers, readers, removed, (int)n, &fused_nodes)
                  : MatchGeluErfArgument(graph, producers, readers, removed, (int)n, &fused_nodes);
    if (x < 0 || graph.tensors[x].dtype != DataType::kFloat32) continue;
    // + 1
    const int add_index = readers.Next(static_cast<int>(n));
    float one = 0.0f;
    if (add_index < 0 || graph.nodes[add_index].op != OpType::Add ||
        !scalar_operand(graph.nodes[add_index], core.outputs[0], &one) || one != 1.0f) {
      continue;
    }
    // * x then * 0.5, or * (0.5 x).
    const int mul_index = readers.Next(add_index);
    if (mul_index < 0 || graph.nodes[mul_index].op != OpType::Mul) continue;
    const Node& mul = graph.nodes[mul_index];
    const int other = OtherInput(mul, graph.nodes[add_index].outputs[0]);
    if (other < 0) continue;
    int last_index = -1;
    int half_index = -1;
    float half = 0.0f;
    if (other == x) {
      last_index = readers.Next(mul_index);
      if (last_index < 0 || graph.nodes[last_index].op != OpType::Mul ||
          !scalar_operand(graph.nodes[last_index], mul.outputs[0], &half) || half != 0.5f) {
        continue;
      }
    } else {
      half_index = producers[other];
      if (half_index < 0 || removed[half_index] || readers.uses(other) != 1 ||
          graph.nodes[half_index].op != OpType::Mul ||
          !scalar_operand(graph.nodes[half_index], x, &half) || half != 0.5f) {
        continue;
      }
      last_index = mul_index;
    }
    Node fused;
    fused.name = graph.nodes[last_index].name;
    fused.op = OpType::Gelu;
    fused.inputs = {x};
    fused.outputs = {graph.nodes[last_index].outputs[0]};
    if (tanh_form) {
      Attribute approximate;
      approximate.name = "approximate";
      approximate.type = AttributeType::kString;
      approximate.s = "tanh";
      fused.attributes.push_back(std::move(approximate));
    }
    fused_nodes.insert(fused_nodes.end(), {add_index, mul_index, half_index});
    for (int i : fused_nodes) {
      if (i >= 0 && i != last_index) removed[i] = 1;
    }
    graph.nodes[last_index] = std::move(fused);
  }
  DropRemoved(graph, removed);
  return Status::Ok();
}

// Mish as exporters spell it, x * Tanh(Softplus(x)) with Softplus possibly written
// Log(Exp(x) + 1), becomes one Mish node.
Status FuseMish(Graph& graph) {
  const SoleReaders readers(graph);
  const std::vector<int> producers = graph.Producers();
  std::vector<char> removed(graph.nodes.size(), 0);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& tanh = graph.nodes[n];
    if (tanh.op != OpType::Tanh || tanh.inputs.size() != 1 || tanh.outputs.size() != 1 ||
        removed[n]) {
      continue;
    }
    const int t = static_cast<int>(n);
    std::vector<int> fused_nodes = {t};
    int x = -1;
    const int softplus =
        SoleProducer(producers, readers, removed, graph, tanh.inputs[0], t, OpType::Softplus);
    if (softplus >= 0) {
      if (graph.nodes[softplus].inputs.size() != 1) continue;
      x = graph.nodes[softplus].inputs[0];
      fused_nodes.push_back(softplus);
    } else {
      const int log =
          SoleProducer(producers, readers, removed, graph, tanh.inputs[0], t, OpType::Log);
      if (log < 0 || graph.nodes[log].inputs.size() != 1) continue;
      const int add = SoleProducer(producers, readers, removed, graph, graph.nodes[log].inputs[0],
                                   log, OpType::Add);
      if (add < 0 || graph.nodes[add].inputs.size() != 2) continue;
      const Node& add_node = graph.nodes[add];
      const int exp_out = IsScalar(graph, add_node.inputs[1], 1.0f)   ? add_node.inputs[0]
                          : IsScalar(graph, add_node.inputs[0], 1.0f) ? add_node.inputs[1]
                                                                      : -1;
      const int exp = SoleProducer(producers, readers, removed, graph, exp_out, add, OpType::Exp);
      if (exp < 0 || graph.nodes[exp].inputs.size() != 1) continue;
      x = graph.nodes[exp].inputs[0];
      fused_nodes.insert(fused_nodes.end(), {log, add, exp});
    }
    if (x < 0 || graph.tensors[x].dtype != DataType::kFloat32) continue;
    const int mul = readers.Next(t);
    if (mul < 0 || graph.nodes[mul].op != OpType::Mul ||
        OtherInput(graph.nodes[mul], tanh.outputs[0]) != x) {
      continue;
    }
    Node fused;
    fused.name = graph.nodes[mul].name;
    fused.op = OpType::Mish;
    fused.inputs = {x};
    fused.outputs = {graph.nodes[mul].outputs[0]};
    for (int i : fused_nodes) removed[i] = 1;
    graph.nodes[mul] = std::move(fused);
  }
  DropRemoved(graph, removed);
  return Status::Ok();
}

namespace {

// Whether `node` is a ReduceMean with keepdims over only the last axis of its float32 input.
bool IsLastAxisMean(const Graph& graph, const Node& node) {
  if (node.op != OpType::ReduceMean || node.inputs.size() != 2 || node.inputs[0] < 0 ||
      node.inputs[1] < 0 || node.GetInt("keepdims", 1) == 0) {
    return false;
  }
  const TensorDesc& x = graph.tensors[node.inputs[0]];
  const TensorDesc& axes = graph.tensors[node.inputs[1]];
  if (x.dtype != DataType::kFloat32 || !axes.is_constant() || axes.dtype != DataType::kInt64 ||
      axes.constant.size != sizeof(int64_t)) {
    return false;
  }
  int64_t axis;
  std::memcpy(&axis, axes.constant.data, sizeof(axis));
  return axis == -1 || (x.shape_known && axis == static_cast<int64_t>(x.shape.size()) - 1);
}

// A float32 constant of `count` elements laid out along one axis ([C], [1, C], [1, 1, C]).
bool IsVectorConstant(const Graph& graph, int tensor, int64_t count) {
  if (tensor < 0) return false;
  const TensorDesc& t = graph.tensors[tensor];
  if (!t.is_constant() || t.dtype != DataType::kFloat32 ||
      t.constant.size != static_cast<size_t>(count) * sizeof(float) || t.shape.empty()) {
    return false;
  }
  for (size_t d = 0; d + 1 < t.shape.size(); ++d) {
    if (t.shape[d].value != 1) return false;
  }
  return t.shape.back().value == count;
}

int AddVectorConstant(Graph& graph, const std::string& name, int64_t count, float value) {
  TensorDesc desc;
  desc.name = name;
  desc.dtype = DataType::kFloat32;
  desc.shape_known = true;
  desc.shape = {Dim{count, ""}};
  const std::vector<float> values(static_cast<size_t>(count), value);
  desc.constant = ConstantData::Copy(values.data(), values.size() * sizeof(float));
  return graph.AddTensor(std::move(desc));
}

}  // namespace

// Layer normalization as exporters before opset 17 spell it over the last axis:
// d = x - ReduceMean(x); y = d / Sqrt(ReduceMean(d^2) + eps) [* gamma] [+ beta], with d^2 as
// Pow(d, 2) or d * d. Becomes one LayerNormalization node (axis -1): one pass instead of nine,
// on the fast backends.
Status FuseLayerNorm(Graph& graph) {
  const SoleReaders readers(graph);
  const std::vector<int> producers = graph.Producers();
  const std::vector<int> uses = graph.UseCounts();
  std::vector<char> is_output(graph.tensors.size(), 0);
  for (int t : graph.outputs) is_output[t] = 1;
  std::vector<char> removed(graph.nodes.size(), 0);
  auto next_of = [&](int node, OpType op) {
    const int next = readers.Next(node);
    return next >= 0 && !removed[next] && graph.nodes[next].op == op ? next : -1;
  };
  const size_t num_nodes = graph.nodes.size();
  for (size_t m = 0; m < num_nodes; ++m) {
    if (removed[m] || !IsLastAxisMean(graph, graph.nodes[m])) continue;
    const int x = graph.nodes[m].inputs[0];
    const int mean = graph.nodes[m].outputs[0];
    const int sub = next_of(static_cast<int>(m), OpType::Sub);
    if (sub < 0 || graph.nodes[sub].inputs != std::vector<int>{x, mean}) continue;
    const int d = graph.nodes[sub].outputs[0];
    if (uses[d] > 3 || is_output[d]) continue;
    // d's two readers: the square and the division.
    int square = -1, div = -1;
    for (size_t n = m + 1; n < num_nodes; ++n) {
      const Node& node = graph.nodes[n];
      if (std::find(node.inputs.begin(), node.inputs.end(), d) == node.inputs.end()) continue;
      const bool squares = (node.op == OpType::Mul && node.inputs == std::vector<int>{d, d}) ||
                           (node.op == OpType::Pow && node.inputs.size() == 2 &&
                            node.inputs[0] == d && IsScalar(graph, node.inputs[1], 2.0f));
      if (squares) {
        square = static_cast<int>(n);
      } else if (node.op == OpType::Div && node.inputs.size() == 2 && node.inputs[0] == d) {
        div = static_cast<int>(n);
      }
    }
    if (square < 0 || div < 0 || removed[square] || removed[div]) continue;
    // No other reader of d: the square reads it once (Pow) or twice (Mul), the division once.
    if (uses[d] != (graph.nodes[square].op == OpType::Mul ? 3 : 2)) continue;
    const int variance = next_of(square, OpType::ReduceMean);
    if (variance < 0 || !IsLastAxisMean(graph, graph.nodes[variance])) continue;
    const int add = next_of(variance, OpType::Add);
    float epsilon = 0.0f;
    if (add < 0) continue;
    const int var_out = graph.nodes[variance].outputs[0];
    const int eps_tensor = OtherInput(graph.nodes[add], var_out);
    if (eps_tensor < 0 || !ConstantScalar(graph, eps_tensor, &epsilon)) continue;
    const int sqrt = next_of(add, OpType::Sqrt);
    if (sqrt < 0 || next_of(sqrt, OpType::Div) != div ||
        graph.nodes[div].inputs[1] != graph.nodes[sqrt].outputs[0]) {
      continue;
    }
    // Optional scale and shift by constants along the last axis.
    std::vector<int> fused_nodes = {static_cast<int>(m), sub, square, variance, add, sqrt, div};
    int last = div, gamma = -1, beta = -1;
    const TensorDesc& xd = graph.tensors[x];
    const int64_t channels = xd.shape_known && !xd.shape.empty() ? xd.shape.back().value : -1;
    const int scale = next_of(div, OpType::Mul);
    if (scale >= 0 && channels > 0) {
      const int g = OtherInput(graph.nodes[scale], graph.nodes[div].outputs[0]);
      if (IsVectorConstant(graph, g, channels)) {
        gamma = g;
        last = scale;
        fused_nodes.push_back(scale);
        const int shift = next_of(scale, OpType::Add);
        const int b =
            shift >= 0 ? OtherInput(graph.nodes[shift], graph.nodes[scale].outputs[0]) : -1;
        if (IsVectorConstant(graph, b, channels)) {
          beta = b;
          last = shift;
          fused_nodes.push_back(shift);
        }
      }
    }
    if (gamma < 0) {
      if (channels <= 0) continue;
      gamma = AddVectorConstant(graph, graph.nodes[m].name + ".ones", channels, 1.0f);
    }
    Node fused;
    fused.name = graph.nodes[last].name;
    fused.op = OpType::LayerNormalization;
    fused.inputs = {x, gamma};
    if (beta >= 0) fused.inputs.push_back(beta);
    fused.outputs = {graph.nodes[last].outputs[0]};
    Attribute axis;
    axis.name = "axis";
    axis.type = AttributeType::kInt;
    axis.i = -1;
    Attribute eps;
    eps.name = "epsilon";
    eps.type = AttributeType::kFloat;
    eps.f = epsilon;
    fused.attributes = {axis, eps};
    for (int n : fused_nodes) {
      if (n != last) removed[n] = 1;
    }
    graph.nodes[last] = std::move(fused);
  }
  DropRemoved(graph, removed);
  return Status::Ok();
}

namespace {

// Whether two dims are known to be equal: the same value, or dynamic with the same name.
bool SameDim(const Dim& a, const Dim& b) {
  if (a.value >= 0 || b.value >= 0) return a.value == b.value;
  return !a.name.empty() && a.name == b.name;
}

// The float values of a constant of `count` values, or empty.
std::vector<float> FloatValues(const Graph& graph, int tensor, int64_t count) {
  if (tensor < 0) return {};
  const TensorDesc& t = graph.tensors[tensor];
  if (!t.is_constant() || t.dtype != DataType::kFloat32 ||
      t.constant.size != static_cast<size_t>(count) * sizeof(float)) {
    return {};
  }
  std::vector<float> values(static_cast<size_t>(count));
  std::memcpy(values.data(), t.constant.data, t.constant.size);
  return values;
}

}  // namespace

// GroupNorm as PyTorch exports it: Reshape [N, C, ...] to [N, G, -1], InstanceNormalization of
// the G rows, Reshape back, then [* gamma] [+ beta] per channel. Becomes one
// GroupNormalization (ONNX 21: scale and bias per channel), which the fast backends run, and
// which keeps an NHWC partition whole (PoolFormer, detection heads with GN, diffusion U-Nets).
Status FuseGroupNorm(Graph& graph) {
  const SoleReaders readers(graph);
  const std::vector<int> producers = graph.Producers();
  std::vector<char> removed(graph.nodes.size(), 0);
  auto next_of = [&](int node, OpType op) {
    const int next = readers.Next(node);
    return next >= 0 && !removed[next] && graph.nodes[next].op == op ? next : -1;
  };
  for (size_t r = 0; r < graph.nodes.size(); ++r) {
    const Node& reshape = graph.nodes[r];
    if (removed[r] || reshape.op != OpType::Reshape || reshape.inputs.empty()) continue;
    const int x = reshape.inputs[0];
    const TensorDesc& xd = graph.tensors[x];
    const TensorDesc& rows = graph.tensors[reshape.outputs[0]];
    if (xd.dtype != DataType::kFloat32 || !xd.shape_known || xd.shape.size() < 3 ||
        !rows.shape_known || rows.shape.size() != 3) {
      continue;
    }
    const int rank = static_cast<int>(xd.shape.size());
    const int64_t channels = xd.shape[1].value, groups = rows.shape[1].value;
    if (channels <= 0 || groups <= 0 || channels % groups != 0) continue;
    if (!SameDim(xd.shape[0], rows.shape[0])) continue;
    const int norm = next_of(static_cast<int>(r), OpType::InstanceNormalization);
    if (norm < 0 || graph.nodes[norm].inputs.size() != 3) continue;
    const std::vector<float> norm_scale = FloatValues(graph, graph.nodes[norm].inputs[1], groups);
    const std::vector<float> norm_bias = FloatValues(graph, graph.nodes[norm].inputs[2], groups);
    if (norm_scale.empty() || norm_bias.empty()) continue;
    const int back = next_of(norm, OpType::Reshape);
    if (back < 0 || graph.nodes[back].inputs.size() < 2) continue;
    // Back to x's shape: known equal dims, or the shape exporters take from Shape(x).
    const TensorDesc& yd = graph.tensors[graph.nodes[back].outputs[0]];
    bool same = yd.shape_known && yd.shape.size() == xd.shape.size();
    for (int d = 0; same && d < rank; ++d) same = SameDim(yd.shape[d], xd.shape[d]);
    const int shape_tensor = graph.nodes[back].inputs[1];
    const int shape_of = shape_tensor >= 0 ? producers[shape_tensor] : -1;
    same = same || (shape_of >= 0 && graph.nodes[shape_of].op == OpType::Shape &&
                    graph.nodes[shape_of].inputs == std::vector<int>{x} &&
                    graph.nodes[shape_of].attributes.empty());
    if (!same) continue;
    // Per channel: scale_c = s[g(c)] * gamma_c, bias_c = b[g(c)] * gamma_c + beta_c.
    std::vector<float> scale(static_cast<size_t>(channels)), bias(scale.size());
    const int64_t per_group = channels / groups;
    for (int64_t c = 0; c < channels; ++c) {
      scale[c] = norm_scale[c / per_group];
      bias[c] = norm_bias[c / per_group];
    }
    std::vector<int> fused_nodes = {static_cast<int>(r), norm, back};
    int last = back;
    const int mul = next_of(back, OpType::Mul);
    std::vector<float> gamma, beta;
    if (mul >= 0 &&
        PerChannelConstant(graph, OtherInput(graph.nodes[mul], graph.nodes[back].outputs[0]),
                           channels, rank, &gamma)) {
      for (int64_t c = 0; c < channels; ++c) {
        scale[c] *= gamma[c];
        bias[c] *= gamma[c];
      }
      last = mul;
      fused_nodes.push_back(mul);
      const int add = next_of(mul, OpType::Add);
      if (add >= 0 &&
          PerChannelConstant(graph, OtherInput(graph.nodes[add], graph.nodes[mul].outputs[0]),
                             channels, rank, &beta)) {
        for (int64_t c = 0; c < channels; ++c) bias[c] += beta[c];
        last = add;
        fused_nodes.push_back(add);
      }
    }
    const std::string& name = graph.nodes[last].name;
    auto add_constant = [&](const std::string& suffix, const std::vector<float>& values) {
      TensorDesc desc;
      desc.name = name + suffix;
      desc.dtype = DataType::kFloat32;
      desc.shape_known = true;
      desc.shape = {Dim{channels, ""}};
      desc.constant = ConstantData::Copy(values.data(), values.size() * sizeof(float));
      return graph.AddTensor(std::move(desc));
    };
    Node fused;
    fused.name = name;
    fused.op = OpType::GroupNormalization;
    fused.inputs = {x, add_constant(".group_norm_scale", scale),
                    add_constant(".group_norm_bias", bias)};
    fused.outputs = {graph.nodes[last].outputs[0]};
    fused.SetInt("num_groups", groups);
    fused.SetFloat("epsilon", graph.nodes[norm].GetFloat("epsilon", 1e-5f));
    for (int n : fused_nodes) {
      if (n != last) removed[n] = 1;
    }
    graph.nodes[last] = std::move(fused);
  }
  DropRemoved(graph, removed);
  return Status::Ok();
}

// SiLU as exporters spell it, x * Sigmoid(x), becomes Swish(x) (alpha 1): one pass over the
// data instead of two, and no sigmoid tensor in memory.
Status FuseSwish(Graph& graph) {
  const SoleReaders readers(graph);
  std::vector<char> removed(graph.nodes.size(), 0);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& sigmoid = graph.nodes[n];
    if (sigmoid.op != OpType::Sigmoid || sigmoid.inputs.size() != 1 || sigmoid.inputs[0] < 0 ||
        sigmoid.outputs.size() != 1 || removed[n]) {
      continue;
    }
    const int x = sigmoid.inputs[0];
    const int s = sigmoid.outputs[0];
    const int mul_index = readers.Of(s);
    if (graph.tensors[x].dtype != DataType::kFloat32) continue;
    if (mul_index < 0 || graph.nodes[mul_index].op != OpType::Mul ||
        OtherInput(graph.nodes[mul_index], s) != x) {
      continue;
    }
    Node fused;
    fused.name = graph.nodes[mul_index].name;
    fused.op = OpType::Swish;
    fused.inputs = {x};
    fused.outputs = {graph.nodes[mul_index].outputs[0]};
    graph.nodes[mul_index] = std::move(fused);
    removed[n] = 1;
  }
  DropRemoved(graph, removed);
  return Status::Ok();
}

// Pow by a constant 2 (squared magnitudes, variances) becomes Mul(x, x), which every backend runs
// fast, instead of a general pow per element. (0.5 is left alone: pow(-inf, 0.5) is +inf where
// sqrt gives NaN.)
namespace {

// A float32 tensor of rank 4 with known rank.
bool IsRank4Float(const Graph& graph, int tensor) {
  if (tensor < 0) return false;
  const TensorDesc& desc = graph.tensors[tensor];
  return desc.dtype == DataType::kFloat32 && desc.shape_known && desc.shape.size() == 4;
}

// Scores of attention: MatMul(Q, K^T), then optionally Mul or Div by a scalar constant. Returns
// the MatMul's index (or -1) and multiplies *scale by the constants; `chain` gets the nodes.
int MatchScores(const Graph& graph, const std::vector<int>& producers, const SoleReaders& readers,
                int tensor, float* scale, std::vector<int>* chain) {
  for (int depth = 0; depth < 4 && tensor >= 0; ++depth) {
    const int index = producers[tensor];
    if (index < 0 || readers.Of(tensor) < 0) return -1;
    const Node& node = graph.nodes[index];
    if (node.outputs.size() != 1) return -1;
    chain->push_back(index);
    if (node.op == OpType::MatMul && node.inputs.size() == 2) return index;
    float value = 0.0f;
    if (node.op == OpType::Identity && node.inputs.size() == 1) {
      tensor = node.inputs[0];
    } else if (node.op == OpType::Mul && node.inputs.size() == 2) {
      const bool first_scalar = ConstantScalar(graph, node.inputs[0], &value);
      if (!first_scalar && !ConstantScalar(graph, node.inputs[1], &value)) return -1;
      *scale *= value;
      tensor = first_scalar ? node.inputs[1] : node.inputs[0];
    } else if (node.op == OpType::Div && node.inputs.size() == 2 &&
               ConstantScalar(graph, node.inputs[1], &value) && value != 0.0f) {
      *scale /= value;
      tensor = node.inputs[0];
    } else {
      return -1;
    }
  }
  return -1;
}

}  // namespace

Status FuseAttention(Graph& graph) {
  const SoleReaders readers(graph);
  const std::vector<int> producers = graph.Producers();
  std::vector<char> removed(graph.nodes.size(), 0);
  std::vector<std::vector<Node>> insert_before(graph.nodes.size());
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& softmax = graph.nodes[n];
    if (softmax.op != OpType::Softmax || softmax.inputs.size() != 1 || removed[n] ||
        softmax.outputs.size() != 1 || !IsRank4Float(graph, softmax.inputs[0])) {
      continue;
    }
    const int64_t axis = softmax.GetInt("axis", -1);
    if (axis != -1 && axis != 3) continue;
    const int context_index = readers.Next(static_cast<int>(n));
    if (context_index < 0 || graph.nodes[context_index].op != OpType::MatMul ||
        graph.nodes[context_index].inputs.size() != 2 ||
        graph.nodes[context_index].inputs[0] != softmax.outputs[0]) {
      continue;
    }
    // Softmax input: scores, or scores + mask.
    std::vector<int> chain;
    float scale = 1.0f;
    int mask = -1;
    int scores_index = -1;
    const int logits = softmax.inputs[0];
    const int add_index = producers[logits];
    if (add_index >= 0 && graph.nodes[add_index].op == OpType::Add &&
        graph.nodes[add_index].inputs.size() == 2 && readers.Of(logits) >= 0) {
      for (int side = 0; side < 2 && scores_index < 0; ++side) {
        chain = {add_index};
        scale = 1.0f;
        scores_index = MatchScores(graph, producers, readers, graph.nodes[add_index].inputs[side],
                                   &scale, &chain);
        mask = graph.nodes[add_index].inputs[1 - side];
      }
    } else {
      scores_index = MatchScores(graph, producers, readers, logits, &scale, &chain);
    }
    if (scores_index < 0 ||
        std::any_of(chain.begin(), chain.end(), [&](int i) { return removed[i] != 0; })) {
      continue;
    }
    const int q = graph.nodes[scores_index].inputs[0];
    const int k_transposed = graph.nodes[scores_index].inputs[1];
    const int v = graph.nodes[context_index].inputs[1];
    if (!IsRank4Float(graph, q) || !IsRank4Float(graph, k_transposed) || !IsRank4Float(graph, v)) {
      continue;
    }
    const std::vector<Dim>& qs = graph.tensors[q].shape;
    const std::vector<Dim>& ks = graph.tensors[k_transposed].shape;
    const std::vector<Dim>& vs = graph.tensors[v].shape;
    // Same batch and heads everywhere (MatMul's batch broadcasting is not Attention's), head
    // sizes and key counts that agree.
    bool ok = SameDim(qs[3], ks[2]) && SameDim(ks[3], vs[2]);
    for (int d = 0; d < 2 && ok; ++d) ok = SameDim(qs[d], ks[d]) && SameDim(qs[d], vs[d]);
    if (!ok) continue;
    if (mask >= 0) {
      // An additive float mask with one value per key that only broadcasts over the rest.
      const TensorDesc& m = graph.tensors[mask];
      if (m.dtype != DataType::kFloat32 || !m.shape_known || m.shape.empty() ||
          m.shape.size() > 4 || !SameDim(m.shape.back(), ks[3])) {
        continue;
      }
      const Dim scores_dims[4] = {qs[0], qs[1], qs[2], ks[3]};
      for (size_t i = 0; i + 1 < m.shape.size() && ok; ++i) {
        const Dim& dim = m.shape[i];
        ok = dim.value == 1 || SameDim(dim, scores_dims[4 - m.shape.size() + i]);
      }
      if (!ok) continue;
    }
    // K from K^T: a Transpose producing K^T gets a twin producing K, otherwise one is added.
    Node transpose;
    transpose.name = graph.nodes[context_index].name + "/key";
    transpose.op = OpType::Transpose;
    std::vector<int64_t> perm = {0, 1, 3, 2};
    const int kt_producer = producers[k_transposed];
    if (kt_producer >= 0 && graph.nodes[kt_producer].op == OpType::Transpose &&
        graph.nodes[kt_producer].inputs.size() == 1 &&
        graph.nodes[kt_producer].GetInts("perm").size() == 4) {
      perm = graph.nodes[kt_producer].GetInts("perm");
      std::swap(perm[2], perm[3]);
      transpose.inputs = {graph.nodes[kt_producer].inputs[0]};
    } else {
      transpose.inputs = {k_transposed};
    }
    Attribute perm_attribute;
    perm_attribute.name = "perm";
    perm_attribute.type = AttributeType::kInts;
    perm_attribute.ints = perm;
    transpose.attributes.push_back(std::move(perm_attribute));
    TensorDesc key;
    key.name = transpose.name;
    for (int suffix = 1; graph.FindTensor(key.name) >= 0; ++suffix) {
      key.name = transpose.name + "_" + std::to_string(suffix);  // tensor names are unique
    }
    key.dtype = DataType::kFloat32;
    key.shape_known = true;
    key.shape = {ks[0], ks[1], ks[3], ks[2]};
    transpose.outputs = {graph.AddTensor(std::move(key))};

    Node attention;
    attention.name = graph.nodes[context_index].name;
    attention.op = OpType::Attention;
    attention.inputs = {q, transpose.outputs[0], v};
    if (mask >= 0) attention.inputs.push_back(mask);
    attention.outputs = {graph.nodes[context_index].outputs[0]};
    attention.SetFloat("scale", scale);
    for (int i : chain) removed[i] = 1;
    removed[n] = 1;
    insert_before[context_index].push_back(std::move(transpose));
    graph.nodes[context_index] = std::move(attention);
  }
  std::vector<Node> kept;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    for (Node& inserted : insert_before[n]) kept.push_back(std::move(inserted));
    if (!removed[n]) kept.push_back(std::move(graph.nodes[n]));
  }
  graph.nodes = std::move(kept);
  return Status::Ok();
}

// MatMul(A, W) + b with W a constant [K, N] and b a constant of N values becomes MatMul(A, W, b)
// (lwai's bias input): the bias rides in the GEMM's store instead of another pass over the
// output.
Status FuseMatMulBias(Graph& graph) {
  const SoleReaders readers(graph);
  std::vector<char> removed(graph.nodes.size(), 0);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    Node& matmul = graph.nodes[n];
    if (matmul.op != OpType::MatMul || matmul.inputs.size() != 2 || matmul.outputs.size() != 1 ||
        matmul.inputs[0] < 0 || matmul.inputs[1] < 0) {
      continue;
    }
    const TensorDesc& w = graph.tensors[matmul.inputs[1]];
    const TensorDesc& out = graph.tensors[matmul.outputs[0]];
    if (!w.is_constant() || w.dtype != DataType::kFloat32 || w.shape.size() != 2 ||
        graph.tensors[matmul.inputs[0]].dtype != DataType::kFloat32 || !out.shape_known) {
      continue;
    }
    const int64_t columns = w.shape[1].value;
    const int add_index = readers.Next(static_cast<int>(n));
    if (add_index < 0 || removed[add_index] || graph.nodes[add_index].op != OpType::Add ||
        graph.nodes[add_index].inputs.size() != 2) {
      continue;
    }
    const Node& add = graph.nodes[add_index];
    const int bias = OtherInput(add, matmul.outputs[0]);
    if (bias < 0 || bias == matmul.outputs[0]) continue;
    const TensorDesc& b = graph.tensors[bias];
    if (!b.is_constant() || b.dtype != DataType::kFloat32 || b.shape.empty() ||
        b.shape.size() > out.shape.size() || b.shape.back().value != columns) {
      continue;
    }
    bool per_column = true;
    for (size_t d = 0; d + 1 < b.shape.size(); ++d)
      per_column = per_column && b.shape[d].value == 1;
    if (!per_column) continue;
    matmul.inputs.push_back(bias);
    matmul.outputs[0] = add.outputs[0];
    removed[add_index] = 1;
  }
  DropRemoved(graph, removed);
  return Status::Ok();
}

Status SimplifyArithmetic(Graph& graph) {
  for (Node& node : graph.nodes) {
    // A Cast to the type its input already has (exporters' autocast leaves pairs of them).
    if (node.op == OpType::Cast && node.inputs.size() == 1 && node.inputs[0] >= 0 &&
        node.FindAttribute("to") != nullptr &&
        graph.tensors[node.inputs[0]].dtype != DataType::kUndefined &&
        node.GetInt("to", -1) == static_cast<int64_t>(graph.tensors[node.inputs[0]].dtype)) {
      node.op = OpType::Identity;
      node.attributes.clear();
      continue;
    }
    if (node.inputs.size() != 2 || node.inputs[0] < 0 || node.inputs[1] < 0) continue;
    const bool commutes = node.op == OpType::Mul;
    if (node.op != OpType::Pow && node.op != OpType::Mul && node.op != OpType::Div) continue;
    // x: the operand that is not the scalar constant (Mul takes it on either side).
    int x = node.inputs[0], scalar = node.inputs[1];
    float value = 0.0f;
    if (!ConstantScalar(graph, scalar, &value) && commutes) std::swap(x, scalar);
    if (graph.tensors[x].dtype != DataType::kFloat32 || !ConstantScalar(graph, scalar, &value)) {
      continue;
    }
    // The output keeps x's shape only when the scalar does not broadcast it.
    const TensorDesc& s = graph.tensors[scalar];
    const TensorDesc& xd = graph.tensors[x];
    if (!s.shape.empty() && (!xd.shape_known || s.shape.size() > xd.shape.size())) continue;
    if (node.op == OpType::Pow && value == 2.0f) {
      node.op = OpType::Mul;
      node.inputs = {x, x};
    } else if (node.op != OpType::Pow && value == 1.0f) {
      // Exact for every x (NaN, infinities and signed zeros included).
      node.op = OpType::Identity;
      node.inputs = {x};
      node.attributes.clear();
    }
  }
  return Status::Ok();
}

}  // namespace lwai
