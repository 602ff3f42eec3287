// TfIdfVectorizer (ONNX 9), integer inputs only (pool_int64s): counts the pool's n-grams in
// each row, with skips up to max_skip_count, weighted per mode TF, IDF or TFIDF.
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/common.h"

namespace lwai {
namespace {

enum class Mode { kTf, kIdf, kTfIdf };

// A trie of the pool's n-grams: node 0 is the root; `column` is the output column of the
// n-gram ending at the node, or -1.
struct TrieNode {
  std::map<int64_t, int32_t> children;
  int64_t column = -1;
};

struct TfIdfState : OpState {
  std::vector<TrieNode> trie;
  std::vector<float> weights;
  int64_t min_gram = 1;
  int64_t max_gram = 1;
  int64_t max_skip = 0;
  int64_t columns = 0;
  Mode mode = Mode::kTf;
};

Status ParseAttributes(const KernelContext& ctx, TfIdfState* state) {
  const Node& node = ctx.node();
  const std::string mode = node.GetString("mode", "");
  if (mode == "TF") {
    state->mode = Mode::kTf;
  } else if (mode == "IDF") {
    state->mode = Mode::kIdf;
  } else if (mode == "TFIDF") {
    state->mode = Mode::kTfIdf;
  } else {
    return ctx.InvalidModel(LWAI_MSG("mode must be TF, IDF or TFIDF, got '" + mode + "'"));
  }
  state->min_gram = node.GetInt("min_gram_length", 0);
  state->max_gram = node.GetInt("max_gram_length", 0);
  state->max_skip = node.GetInt("max_skip_count", 0);
  if (state->min_gram < 1 || state->max_gram < state->min_gram || state->max_skip < 0) {
    return ctx.InvalidModel(
        LWAI_MSG("expected 1 <= min_gram_length <= max_gram_length and "
                 "max_skip_count >= 0, got " +
                 std::to_string(state->min_gram) + ", " + std::to_string(state->max_gram) + ", " +
                 std::to_string(state->max_skip)));
  }
  if (node.FindAttribute("pool_strings") != nullptr) {
    return ctx.Unsupported(LWAI_MSG("pool_strings (string tensors are not supported)"));
  }
  const std::vector<int64_t> pool = node.GetInts("pool_int64s");
  const std::vector<int64_t> counts = node.GetInts("ngram_counts");
  const std::vector<int64_t> indexes = node.GetInts("ngram_indexes");
  if (indexes.empty()) return ctx.InvalidModel(LWAI_MSG("ngram_indexes must not be empty"));
  for (int64_t index : indexes) {
    if (index < 0) {
      return ctx.InvalidModel(LWAI_MSG("ngram_indexes must be >= 0, got " + std::to_string(index)));
    }
  }
  state->columns = *std::max_element(indexes.begin(), indexes.end()) + 1;
  if (const Attribute* weights = node.FindAttribute("weights")) {
    state->weights = weights->floats;
    if (!state->weights.empty() && static_cast<int64_t>(state->weights.size()) < state->columns) {
      return ctx.InvalidModel(LWAI_MSG("weights has " + std::to_string(state->weights.size()) +
                                       " values, expected " + std::to_string(state->columns)));
    }
  }
  const int64_t pool_size = static_cast<int64_t>(pool.size());
  state->trie.assign(1, TrieNode());
  int64_t ngram_id = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const int64_t gram = static_cast<int64_t>(i) + 1;
    const int64_t begin = counts[i];
    const int64_t end = i + 1 < counts.size() ? counts[i + 1] : pool_size;
    if (begin < 0 || begin > end || end > pool_size) {
      return ctx.InvalidModel(LWAI_MSG("ngram_counts " + IntsToString(counts) +
                                       " must be non-decreasing offsets into pool_int64s (size " +
                                       std::to_string(pool_size) + ")"));
    }
    const int64_t grams = (end - begin) / gram;
    if (gram < state->min_gram || gram > state->max_gram) {
      ngram_id += grams;
      continue;
    }
    for (int64_t g = 0; g < grams; ++g, ++ngram_id) {
      if (ngram_id >= static_cast<int64_t>(indexes.size())) {
        return ctx.InvalidModel(LWAI_MSG("pool_int64s has more n-grams than ngram_indexes (" +
                                         std::to_string(indexes.size()) + ")"));
      }
      int32_t current = 0;
      for (int64_t k = 0; k < gram; ++k) {
        const int64_t token = pool[begin + g * gram + k];
        auto found = state->trie[current].children.find(token);
        if (found == state->trie[current].children.end()) {
          const int32_t child = static_cast<int32_t>(state->trie.size());
          state->trie[current].children.emplace(token, child);
          state->trie.emplace_back();
          current = child;
        } else {
          current = found->second;
        }
      }
      state->trie[current].column = indexes[ngram_id];
    }
  }
  return Status::Ok();
}

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const TensorView& x = ctx.input(0);
  if (x.dtype != DataType::kInt32 && x.dtype != DataType::kInt64) {
    return ctx.Unsupported(LWAI_MSG(std::string("input dtype ") + DataTypeName(x.dtype) +
                                    " (supported: int32, int64)"));
  }
  if (x.shape.rank > 2) {
    return ctx.ShapeMismatch(LWAI_MSG("input must be [C] or [N, C], got " + x.shape.ToString()));
  }
  auto state = std::make_unique<TfIdfState>();
  LWAI_RETURN_IF_ERROR(ParseAttributes(ctx, state.get()));
  TensorView& y = ctx.output(0);
  y.dtype = DataType::kFloat32;
  y.shape = x.shape.rank == 2 ? Shape{x.shape[0], state->columns} : Shape{state->columns};
  ctx.SetState(std::move(state));
  return Status::Ok();
}

