// Einsum (ONNX 12): any number of operands, explicit ("->") or implicit output, ellipsis with
// broadcasting, repeated labels within an operand (diagonals) and summed labels.
#include <algorithm>
#include <cctype>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/kernel_api.h"

namespace lwai {
namespace {

constexpr int kEllipsis = -1;
constexpr int kEllipsisBase = 256;  // label ids of ellipsis dimensions: 256 + i

struct EinsumState : OpState {
  int num_out = 0;                            // the output's labels come first
  std::vector<int64_t> sizes;                 // per label
  std::vector<std::vector<int64_t>> strides;  // per operand, per label (0 where unused)
  std::vector<int64_t> out_strides;           // per label (0 for summed labels)
};

// Splits a term into labels: letters as their char code, "..." as kEllipsis.
bool ParseTerm(const std::string& term, std::vector<int>* labels) {
  bool ellipsis = false;
  for (size_t i = 0; i < term.size(); ++i) {
    const char ch = term[i];
    if (ch == '.') {
      if (ellipsis || term.compare(i, 3, "...") != 0) return false;
      ellipsis = true;
      labels->push_back(kEllipsis);
      i += 2;
    } else if (std::isalpha(static_cast<unsigned char>(ch))) {
      labels->push_back(ch);
    } else {
      return false;
    }
  }
  return true;
}

// Replaces kEllipsis in `labels` by the ids of its `n` (right-aligned) dimensions.
std::vector<int> ExpandEllipsis(const std::vector<int>& labels, int n, int ellipsis_rank) {
  std::vector<int> ids;
  for (int label : labels) {
    if (label != kEllipsis) {
      ids.push_back(label);
      continue;
    }
    for (int e = 0; e < n; ++e) ids.push_back(kEllipsisBase + ellipsis_rank - n + e);
  }
  return ids;
}

Status Prepare(KernelContext& ctx) {
  if (ctx.num_inputs() < 1) return ctx.InvalidModel(LWAI_MSG("Einsum needs at least one input"));
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i))
      return ctx.InvalidModel(LWAI_MSG("input " + std::to_string(i) + " is missing"));
  }
  const DataType dtype = ctx.input(0).dtype;
  if (!DispatchNumeric(dtype, [](auto) {})) {
    return ctx.Unsupported(LWAI_MSG("unsupported dtype " + std::string(DataTypeName(dtype))));
  }
  for (int i = 1; i < ctx.num_inputs(); ++i) LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(i, dtype));
  std::string equation;
  for (char ch : ctx.node().GetString("equation", "")) {
    if (!std::isspace(static_cast<unsigned char>(ch))) equation += ch;
  }
  const size_t arrow = equation.find("->");
  const std::string lhs = equation.substr(0, arrow);
  const std::string malformed = "malformed equation '" + equation + "'";
  std::vector<std::vector<int>> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.emplace_back();
    const size_t end = comma == std::string::npos ? lhs.size() : comma;
    if (!ParseTerm(lhs.substr(start, end - start), &terms.back())) {
      return ctx.InvalidModel(LWAI_MSG(malformed));
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  const int num_operands = static_cast<int>(terms.size());
  if (num_operands != ctx.num_inputs()) {
    return ctx.InvalidModel(LWAI_MSG("equation '" + equation + "' has " +
                                     std::to_string(num_operands) + " operands, the node " +
                                     std::to_string(ctx.num_inputs()) + " inputs"));
  }

  // Each operand's labels with the ellipsis expanded, and every label's size.
  int ellipsis_rank = 0;
  std::vector<int> ellipsis_dims(num_operands);
  for (int t = 0; t < num_operands; ++t) {
    const Shape& shape = ctx.input(t).shape;
    const bool has_ellipsis =
        std::find(terms[t].begin(), terms[t].end(), kEllipsis) != terms[t].end();
    const int explicit_labels = static_cast<int>(terms[t].size()) - (has_ellipsis ? 1 : 0);
    ellipsis_dims[t] = shape.rank - explicit_labels;
    if (ellipsis_dims[t] < 0 || (!has_ellipsis && ellipsis_dims[t] != 0)) {
      return ctx.ShapeMismatch(LWAI_MSG("operand " + std::to_string(t) + " " + shape.ToString() +
                                        " does not match its labels in '" + equation + "'"));
    }
    ellipsis_rank = std::max(ellipsis_rank, ellipsis_dims[t]);
  }
  std::vector<int64_t> label_size(kEllipsisBase + kMaxRank, -1);
  std::vector<int> occurrences(kEllipsisBase + kMaxRank, 0);
  std::vector<std::vector<int>> operand_ids(num_operands);
  for (int t = 0; t < num_operands; ++t) {
    const Shape& shape = ctx.input(t).shape;
    operand_ids[t] = ExpandEllipsis(terms[t], ellipsis_dims[t], ellipsis_rank);
    for (int d = 0; d < shape.rank; ++d) {
      const int id = operand_ids[t][d];
      ++occurrences[id];
      int64_t& size = label_size[id];
      if (size == -1 || size == 1) {
        size = shape[d];
      } else if (shape[d] != 1 && shape[d] != size) {
        return ctx.ShapeMismatch(LWAI_MSG("dimension sizes " + std::to_string(size) + " and " +
                                          std::to_string(shape[d]) + " of one label differ in '" +
                                          equation + "'"));
      }
    }
  }

  // Output labels.
  std::vector<int> out_ids;
  if (arrow != std::string::npos) {
    std::vector<int> rhs;
    if (!ParseTerm(equation.substr(arrow + 2), &rhs)) return ctx.InvalidModel(LWAI_MSG(malformed));
    out_ids = ExpandEllipsis(rhs, ellipsis_rank, ellipsis_rank);
    for (size_t i = 0; i < out_ids.size(); ++i) {
      const int id = out_ids[i];
      if (id < kEllipsisBase && occurrences[id] == 0) {
        return ctx.InvalidModel(LWAI_MSG(std::string("output label '") + char(id) +
                                         "' is not in any input of '" + equation + "'"));
      }
      if (std::find(out_ids.begin(), out_ids.begin() + i, id) != out_ids.begin() + i) {
        return ctx.InvalidModel(LWAI_MSG("repeated output label in '" + equation + "'"));
      }
    }
  } else {
    for (int e = 0; e < ellipsis_rank; ++e) out_ids.push_back(kEllipsisBase + e);
    for (int id = 0; id < kEllipsisBase; ++id) {
      if (occurrences[id] == 1) out_ids.push_back(id);
    }
  }

  auto state = std::make_unique<EinsumState>();
  EinsumState& s = *state;
  std::vector<int> all_ids = out_ids;
  for (int id = 0; id < kEllipsisBase + kMaxRank; ++id) {
    if (occurrences[id] > 0 && std::find(out_ids.begin(), out_ids.end(), id) == out_ids.end()) {
      all_ids.push_back(id);
    }
  }
  const int num_labels = static_cast<int>(all_ids.size());
  s.num_out = static_cast<int>(out_ids.size());
  if (s.num_out > kMaxRank)
    return ctx.Unsupported(LWAI_MSG("output rank exceeds " + std::to_string(kMaxRank)));
  std::vector<int> position(kEllipsisBase + kMaxRank, -1);
  for (int l = 0; l < num_labels; ++l) {
    position[all_ids[l]] = l;
    s.sizes.push_back(label_size[all_ids[l]] < 0 ? 1 : label_size[all_ids[l]]);
  }
  s.strides.assign(num_operands, std::vector<int64_t>(num_labels, 0));
  for (int t = 0; t < num_operands; ++t) {
    const Shape& shape = ctx.input(t).shape;
    int64_t stride = 1;
    for (int d = shape.rank - 1; d >= 0; --d) {
      const int l = position[operand_ids[t][d]];
      if (shape[d] != 1) s.strides[t][l] += stride;
      stride *= shape[d];
    }
  }
  s.out_strides.assign(num_labels, 0);
  Shape out;
  out.rank = s.num_out;
  int64_t stride = 1;
  for (int l = s.num_out - 1; l >= 0; --l) {
    out[l] = s.sizes[l];
    s.out_strides[l] = stride;
    stride *= s.sizes[l];
  }
  ctx.output(0).dtype = dtype;
  ctx.output(0).shape = out;
  ctx.RequestScratch(static_cast<size_t>(num_labels + num_operands) * sizeof(int64_t));
  ctx.SetState(std::move(state));
  return Status::Ok();
}

