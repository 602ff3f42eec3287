#include "kernels/linalg_common.h"

#include <cctype>

#include "kernels/common.h"

namespace lwai {
namespace {

// Parses one activation name (case-insensitive); alpha/beta default per function.
bool ParseActivation(std::string name, const float* alpha, const float* beta, RnnActivation* act) {
  for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  struct Entry {
    const char* name;
    RnnActivation::Kind kind;
    double alpha, beta;
  };
  static const Entry kEntries[] = {
      {"sigmoid", RnnActivation::kSigmoid, 0.0, 0.0},
      {"tanh", RnnActivation::kTanh, 0.0, 0.0},
      {"relu", RnnActivation::kRelu, 0.0, 0.0},
      {"affine", RnnActivation::kAffine, 1.0, 0.0},
      {"leakyrelu", RnnActivation::kLeakyRelu, 0.01, 0.0},
      {"thresholdedrelu", RnnActivation::kThresholdedRelu, 1.0, 0.0},
      {"scaledtanh", RnnActivation::kScaledTanh, 1.0, 1.0},
      {"hardsigmoid", RnnActivation::kHardSigmoid, 0.2, 0.5},
      {"elu", RnnActivation::kElu, 1.0, 0.0},
      {"softsign", RnnActivation::kSoftsign, 0.0, 0.0},
      {"softplus", RnnActivation::kSoftplus, 0.0, 0.0},
  };
  for (const Entry& entry : kEntries) {
    if (name == entry.name) {
      act->kind = entry.kind;
      act->alpha = alpha ? *alpha : entry.alpha;
      act->beta = beta ? *beta : entry.beta;
      return true;
    }
  }
  return false;
}

Status ExpectShape(const KernelContext& ctx, int input, const char* what, const Shape& want) {
  const Shape& got = ctx.input(input).shape;
  if (got != want) {
    return ctx.ShapeMismatch(
        LWAI_MSG(std::string(what) + " must be " + want.ToString() + ", got " + got.ToString()));
  }
  return Status::Ok();
}

}  // namespace

Status PrepareRecurrent(KernelContext& ctx, int gates,
                        const std::vector<std::string>& default_activations,
                        RecurrentConfig* config) {
  RecurrentConfig& cfg = *config;
  const Node& node = ctx.node();
  // Not ExpectInputs: Y (output 0) may be omitted.
  const int max_inputs = gates == 4 ? 8 : 6;
  if (ctx.num_inputs() < 3 || ctx.num_inputs() > max_inputs) {
    return ctx.InvalidModel(LWAI_MSG("expected 3 to " + std::to_string(max_inputs) +
                                     " inputs, got " + std::to_string(ctx.num_inputs())));
  }
  for (int i = 0; i < 3; ++i) {
    if (!ctx.has_input(i))
      return ctx.InvalidModel(LWAI_MSG("input " + std::to_string(i) + " is missing"));
  }
  const DataType dtype = ctx.input(0).dtype;
  if (dtype != DataType::kFloat32 && dtype != DataType::kFloat64) {
    return ctx.Unsupported(
        LWAI_MSG("X must be float32 or float64, got " + std::string(DataTypeName(dtype))));
  }
  cfg.gates = gates;
  cfg.layout = static_cast<int>(node.GetInt("layout", 0));
  if (cfg.layout != 0 && cfg.layout != 1) {
    return ctx.InvalidModel(LWAI_MSG("layout must be 0 or 1, got " + std::to_string(cfg.layout)));
  }
  const std::string direction = node.GetString("direction", "forward");
  if (direction == "bidirectional") {
    cfg.dirs = 2;
  } else if (direction == "reverse") {
    cfg.reverse = true;
  } else if (direction != "forward") {
    return ctx.InvalidModel(
        LWAI_MSG("direction must be forward, reverse or bidirectional, got '" + direction + "'"));
  }
  cfg.hidden = node.GetInt("hidden_size", 0);
  cfg.clip = node.GetFloat("clip", 0.0f);
  if (cfg.clip < 0.0) return ctx.InvalidModel(LWAI_MSG("clip must be positive"));

  const Shape& x = ctx.input(0).shape;
  if (x.rank != 3) return ctx.ShapeMismatch(LWAI_MSG("X must be 3-D, got " + x.ToString()));
  cfg.seq = cfg.layout == 0 ? x[0] : x[1];
  cfg.batch = cfg.layout == 0 ? x[1] : x[0];
  cfg.input = x[2];
  const Shape& w = ctx.input(1).shape;
  if (cfg.hidden <= 0 && w.rank == 3) cfg.hidden = w[1] / gates;
  if (cfg.hidden <= 0 || cfg.hidden > (int64_t{1} << 30)) {
    return ctx.InvalidModel(
        LWAI_MSG("hidden_size must be in [1, 2^30], got " + std::to_string(cfg.hidden)));
  }
  const int64_t H = cfg.hidden, D = cfg.dirs;
  for (int i = 1; i <= 5; ++i) {
    if (i != 4 && ctx.has_input(i)) LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(i, dtype));
  }
  LWAI_RETURN_IF_ERROR(ExpectShape(ctx, 1, "W", Shape({D, gates * H, cfg.input})));
  LWAI_RETURN_IF_ERROR(ExpectShape(ctx, 2, "R", Shape({D, gates * H, H})));
  if (ctx.has_input(3)) {
    LWAI_RETURN_IF_ERROR(ExpectShape(ctx, 3, "B", Shape({D, 2 * gates * H})));
  }
  if (ctx.has_input(4)) {
    LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(4, DataType::kInt32));
    LWAI_RETURN_IF_ERROR(ExpectShape(ctx, 4, "sequence_lens", Shape({cfg.batch})));
  }
  const Shape state_shape = cfg.layout == 0 ? Shape({D, cfg.batch, H}) : Shape({cfg.batch, D, H});
  if (ctx.has_input(5)) LWAI_RETURN_IF_ERROR(ExpectShape(ctx, 5, "initial_h", state_shape));

  // Activations: "activations" is a comma-separated list (the importer joins ONNX's string
  // list), either one set per direction or one set for all directions.
  const size_t per_dir = default_activations.size();
  cfg.acts_per_dir = static_cast<int>(per_dir);
  std::vector<std::string> names;
  const std::string joined = node.GetString("activations", "");
  size_t start = 0;
  while (start < joined.size()) {
    size_t comma = joined.find(',', start);
    if (comma == std::string::npos) comma = joined.size();
    names.push_back(joined.substr(start, comma - start));
    start = comma + 1;
  }
  if (names.empty()) {
    for (int64_t d = 0; d < D; ++d) {
      names.insert(names.end(), default_activations.begin(), default_activations.end());
    }
  } else if (names.size() == per_dir && D == 2) {
    names.insert(names.end(), names.begin(), names.end());
  }
  if (names.size() != per_dir * D) {
    return ctx.InvalidModel(LWAI_MSG("expected " + std::to_string(per_dir * D) +
                                     " activations, got " + std::to_string(names.size())));
  }
  const Attribute* alphas = node.FindAttribute("activation_alpha");
  const Attribute* betas = node.FindAttribute("activation_beta");
  cfg.activations.resize(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    const float* alpha = alphas && i < alphas->floats.size() ? &alphas->floats[i] : nullptr;
    const float* beta = betas && i < betas->floats.size() ? &betas->floats[i] : nullptr;
    if (!ParseActivation(names[i], alpha, beta, &cfg.activations[i])) {
      return ctx.Unsupported(LWAI_MSG("unknown activation '" + names[i] + "'"));
    }
  }

  if (ctx.has_output(0)) {
    TensorView& y = ctx.output(0);
    y.dtype = dtype;
    y.shape =
        cfg.layout == 0 ? Shape({cfg.seq, D, cfg.batch, H}) : Shape({cfg.batch, cfg.seq, D, H});
  }
  for (int i = 1; i <= (gates == 4 ? 2 : 1); ++i) {
    if (!ctx.has_output(i)) continue;
    ctx.output(i).dtype = dtype;
    ctx.output(i).shape = state_shape;
  }
  return Status::Ok();
}