// Adds the n-gram counts of one row of `length` tokens to `counts`. The work grows with
// length x skips x max_gram_length; false when the run's deadline passed (or it was cancelled)
// before the row was done.
template <typename T>
bool CountRow(const TfIdfState& state, const T* row, int64_t length, float* counts,
              const ExecutionLimits& limits) {
  const std::vector<TrieNode>& trie = state.trie;
  int64_t first_gram = state.min_gram;
  // Tokens `length` or more apart never form a gram: larger skips add nothing (and a hostile
  // max_skip_count of 2^62 must not loop that often).
  const int64_t max_distance = std::min(state.max_skip, length) + 1;
  for (int64_t skip = 1; skip <= max_distance; ++skip) {
    if (limits.Expired()) return false;
    for (int64_t start = 0; start < length; ++start) {
      int32_t current = 0;
      for (int64_t gram = 1; gram <= state.max_gram; ++gram) {
        const int64_t position = start + (gram - 1) * skip;
        if (position >= length) break;
        auto found = trie[current].children.find(static_cast<int64_t>(row[position]));
        if (found == trie[current].children.end()) break;
        current = found->second;
        if (gram >= first_gram && trie[current].column >= 0) counts[trie[current].column] += 1;
      }
    }
    // Unigrams have no skips: count them only once.
    if (first_gram == 1) {
      first_gram = 2;
      if (first_gram > state.max_gram) break;
    }
  }
  return true;
}

Status Eval(KernelContext& ctx) {
  const TfIdfState& state = *ctx.state<TfIdfState>();
  const TensorView& x = ctx.input(0);
  TensorView& y = ctx.output(0);
  const int64_t rows = x.shape.rank == 2 ? x.shape[0] : 1;
  const int64_t length = x.shape.rank == 0 ? 1 : x.shape[x.shape.rank - 1];
  float* out = y.Data<float>();
  const int64_t total = y.NumElements();
  std::fill(out, out + total, 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    float* counts = out + r * state.columns;
    const bool done =
        x.dtype == DataType::kInt32
            ? CountRow(state, x.Data<const int32_t>() + r * length, length, counts, ctx.limits())
            : CountRow(state, x.Data<const int64_t>() + r * length, length, counts, ctx.limits());
    if (!done) return ctx.limits().Check(ctx.node());
  }
  const bool weighted = !state.weights.empty();
  for (int64_t i = 0; i < total; ++i) {
    const float weight = weighted ? state.weights[i % state.columns] : 1.0f;
    if (state.mode == Mode::kIdf) {
      out[i] = out[i] > 0.0f ? weight : 0.0f;
    } else if (state.mode == Mode::kTfIdf) {
      out[i] *= weight;
    }
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kTfIdfVectorizerKernel = {OpType::TfIdfVectorizer, Prepare, Eval};

}  // namespace lwai
