// Unique (ONNX 11): the unique elements (or slices along `axis`) of X, sorted ascending
// (sorted=1, lexicographic for slices) or in order of first occurrence, with the optional
// outputs indices (first occurrence), inverse_indices and counts. The output shape depends on
// the values: X must be known at prepare, where the result is computed.
#include <algorithm>
#include <cstring>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "kernels/tensor_common.h"

namespace lwai {
namespace {

struct UniqueState : OpState {
  int64_t outer = 1, inner = 1;  // X viewed as [outer, slices, inner]
  std::vector<int64_t> first;    // per output slice: its first occurrence in X
  std::vector<int64_t> inverse;  // per input slice: its output slice
  std::vector<int64_t> counts;   // per output slice
};

// Groups the slices of x (viewed as [outer, n, inner]) into unique ones.
template <typename T>
void FindUnique(const T* x, int64_t outer, int64_t n, int64_t inner, bool sorted, UniqueState* s) {
  // Lexicographic comparison of slices a and b.
  auto compare = [&](int64_t a, int64_t b) {
    for (int64_t o = 0; o < outer; ++o) {
      const T* pa = x + (o * n + a) * inner;
      const T* pb = x + (o * n + b) * inner;
      for (int64_t r = 0; r < inner; ++r) {
        if (pa[r] < pb[r]) return -1;
        if (pb[r] < pa[r]) return 1;
      }
    }
    return 0;
  };
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return compare(a, b) < 0; });
  // Groups in sorted order; the first of each group is its first occurrence (stable sort).
  std::vector<int64_t> group_of(n);
  std::vector<int64_t> group_first, group_count;
  for (int64_t i = 0; i < n; ++i) {
    if (i == 0 || compare(order[i - 1], order[i]) != 0) {
      group_first.push_back(order[i]);
      group_count.push_back(0);
    }
    group_of[order[i]] = static_cast<int64_t>(group_first.size()) - 1;
    ++group_count.back();
  }
  const int64_t groups = static_cast<int64_t>(group_first.size());
  // Output position of each group.
  std::vector<int64_t> position(groups);
  std::iota(position.begin(), position.end(), 0);
  if (!sorted) {
    std::vector<int64_t> by_first(groups);
    std::iota(by_first.begin(), by_first.end(), 0);
    std::sort(by_first.begin(), by_first.end(),
              [&](int64_t a, int64_t b) { return group_first[a] < group_first[b]; });
    for (int64_t p = 0; p < groups; ++p) position[by_first[p]] = p;
  }
  s->first.assign(groups, 0);
  s->counts.assign(groups, 0);
  for (int64_t g = 0; g < groups; ++g) {
    s->first[position[g]] = group_first[g];
    s->counts[position[g]] = group_count[g];
  }
  s->inverse.resize(n);
  for (int64_t i = 0; i < n; ++i) s->inverse[i] = position[group_of[i]];
}

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const TensorView& x = ctx.input(0);
  if (!DispatchNumericOrBool(x.dtype, [](auto) {})) {
    return ctx.Unsupported(LWAI_MSG(std::string("dtype ") + DataTypeName(x.dtype) +
                                    " (expected a numeric type or bool)"));
  }
  if (x.data == nullptr) return ctx.ValueNeeded(0);
  auto state = std::make_unique<UniqueState>();
  UniqueState& s = *state;
  const Attribute* axis_attr = ctx.node().FindAttribute("axis");
  int axis = -1;
  int64_t n = x.NumElements();
  if (axis_attr != nullptr) {
    if (!NormalizeAxis(axis_attr->i, x.shape.rank, &axis)) {
      return ctx.InvalidModel(LWAI_MSG("axis " + std::to_string(axis_attr->i) +
                                       " is out of range for input " + x.shape.ToString()));
    }
    n = x.shape[axis];
    for (int d = 0; d < axis; ++d) s.outer *= x.shape[d];
    for (int d = axis + 1; d < x.shape.rank; ++d) s.inner *= x.shape[d];
  }
  const bool sorted = ctx.node().GetInt("sorted", 1) != 0;
  DispatchNumericOrBool(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    FindUnique(x.Data<const T>(), s.outer, n, s.inner, sorted, &s);
  });
  const int64_t u = static_cast<int64_t>(s.first.size());
  Shape y = Shape({u});
  if (axis >= 0) {
    y = x.shape;
    y[axis] = u;
  }
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = y;
  const int64_t lengths[4] = {0, u, n, u};
  for (int i = 1; i < 4; ++i) {
    if (!ctx.has_output(i)) continue;
    ctx.output(i).dtype = DataType::kInt64;
    ctx.output(i).shape = Shape({lengths[i]});
  }
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const UniqueState& s = *ctx.state<UniqueState>();
  const TensorView& x = ctx.input(0);
  TensorView& y = ctx.output(0);
  const int64_t u = static_cast<int64_t>(s.first.size());
  const int64_t n = static_cast<int64_t>(s.inverse.size());
  const size_t slice = static_cast<size_t>(s.inner) * DataTypeSize(x.dtype);
  if (slice > 0) {
    for (int64_t o = 0; o < s.outer; ++o) {
      for (int64_t j = 0; j < u; ++j) {
        std::memcpy(y.Data<char>() + (o * u + j) * slice,
                    x.Data<const char>() + (o * n + s.first[j]) * slice, slice);
      }
    }
  }
  const std::vector<int64_t>* sources[4] = {nullptr, &s.first, &s.inverse, &s.counts};
  for (int i = 1; i < 4; ++i) {
    if (!ctx.has_output(i) || sources[i]->empty()) continue;
    std::memcpy(ctx.output(i).data, sources[i]->data(), sources[i]->size() * sizeof(int64_t));
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kUniqueKernel = {OpType::Unique, Prepare, Eval};

}  // namespace lwai
