// LSTM and GRU on float32 with Eigen: the input projection of every time step is one GEMM per
// direction (X W^T for all steps at once), each step one [batch, hidden] x [hidden, gates]
// product and vectorized gate math. Directions run in parallel. Cases outside the fast path
// (other activations, layout 1, sequence_lens shorter than the sequence) run the reference
// kernel, whose state this kernel keeps.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "backends/eigen/eigen_config.h"
#include "backends/eigen/eigen_kernels.h"
#include "backends/eigen/eigen_math.h"
#include "kernels/linalg_common.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace eigen {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<RowMatrix>;
using ConstMatrixMap = Eigen::Map<const RowMatrix>;
using ConstRowVector = Eigen::Map<const Eigen::RowVectorXf>;

struct RecurrentState : OpState {
  std::unique_ptr<OpState> reference;  // for runs the reference kernel does
  RecurrentConfig cfg;
  bool lstm = false;
  bool fast = false;
  bool input_forget = false;         // LSTM
  bool linear_before_reset = false;  // GRU
  int64_t floats_per_direction = 0;  // scratch per direction, after the reference's scratch
  size_t reference_scratch = 0;
};

bool DefaultActivations(const RecurrentConfig& cfg, bool lstm) {
  for (int64_t d = 0; d < cfg.dirs; ++d) {
    const RnnActivation* acts = &cfg.activations[d * cfg.acts_per_dir];
    if (acts[0].kind != RnnActivation::kSigmoid || acts[1].kind != RnnActivation::kTanh) {
      return false;
    }
    if (lstm && acts[2].kind != RnnActivation::kTanh) return false;
  }
  return true;
}

Status Prepare(KernelContext& ctx, bool lstm) {
  LWAI_RETURN_IF_ERROR(ReferenceOf(ctx).prepare(ctx));
  if (ctx.shape_only()) return Status::Ok();
  auto state = std::make_unique<RecurrentState>();
  state->reference = std::move(ctx.state_owner_);
  state->reference_scratch = ctx.scratch_bytes_;
  state->lstm = lstm;
  RecurrentConfig& cfg = state->cfg;
  // Validated by the reference prepare already; this only reads the configuration.
  if (lstm) {
    LWAI_RETURN_IF_ERROR(PrepareRecurrent(ctx, 4, {"Sigmoid", "Tanh", "Tanh"}, &cfg));
    state->input_forget = ctx.node().GetInt("input_forget", 0) != 0;
  } else {
    LWAI_RETURN_IF_ERROR(PrepareRecurrent(ctx, 3, {"Sigmoid", "Tanh"}, &cfg));
    state->linear_before_reset = ctx.node().GetInt("linear_before_reset", 0) != 0;
  }
  state->fast =
      ctx.input(0).dtype == DataType::kFloat32 && cfg.layout == 0 && DefaultActivations(cfg, lstm);
  if (state->fast) {
    const int64_t G = cfg.gates * cfg.hidden;
    // xw for every step, hr, h, c, r * h (GRU) and 1 - z or 1 - i.
    state->floats_per_direction =
        cfg.seq * cfg.batch * G + cfg.batch * G + 4 * cfg.batch * cfg.hidden + 16;
    const size_t floats = static_cast<size_t>(state->floats_per_direction * cfg.dirs);
    ctx.RequestScratch(std::max(state->reference_scratch, floats * sizeof(float)));
  }
  ctx.SetState(std::move(state));
  return Status::Ok();
}

