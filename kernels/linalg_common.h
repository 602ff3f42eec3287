// Helpers shared by the linalg group's kernels: the recurrent-network driver of RNN, GRU and
// LSTM (layouts, directions, sequence lengths, activations), and quantization rounding.
#ifndef LWAI_KERNELS_LINALG_COMMON_H_
#define LWAI_KERNELS_LINALG_COMMON_H_

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/kernel_api.h"

namespace lwai {

// One activation function of a recurrent operator, with its alpha/beta.
struct RnnActivation {
  enum Kind {
    kSigmoid,
    kTanh,
    kRelu,
    kAffine,
    kLeakyRelu,
    kThresholdedRelu,
    kScaledTanh,
    kHardSigmoid,
    kElu,
    kSoftsign,
    kSoftplus
  };
  Kind kind = kSigmoid;
  double alpha = 0.0, beta = 0.0;

  double operator()(double x) const {
    switch (kind) {
      case kSigmoid:
        return 1.0 / (1.0 + std::exp(-x));
      case kTanh:
        return std::tanh(x);
      case kRelu:
        return x > 0.0 ? x : 0.0;
      case kAffine:
        return alpha * x + beta;
      case kLeakyRelu:
        return x >= 0.0 ? x : alpha * x;
      case kThresholdedRelu:
        return x > alpha ? x : 0.0;
      case kScaledTanh:
        return alpha * std::tanh(beta * x);
      case kHardSigmoid: {
        const double v = alpha * x + beta;
        return v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v);
      }
      case kElu:
        return x >= 0.0 ? x : alpha * (std::exp(x) - 1.0);
      case kSoftsign:
        return x / (1.0 + std::fabs(x));
      case kSoftplus:
        return std::log1p(std::exp(x));
    }
    return x;
  }
};

// Shapes and attributes common to RNN, GRU and LSTM.
struct RecurrentConfig {
  int64_t seq = 0, batch = 0, input = 0, hidden = 0, dirs = 1;
  int gates = 1;         // per hidden unit: 1 (RNN), 3 (GRU), 4 (LSTM)
  int layout = 0;        // 0: [seq, batch, ...], 1: [batch, seq, ...]
  bool reverse = false;  // direction "reverse" (single direction run backwards)
  double clip = 0.0;     // 0: no clipping
  int acts_per_dir = 1;
  std::vector<RnnActivation> activations;  // dirs * acts_per_dir

  int64_t XOffset(int64_t t, int64_t b) const {
    return (layout == 0 ? t * batch + b : b * seq + t) * input;
  }
  int64_t YOffset(int64_t t, int64_t d, int64_t b) const {
    return (layout == 0 ? (t * dirs + d) * batch + b : (b * seq + t) * dirs + d) * hidden;
  }
  // Offset of initial_h / Y_h / Y_c rows.
  int64_t StateOffset(int64_t d, int64_t b) const {
    return (layout == 0 ? d * batch + b : b * dirs + d) * hidden;
  }
  double Clip(double v) const {
    if (clip <= 0.0) return v;
    return v < -clip ? -clip : (v > clip ? clip : v);
  }
  // Scratch doubles the driver needs (the cell may ask for `extra` more).
  size_t ScratchDoubles(size_t extra) const {
    return static_cast<size_t>(2 * gates * hidden + 2 * hidden) + extra;
  }
};

// Validates X, W, R, B, sequence_lens, initial_h (inputs 0..5) and the common attributes, and
// sets the shapes of Y, Y_h and (for LSTM, output 2) Y_c. `default_activations` has
// acts_per_dir names.
Status PrepareRecurrent(KernelContext& ctx, int gates,
                        const std::vector<std::string>& default_activations,
                        RecurrentConfig* config);