Status PrepareQuantLayout(const KernelContext& ctx, int scale_input, int zp_input,
                          QuantLayout* layout) {
  QuantLayout& q = *layout;
  const Shape& x = ctx.input(0).shape;
  const Shape& scale = ctx.input(scale_input).shape;
  if (ctx.has_input(zp_input) && ctx.input(zp_input).shape != scale &&
      (scale.NumElements() != 1 || ctx.input(zp_input).NumElements() != 1)) {
    return ctx.ShapeMismatch(LWAI_MSG("zero point " + ctx.input(zp_input).shape.ToString() +
                                      " differs from scale " + scale.ToString()));
  }
  const int64_t block_size = ctx.node().GetInt("block_size", 0);
  if (block_size < 0) return ctx.InvalidModel(LWAI_MSG("block_size must be >= 0"));
  q.outer = x.NumElements();
  if (scale.NumElements() == 1 && block_size == 0) return Status::Ok();  // per tensor
  int axis = 0;
  if (!NormalizeAxis(ctx.node().GetInt("axis", 1), x.rank, &axis)) {
    return ctx.InvalidModel(LWAI_MSG("axis " + std::to_string(ctx.node().GetInt("axis", 1)) +
                                     " is out of range for " + x.ToString()));
  }
  q.outer = 1;
  for (int i = 0; i < axis; ++i) q.outer *= x[i];
  q.axis_dim = x[axis];
  q.inner = 1;
  for (int i = axis + 1; i < x.rank; ++i) q.inner *= x[i];
  if (block_size == 0) {
    if (scale.rank != 1 || scale[0] != q.axis_dim) {
      return ctx.ShapeMismatch(LWAI_MSG("per-axis scale must be [" + std::to_string(q.axis_dim) +
                                        "], got " + scale.ToString()));
    }
    q.axis_stride = 1;
    return Status::Ok();
  }
  bool ok = scale.rank == x.rank;
  for (int i = 0; ok && i < x.rank; ++i) {
    ok = i == axis ? scale[i] == (x[i] + block_size - 1) / block_size : scale[i] == x[i];
  }
  if (!ok) {
    return ctx.ShapeMismatch(LWAI_MSG("blocked scale " + scale.ToString() + " does not match x " +
                                      x.ToString() + " with block_size " +
                                      std::to_string(block_size)));
  }
  q.block = block_size;
  q.inner_stride = 1;
  q.axis_stride = q.inner;
  q.outer_stride = scale[axis] * q.inner;
  return Status::Ok();
}