// False when the run's limits stopped it (the work is the product of all label sizes, which
// can far exceed every tensor's size).
template <typename T>
bool Run(KernelContext& ctx, const EinsumState& s) {
  const int num_labels = static_cast<int>(s.sizes.size());
  const int num_operands = static_cast<int>(s.strides.size());
  T* y = ctx.output(0).Data<T>();
  const int64_t out_count = ctx.output(0).NumElements();
  for (int64_t i = 0; i < out_count; ++i) y[i] = T(0);
  // Saturates instead of overflowing: such a product never finishes before the deadline.
  int64_t total = 1;
  for (int64_t size : s.sizes) {
    if (size == 0) return true;
    total = total > std::numeric_limits<int64_t>::max() / size ? std::numeric_limits<int64_t>::max()
                                                               : total * size;
  }
  WorkMeter meter(ctx.limits());
  int64_t* index = static_cast<int64_t*>(ctx.scratch());
  int64_t* offsets = index + num_labels;
  for (int l = 0; l < num_labels; ++l) index[l] = 0;
  for (int t = 0; t < num_operands; ++t) offsets[t] = 0;
  int64_t out_offset = 0;
  for (int64_t step = 0; step < total; ++step) {
    if (meter.Add(num_operands)) return false;
    T product = T(1);
    for (int t = 0; t < num_operands; ++t) {
      product = static_cast<T>(product * ctx.input(t).Data<const T>()[offsets[t]]);
    }
    y[out_offset] = static_cast<T>(y[out_offset] + product);
    for (int l = num_labels - 1; l >= 0; --l) {
      out_offset += s.out_strides[l];
      for (int t = 0; t < num_operands; ++t) offsets[t] += s.strides[t][l];
      if (++index[l] < s.sizes[l]) break;
      out_offset -= s.out_strides[l] * s.sizes[l];
      for (int t = 0; t < num_operands; ++t) offsets[t] -= s.strides[t][l] * s.sizes[l];
      index[l] = 0;
    }
  }
  return true;
}

Status Eval(KernelContext& ctx) {
  const EinsumState& s = *ctx.state<EinsumState>();
  bool done = true;
  DispatchNumeric(ctx.input(0).dtype, [&](auto t) { done = Run<decltype(t)>(ctx, s); });
  return done ? Status::Ok() : ctx.limits().Check(ctx.node());
}

}  // namespace

extern const KernelRegistration kEinsumKernel = {OpType::Einsum, Prepare, Eval};

}  // namespace lwai