// Runs the recurrence. For every direction d and batch entry b it walks the valid steps and
// calls cell(d, xw, hr, h, c, tmp), where xw = W x + Wb and hr = R h + Rb (gates * hidden
// each, gate-major; the cell may overwrite them), h and c the state (hidden each) to update in
// place and tmp the cell's own scratch. Writes Y (zeros past each sequence's length), Y_h and, for
// LSTM, Y_c. Stops early once the run's deadline passes (the executor then reports it).
template <typename T, typename Cell>
void RunRecurrent(KernelContext& ctx, const RecurrentConfig& cfg, const Cell& cell) {
  const T* x = ctx.input(0).Data<const T>();
  const T* w = ctx.input(1).Data<const T>();
  const T* r = ctx.input(2).Data<const T>();
  const T* bias = ctx.has_input(3) ? ctx.input(3).Data<const T>() : nullptr;
  const int32_t* lens = ctx.has_input(4) ? ctx.input(4).Data<const int32_t>() : nullptr;
  const T* init_h = ctx.has_input(5) ? ctx.input(5).Data<const T>() : nullptr;
  const bool lstm = cfg.gates == 4;
  const T* init_c = lstm && ctx.has_input(6) ? ctx.input(6).Data<const T>() : nullptr;
  T* y = ctx.has_output(0) ? ctx.output(0).Data<T>() : nullptr;
  T* y_h = ctx.has_output(1) ? ctx.output(1).Data<T>() : nullptr;
  T* y_c = lstm && ctx.has_output(2) ? ctx.output(2).Data<T>() : nullptr;

  const int64_t H = cfg.hidden, G = cfg.gates * H, I = cfg.input;
  double* xw = static_cast<double*>(ctx.scratch());
  double* hr = xw + G;
  double* h = hr + G;
  double* c = h + H;
  double* tmp = c + H;
  if (y) {
    const int64_t count = ctx.output(0).NumElements();
    for (int64_t i = 0; i < count; ++i) y[i] = T(0);
  }
  WorkMeter meter(ctx.limits());
  for (int64_t d = 0; d < cfg.dirs; ++d) {
    const bool backward = cfg.reverse || d == 1;
    const T* wd = w + d * G * I;
    const T* rd = r + d * G * H;
    const T* wb = bias ? bias + d * 2 * G : nullptr;
    const T* rb = bias ? wb + G : nullptr;
    for (int64_t b = 0; b < cfg.batch; ++b) {
      int64_t len = lens ? lens[b] : cfg.seq;
      if (len < 0) len = 0;
      if (len > cfg.seq) len = cfg.seq;
      const int64_t state = cfg.StateOffset(d, b);
      for (int64_t j = 0; j < H; ++j) {
        h[j] = init_h ? double(init_h[state + j]) : 0.0;
        c[j] = init_c ? double(init_c[state + j]) : 0.0;
      }
      for (int64_t step = 0; step < len; ++step) {
        if (meter.Add(G * (I + H + 1))) return;
        const int64_t t = backward ? len - 1 - step : step;
        const T* xt = x + cfg.XOffset(t, b);
        for (int64_t g = 0; g < G; ++g) {
          const T* w_row = wd + g * I;
          double sum = wb ? double(wb[g]) : 0.0;
          for (int64_t k = 0; k < I; ++k) sum += double(w_row[k]) * double(xt[k]);
          xw[g] = sum;
          const T* r_row = rd + g * H;
          double rsum = rb ? double(rb[g]) : 0.0;
          for (int64_t k = 0; k < H; ++k) rsum += double(r_row[k]) * h[k];
          hr[g] = rsum;
        }
        cell(d, xw, hr, h, c, tmp);
        if (y) {
          T* yt = y + cfg.YOffset(t, d, b);
          for (int64_t j = 0; j < H; ++j) yt[j] = static_cast<T>(h[j]);
        }
      }
      for (int64_t j = 0; j < H; ++j) {
        if (y_h) y_h[state + j] = static_cast<T>(h[j]);
        if (y_c) y_c[state + j] = static_cast<T>(c[j]);
      }
    }
  }
}

// numpy matmul shapes for MatMulInteger and QLinearMatMul: 1-D operands promoted, batch
// dimensions broadcast.
struct BatchedMatMul {
  int64_t m = 0, n = 0, k = 0;
  Shape batch;
  int64_t a_strides[kMaxRank] = {};  // elements per batch index, 0 where broadcast
  int64_t b_strides[kMaxRank] = {};

  // Calls fn(batch_index, a_offset, b_offset) for every output matrix.
  template <typename Fn>
  void ForEachMatrix(const Fn& fn) const {
    const int64_t count = batch.NumElements();
    int64_t index[kMaxRank] = {};
    int64_t a_offset = 0, b_offset = 0;
    for (int64_t i = 0; i < count; ++i) {
      fn(i, a_offset, b_offset);
      for (int d = batch.rank - 1; d >= 0; --d) {
        a_offset += a_strides[d];
        b_offset += b_strides[d];
        if (++index[d] < batch[d]) break;
        a_offset -= a_strides[d] * batch[d];
        b_offset -= b_strides[d] * batch[d];
        index[d] = 0;
      }
    }
  }
};

// Fills `mm` from the shapes of inputs a_input and b_input and returns the output shape.
Status PrepareBatchedMatMul(const KernelContext& ctx, int a_input, int b_input, BatchedMatMul* mm,
                            Shape* out);

// How QuantizeLinear/DequantizeLinear map an element to its scale and zero point: x viewed
// as [outer, axis_dim, inner]; element (o, a, i) uses parameter o*outer_stride +
// (a / block)*axis_stride + i*inner_stride (all strides 0 for per-tensor parameters).
struct QuantLayout {
  int64_t outer = 1, axis_dim = 1, inner = 1, block = 1;
  int64_t outer_stride = 0, axis_stride = 0, inner_stride = 0;

  template <typename Fn>
  void ForEach(const Fn& fn) const {  // fn(element index, parameter index)
    int64_t e = 0;
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t a = 0; a < axis_dim; ++a) {
        const int64_t base = o * outer_stride + (a / block) * axis_stride;
        for (int64_t i = 0; i < inner; ++i) fn(e++, base + i * inner_stride);
      }
    }
  }
};

// Validates scale (input `scale_input`) and the optional zero point (input `zp_input`, same
// shape) against x (input 0) with the "axis" and "block_size" attributes.
Status PrepareQuantLayout(const KernelContext& ctx, int scale_input, int zp_input,
                          QuantLayout* layout);

// Rounds half to even and saturates to [lo, hi].
inline double RoundSaturate(double v, double lo, double hi) {
  v = std::nearbyint(v);
  return v < lo ? lo : (v > hi ? hi : v);
}

// Calls fn(T()) for the quantized integer types: int8, uint8, int16, uint16 (and int32 when
// allow_int32).
template <typename Fn>
bool DispatchQuantized(DataType dtype, bool allow_int32, const Fn& fn) {
  switch (dtype) {
    case DataType::kInt8:
      fn(int8_t());
      return true;
    case DataType::kUInt8:
      fn(uint8_t());
      return true;
    case DataType::kInt16:
      fn(int16_t());
      return true;
    case DataType::kUInt16:
      fn(uint16_t());
      return true;
    case DataType::kInt32:
      if (!allow_int32) return false;
      fn(int32_t());
      return true;
    default:
      return false;
  }
}

}  // namespace lwai

#endif  // LWAI_KERNELS_LINALG_COMMON_H_