Status PrepareBatchedMatMul(const KernelContext& ctx, int a_input, int b_input, BatchedMatMul* mm,
                            Shape* out) {
  const Shape& a = ctx.input(a_input).shape;
  const Shape& b = ctx.input(b_input).shape;
  if (a.rank < 1 || b.rank < 1) {
    return ctx.ShapeMismatch(LWAI_MSG("matrix operands must have rank >= 1, got " + a.ToString() +
                                      " and " + b.ToString()));
  }
  mm->m = a.rank == 1 ? 1 : a[a.rank - 2];
  mm->k = a[a.rank - 1];
  mm->n = b.rank == 1 ? 1 : b[b.rank - 1];
  if ((b.rank == 1 ? b[0] : b[b.rank - 2]) != mm->k) {
    return ctx.ShapeMismatch(
        LWAI_MSG("inner dimensions differ: " + a.ToString() + " x " + b.ToString()));
  }
  Shape a_batch, b_batch;
  a_batch.rank = a.rank > 2 ? a.rank - 2 : 0;
  b_batch.rank = b.rank > 2 ? b.rank - 2 : 0;
  for (int i = 0; i < a_batch.rank; ++i) a_batch[i] = a[i];
  for (int i = 0; i < b_batch.rank; ++i) b_batch[i] = b[i];
  if (!BroadcastShapes(a_batch, b_batch, &mm->batch).ok()) {
    return ctx.ShapeMismatch(LWAI_MSG("batch dimensions of " + a.ToString() + " and " +
                                      b.ToString() + " do not broadcast"));
  }
  BroadcastStrides(a_batch, mm->batch, mm->a_strides);
  BroadcastStrides(b_batch, mm->batch, mm->b_strides);
  for (int i = 0; i < mm->batch.rank; ++i) {
    mm->a_strides[i] *= mm->m * mm->k;
    mm->b_strides[i] *= mm->k * mm->n;
  }
  *out = mm->batch;
  if (a.rank > 1) out->dims[out->rank++] = mm->m;
  if (b.rank > 1) out->dims[out->rank++] = mm->n;
  return Status::Ok();
}

}  // namespace lwai