// Runs direction d over all steps; `scratch` holds floats_per_direction floats.
void RunDirection(KernelContext& ctx, const RecurrentState& s, int64_t d, float* scratch) {
  const RecurrentConfig& cfg = s.cfg;
  const int64_t B = cfg.batch, H = cfg.hidden, I = cfg.input, T = cfg.seq;
  const int64_t G = cfg.gates * H;
  const float* x = ctx.input(0).Data<const float>();
  const float* w = ctx.input(1).Data<const float>() + d * G * I;
  const float* r = ctx.input(2).Data<const float>() + d * G * H;
  const float* bias = ctx.has_input(3) ? ctx.input(3).Data<const float>() + d * 2 * G : nullptr;
  const float* init_h = ctx.has_input(5) ? ctx.input(5).Data<const float>() : nullptr;
  const float* init_c = s.lstm && ctx.has_input(6) ? ctx.input(6).Data<const float>() : nullptr;
  const float* peephole =
      s.lstm && ctx.has_input(7) ? ctx.input(7).Data<const float>() + d * 3 * H : nullptr;
  // Each direction writes its own slices of the outputs.
  auto output = [&](int o) { return ctx.has_output(o) ? ctx.output(o).Data<float>() : nullptr; };
  float* y = output(0);
  float* y_h = output(1);
  float* y_c = s.lstm ? output(2) : nullptr;

  MatrixMap xw(scratch, T * B, G);
  MatrixMap hr(scratch + T * B * G, B, G);
  MatrixMap h(hr.data() + B * G, B, H);
  MatrixMap c(h.data() + B * H, B, H);
  MatrixMap rh(c.data() + B * H, B, H);
  // 1 - sigmoid(v) computed as sigmoid(-v): exact where the gate is near 1, where subtracting
  // from 1 in float would lose most digits.
  MatrixMap complement(rh.data() + B * H, B, H);

  // Input projection of every step, with the biases that add outside any gate product.
  // In blocks of rows, so that a deadline can stop a huge projection between them.
  const ConstMatrixMap x_rows(x, T * B, I);
  const ConstMatrixMap w_rows(w, G, I);
  constexpr int64_t kRowBlock = 256;
  for (int64_t row = 0; row < T * B; row += kRowBlock) {
    if (ctx.limits().Expired()) return;
    const int64_t rows = std::min(kRowBlock, T * B - row);
    xw.middleRows(row, rows).noalias() = x_rows.middleRows(row, rows) * w_rows.transpose();
  }
  Eigen::RowVectorXf row_bias = Eigen::RowVectorXf::Zero(G);
  Eigen::RowVectorXf recurrent_bias = Eigen::RowVectorXf::Zero(G);
  if (bias != nullptr) {
    row_bias = ConstRowVector(bias, G);
    recurrent_bias = ConstRowVector(bias + G, G);
    if (s.lstm) {
      row_bias += recurrent_bias;
    } else {
      // GRU: z and r take both biases; the h gate's recurrent bias sits inside r * (...) when
      // linear_before_reset.
      row_bias.head(2 * H) += recurrent_bias.head(2 * H);
      if (!s.linear_before_reset) row_bias.tail(H) += recurrent_bias.tail(H);
    }
  }
  xw.rowwise() += row_bias;

  for (int64_t b = 0; b < B; ++b) {
    const int64_t offset = cfg.StateOffset(d, b);
    for (int64_t j = 0; j < H; ++j) {
      h(b, j) = init_h ? init_h[offset + j] : 0.0f;
      c(b, j) = init_c ? init_c[offset + j] : 0.0f;
    }
  }
  const ConstMatrixMap rm(r, G, H);
  const bool backward = cfg.reverse || d == 1;
  const float clip = static_cast<float>(cfg.clip);
  auto clipped = [&](auto block) {
    if (clip > 0.0f) block = block.cwiseMax(-clip).cwiseMin(clip);
  };
  auto sigmoid = [](auto&& a) { return Logistic(a); };
  // A long sequence stops at the run's deadline (the executor then reports it).
  WorkMeter meter(ctx.limits());
  for (int64_t step = 0; step < T; ++step) {
    if (meter.Add(B * G * (H + 1))) return;
    const int64_t t = backward ? T - 1 - step : step;
    auto gates = xw.middleRows(t * B, B);
    if (s.lstm) {
      hr.noalias() = h * rm.transpose();
      gates += hr;
      // ONNX gate order: i, o, f, c. Peepholes add before the clip, o's with the new cell.
      auto i_pre = gates.middleCols(0, H).array();
      auto o_pre = gates.middleCols(H, H).array();
      auto f_pre = gates.middleCols(2 * H, H).array();
      auto c_pre = gates.middleCols(3 * H, H).array();
      if (peephole != nullptr) {
        const Eigen::Map<const Eigen::RowVectorXf> pi(peephole, H), pf(peephole + 2 * H, H);
        i_pre += c.array().rowwise() * pi.array();
        f_pre += c.array().rowwise() * pf.array();
        clipped(gates.middleCols(0, H));
        clipped(gates.middleCols(2 * H, 2 * H));
      } else {
        clipped(gates);
      }
      if (s.input_forget) {
        f_pre = sigmoid(-i_pre);
        i_pre = sigmoid(i_pre);
      } else {
        i_pre = sigmoid(i_pre);
        f_pre = sigmoid(f_pre);
      }
      c.array() = f_pre * c.array() + i_pre * Tanh(c_pre);
      if (peephole != nullptr) {
        const Eigen::Map<const Eigen::RowVectorXf> po(peephole + H, H);
        o_pre += c.array().rowwise() * po.array();
        clipped(gates.middleCols(H, H));
      }
      h.array() = sigmoid(o_pre) * Tanh(c.array());
    } else {
      // GRU gate order: z, r, h.
      hr.leftCols(2 * H).noalias() = h * rm.topRows(2 * H).transpose();
      gates.leftCols(2 * H) += hr.leftCols(2 * H);
      clipped(gates.leftCols(2 * H));
      auto z = gates.middleCols(0, H).array();
      auto reset = gates.middleCols(H, H).array();
      complement.array() = sigmoid(-z);
      z = sigmoid(z);
      reset = sigmoid(reset);
      auto candidate = gates.middleCols(2 * H, H);
      if (s.linear_before_reset) {
        hr.rightCols(H).noalias() = h * rm.bottomRows(H).transpose();
        hr.rightCols(H).rowwise() += recurrent_bias.tail(H);
        candidate.array() += reset * hr.rightCols(H).array();
      } else {
        rh.array() = reset * h.array();
        candidate.noalias() += rh * rm.bottomRows(H).transpose();
      }
      clipped(candidate);
      candidate.array() = Tanh(candidate.array());
      h.array() = complement.array() * candidate.array() + z * h.array();
    }
    if (y != nullptr) {
      for (int64_t b = 0; b < B; ++b) {
        std::copy(h.row(b).data(), h.row(b).data() + H, y + cfg.YOffset(t, d, b));
      }
    }
  }
  for (int64_t b = 0; b < B; ++b) {
    const int64_t offset = cfg.StateOffset(d, b);
    if (y_h) std::copy(h.row(b).data(), h.row(b).data() + H, y_h + offset);
    if (y_c) std::copy(c.row(b).data(), c.row(b).data() + H, y_c + offset);
  }
}

Status Eval(KernelContext& ctx) {
  const auto& s = *ctx.state<RecurrentState>();
  bool fast = s.fast;
  if (fast && ctx.has_input(4)) {
    // Shorter sequences need per-entry masking: the reference does it.
    const int32_t* lens = ctx.input(4).Data<const int32_t>();
    for (int64_t b = 0; b < s.cfg.batch; ++b) fast = fast && lens[b] == s.cfg.seq;
  }
  if (!fast) return EvalReference(ctx, s.reference.get());
  float* scratch = static_cast<float*>(ctx.scratch());
  ctx.thread_pool()->ParallelFor(s.cfg.dirs, 1, [&](int64_t begin, int64_t end) {
    for (int64_t d = begin; d < end; ++d) {
      RunDirection(ctx, s, d, scratch + d * s.floats_per_direction);
    }
  });
  return Status::Ok();
}

}  // namespace

Status PrepareLstm(KernelContext& ctx) { return Prepare(ctx, /*lstm=*/true); }
Status PrepareGru(KernelContext& ctx) { return Prepare(ctx, /*lstm=*/false); }
Status EvalRecurrent(KernelContext& ctx) { return Eval(ctx); }

}  // namespace eigen
}  // namespace lwai
