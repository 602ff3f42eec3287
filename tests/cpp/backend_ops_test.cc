// The shared backend-vs-reference harness: every built-in backend other than "reference" runs
// a table of single-operator (and tiny multi-operator) graphs on seeded random inputs, with 1
// and 2 threads, and must match the reference kernels within a per-case tolerance relative to
// the output's largest magnitude. Cases a backend does not claim still run (on the reference
// kernels) and trivially match; a backend that claims none of them fails.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kernels/pointwise_conv.h"
#include "lwai/model.h"
#include "lwai/session.h"
#include "passes/passes.h"
#include "runtime/backend.h"
#include "tests/cpp/kernel_test_util.h"
#include "tests/cpp/net_builder.h"

namespace lwai::testing {
namespace {

// --- The case table.

constexpr double kElementwiseTol = 1e-5;
constexpr double kPoolTol = 1e-5;
constexpr double kConvTol = 1e-4;  // also Winograd 3x3
constexpr double kGemmTol = 1e-4;
// Quantized kernels compute the same integers as the reference: only float rounding of the
// dequantized output may differ.
constexpr double kQuantizedTol = 1e-6;

struct OpCase {
  std::string name;
  double tolerance;
  std::function<void(Net&)> build;
};

Attrs Pads(std::vector<int64_t> pads) { return {IntsAttr("pads", std::move(pads))}; }
Attrs With(Attrs a, Attrs b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
Attrs Strides(int64_t s) { return {IntsAttr("strides", {s, s})}; }
Attrs Relu() { return {StringAttr("activation", "Relu")}; }
Attrs Clip(float lo, float hi) {
  return {StringAttr("activation", "Clip"), FloatAttr("activation_min", lo),
          FloatAttr("activation_max", hi)};
}

int Unary(Net& n, OpType op, std::vector<int64_t> dims, Attrs attrs = {}, float lo = -3.0f,
          float hi = 3.0f) {
  return n.Op(op, {n.Input(dims, lo, hi)}, attrs);
}

std::vector<OpCase> Cases() {
  std::vector<OpCase> c;
  // Convolutions.
  c.push_back({"conv3x3_pad1_bias", kConvTol, [](Net& n) {
                 n.Conv(n.Input({1, 3, 17, 19}), 3, 8, {3, 3}, Pads({1, 1, 1, 1}));
               }});
  c.push_back(
      {"conv3x3_stride2_pad1_odd_batch2", kConvTol, [](Net& n) {
         n.Conv(n.Input({2, 5, 15, 13}), 5, 7, {3, 3}, With(Pads({1, 1, 1, 1}), Strides(2)));
       }});
  c.push_back({"conv3x3_nopad_nobias", kConvTol, [](Net& n) {
                 n.Conv(n.Input({1, 6, 9, 10}), 6, 5, {3, 3}, {}, 1, false);
               }});
  c.push_back({"conv3x3_64ch_winograd_sized", kConvTol, [](Net& n) {
                 n.Conv(n.Input({1, 64, 14, 14}), 64, 64, {3, 3}, Pads({1, 1, 1, 1}));
               }});
  c.push_back({"conv3x3_32to48_odd_batch3", kConvTol, [](Net& n) {
                 n.Conv(n.Input({3, 32, 11, 9}), 32, 48, {3, 3}, Pads({1, 1, 1, 1}));
               }});
  c.push_back({"conv1x1", kConvTol, [](Net& n) {
                 n.Conv(n.Input({1, 16, 9, 11}), 16, 24, {1, 1}, {}, 1, false);
               }});
  c.push_back({"conv1x1_stride2_batch2", kConvTol, [](Net& n) {
                 n.Conv(n.Input({2, 8, 10, 10}), 8, 16, {1, 1}, Strides(2));
               }});
  c.push_back({"conv3x3_dilation2", kConvTol, [](Net& n) {
                 n.Conv(n.Input({1, 4, 16, 16}), 4, 6, {3, 3},
                        With(Pads({2, 2, 2, 2}), {IntsAttr("dilations", {2, 2})}));
               }});
  c.push_back({"conv3x5_asymmetric_pads", kConvTol, [](Net& n) {
                 n.Conv(n.Input({1, 3, 12, 14}), 3, 5, {3, 5}, Pads({1, 2, 0, 1}));
               }});
  c.push_back({"conv2x2_stride_2x1", kConvTol, [](Net& n) {
                 n.Conv(n.Input({1, 4, 9, 9}), 4, 4, {2, 2}, {IntsAttr("strides", {2, 1})});
               }});
  c.push_back(
      {"conv7x7_stride2_pad3_stem", kConvTol, [](Net& n) {
         n.Conv(n.Input({1, 3, 32, 32}), 3, 16, {7, 7}, With(Pads({3, 3, 3, 3}), Strides(2)));
       }});
  c.push_back({"conv5x5_same_upper_stride2", kConvTol, [](Net& n) {
                 n.Conv(n.Input({1, 3, 15, 15}), 3, 4, {5, 5},
                        With({StringAttr("auto_pad", "SAME_UPPER")}, Strides(2)));
               }});
  c.push_back({"conv_group2", kConvTol, [](Net& n) {
                 n.Conv(n.Input({1, 8, 10, 10}), 8, 12, {3, 3}, Pads({1, 1, 1, 1}), 2);
               }});
  c.push_back(
      {"conv_group4_stride2", kConvTol, [](Net& n) {
         n.Conv(n.Input({2, 16, 11, 11}), 16, 16, {3, 3}, With(Pads({1, 1, 1, 1}), Strides(2)), 4);
       }});
  c.push_back({"depthwise3x3_pad1", kConvTol, [](Net& n) {
                 n.Conv(n.Input({1, 16, 14, 14}), 16, 16, {3, 3}, Pads({1, 1, 1, 1}), 16);
               }});
  c.push_back(
      {"depthwise3x3_stride2_batch2_odd", kConvTol, [](Net& n) {
         n.Conv(n.Input({2, 8, 15, 15}), 8, 8, {3, 3}, With(Pads({1, 1, 1, 1}), Strides(2)), 8);
       }});
  c.push_back({"depthwise_multiplier2", kConvTol, [](Net& n) {
                 n.Conv(n.Input({1, 8, 12, 12}), 8, 16, {3, 3}, Pads({1, 1, 1, 1}), 8);
               }});
  c.push_back({"depthwise5x5_pad2_nobias", kConvTol, [](Net& n) {
                 n.Conv(n.Input({1, 12, 13, 13}), 12, 12, {5, 5}, Pads({2, 2, 2, 2}), 12, false);
               }});
  c.push_back({"depthwise3x3_dilation2", kConvTol, [](Net& n) {
                 n.Conv(n.Input({1, 8, 12, 12}), 8, 8, {3, 3},
                        With(Pads({2, 2, 2, 2}), {IntsAttr("dilations", {2, 2})}), 8);
               }});
  c.push_back({"conv_fused_relu", kConvTol, [](Net& n) {
                 n.Conv(n.Input({1, 8, 10, 10}), 8, 16, {3, 3}, With(Pads({1, 1, 1, 1}), Relu()));
               }});
  c.push_back({"conv_fused_clip06", kConvTol, [](Net& n) {
                 n.Conv(n.Input({1, 8, 10, 10}, -3.0f, 3.0f), 8, 16, {1, 1}, Clip(0.0f, 0.5f));
               }});
  c.push_back({"depthwise_fused_relu6", kConvTol, [](Net& n) {
                 n.Conv(n.Input({1, 16, 9, 9}, -4.0f, 4.0f), 16, 16, {3, 3},
                        With(Pads({1, 1, 1, 1}), Clip(0.0f, 0.6f)), 16);
               }});
  c.push_back({"conv1d", kConvTol, [](Net& n) {
                 n.Op(OpType::Conv, {n.Input({2, 4, 20}), n.Const({6, 4, 3}), n.Const({6})},
                      {IntsAttr("pads", {1, 1})});
               }});
  c.push_back(
      {"conv1d_stride2_dilation2_groups2", kConvTol, [](Net& n) {
         n.Conv(n.Input({1, 8, 37}), 8, 12, {5},
                {IntsAttr("pads", {2, 3}), IntsAttr("strides", {2}), IntsAttr("dilations", {2})},
                2);
       }});
  c.push_back({"conv3d", kConvTol, [](Net& n) {
                 n.Conv(n.Input({1, 3, 5, 6, 7}), 3, 4, {3, 3, 3}, Pads({1, 1, 1, 1, 1, 1}));
               }});
  c.push_back(
      {"lstm_forward", kGemmTol, [](Net& n) { n.Recurrent(OpType::LSTM, 5, 2, 6, 8, "forward"); }});
  c.push_back({"lstm_bidirectional_state_peepholes_clip", kGemmTol, [](Net& n) {
                 n.Recurrent(OpType::LSTM, 4, 3, 5, 7, "bidirectional", {FloatAttr("clip", 0.7f)},
                             true, true);
               }});
  c.push_back({"lstm_reverse_input_forget", kGemmTol, [](Net& n) {
                 n.Recurrent(OpType::LSTM, 6, 1, 4, 5, "reverse", {IntAttr("input_forget", 1)});
               }});
  c.push_back({"gru_bidirectional_linear_before_reset", kGemmTol, [](Net& n) {
                 n.Recurrent(OpType::GRU, 5, 2, 6, 8, "bidirectional",
                             {IntAttr("linear_before_reset", 1)}, true);
               }});
  c.push_back({"gru_forward_clip", kGemmTol, [](Net& n) {
                 n.Recurrent(OpType::GRU, 4, 1, 3, 6, "forward", {FloatAttr("clip", 0.5f)});
               }});
  c.push_back(
      {"conv_then_relu", kConvTol, [](Net& n) {
         n.Op(OpType::Relu, {n.Conv(n.Input({1, 4, 12, 12}), 4, 8, {3, 3}, Pads({1, 1, 1, 1}))});
       }});
  c.push_back({"conv_then_clip", kConvTol, [](Net& n) {
                 const int y = n.Conv(n.Input({1, 4, 12, 12}), 4, 8, {3, 3});
                 n.Op(OpType::Clip, {y, n.Scalar(-0.3f), n.Scalar(0.4f)});
               }});
  c.push_back({"add_of_two_convs", kConvTol, [](Net& n) {
                 const int x = n.Input({1, 8, 10, 10});
                 const int a = n.Conv(x, 8, 8, {3, 3}, Pads({1, 1, 1, 1}));
                 const int b = n.Conv(x, 8, 8, {1, 1});
                 n.Op(OpType::Add, {a, b});
               }});
  c.push_back({"concat_channels_of_convs", kConvTol, [](Net& n) {
                 const int x = n.Input({1, 6, 9, 9});
                 const int a = n.Conv(x, 6, 4, {1, 1}, Relu());
                 const int b = n.Conv(x, 6, 8, {3, 3}, With(Pads({1, 1, 1, 1}), Relu()));
                 n.Op(OpType::Concat, {a, b}, {IntAttr("axis", 1)});
               }});
  c.push_back({"concat_three_with_input_batch2", kConvTol, [](Net& n) {
                 const int x = n.Input({2, 4, 7, 7});
                 const int a = n.Conv(x, 4, 3, {1, 1});
                 const int b = n.Conv(x, 4, 5, {3, 3}, Pads({1, 1, 1, 1}));
                 n.Op(OpType::Concat, {a, x, b}, {IntAttr("axis", 1)});
               }});
  c.push_back({"conv_batchnorm", kConvTol, [](Net& n) {
                 const int y = n.Conv(n.Input({1, 4, 8, 8}), 4, 6, {3, 3});
                 n.Op(OpType::BatchNormalization, {y, n.Const({6}, 0.5f, 1.5f), n.Const({6}),
                                                   n.Const({6}), n.Const({6}, 0.5f, 2.0f)});
               }});
  // Quantized convolutions (float in and out through QuantizeLinear / DequantizeLinear).
  constexpr DataType kU8 = DataType::kUInt8, kS8 = DataType::kInt8;
  c.push_back({"qconv3x3_u8_per_channel_pad1", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({1, 8, 13, 11}, -2.0f, 2.0f), 8, 24, {3, 3}, kU8, kU8, true,
                         Pads({1, 1, 1, 1}));
               }});
  c.push_back({"qconv1x1_s8_to_u8_batch2_long_rows", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({2, 37, 9, 9}, -2.0f, 2.0f), 37, 19, {1, 1}, kS8, kU8, true);
               }});
  c.push_back({"qconv1x1_u8_to_s8_per_tensor_stride2", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({1, 16, 10, 10}, -2.0f, 2.0f), 16, 40, {1, 1}, kU8, kS8, false,
                         Strides(2));
               }});
  c.push_back({"qconv7x7_stride2_pad3_stem_relu", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({1, 3, 32, 30}, -2.0f, 2.0f), 3, 16, {7, 7}, kU8, kU8, true,
                         With(With(Pads({3, 3, 3, 3}), Strides(2)), Relu()));
               }});
  c.push_back({"qconv3x5_asymmetric_dilation_clip", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({1, 5, 14, 12}, -2.0f, 2.0f), 5, 9, {3, 5}, kS8, kS8, true,
                         With(With(Pads({1, 2, 0, 1}), {IntsAttr("dilations", {2, 1})}),
                              Clip(-0.5f, 1.0f)));
               }});
  c.push_back({"qconv3x3_u8_unpadded_in_place", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({1, 4, 9, 11}, -2.0f, 2.0f), 4, 8, {3, 3}, kU8, kU8, true);
               }});
  c.push_back(
      {"qconv3x3_u8_unpadded_stride2_in_place", kQuantizedTol, [=](Net& n) {
         n.QConv(n.Input({1, 5, 37, 35}, -2.0f, 2.0f), 5, 8, {3, 3}, kU8, kU8, true, Strides(2));
       }});
  c.push_back({"qdepthwise3x3_u8_pad1", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({1, 16, 12, 12}, -2.0f, 2.0f), 16, 16, {3, 3}, kU8, kU8, true,
                         Pads({1, 1, 1, 1}), 16);
               }});
  c.push_back({"qdepthwise5x5_s8_stride2_batch2", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({2, 8, 15, 13}, -2.0f, 2.0f), 8, 8, {5, 5}, kS8, kU8, true,
                         With(Pads({2, 2, 2, 2}), Strides(2)), 8);
               }});
  // Depthwise on bytes (VBMI): unequal strides (per output row), a 1-wide and an 8-wide
  // kernel, a tiny plane; dilation goes to the float path.
  c.push_back({"qdepthwise3x3_s8_stride2x1", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({1, 6, 13, 11}, -2.0f, 2.0f), 6, 6, {3, 3}, kS8, kS8, true,
                         With(Pads({1, 1, 1, 1}), {IntsAttr("strides", {2, 1})}), 6);
               }});
  c.push_back({"qdepthwise3x1_u8_stride1x2", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({1, 5, 9, 40}, -2.0f, 2.0f), 5, 5, {3, 1}, kU8, kU8, false,
                         With(Pads({1, 0, 1, 0}), {IntsAttr("strides", {1, 2})}), 5);
               }});
  c.push_back({"qdepthwise2x8_u8_tiny_plane", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({1, 40, 3, 9}, -2.0f, 2.0f), 40, 40, {2, 8}, kU8, kU8, true,
                         Pads({0, 3, 1, 4}), 40);
               }});
  // 1x1 depthwise (a per-channel affine map, ResNet v2's BatchNormalizations as ONNX Runtime
  // quantizes them): one pass per plane.
  c.push_back(
      {"qdepthwise1x1_s8_to_u8_small_planes", kQuantizedTol, [=](Net& n) {
         n.QConv(n.Input({1, 24, 7, 7}, -2.0f, 2.0f), 24, 24, {1, 1}, kS8, kU8, true, {}, 24);
       }});
  c.push_back({"qdepthwise1x1_u8_weights_zero_points_batch2", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({2, 16, 9, 13}, -2.0f, 2.0f), 16, 16, {1, 1}, kU8, kS8, true, {},
                         16, Net::QWeights::kUint8);
               }});
  c.push_back({"qdepthwise3x3_dilation2_float_path", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({1, 4, 12, 12}, -2.0f, 2.0f), 4, 4, {3, 3}, kU8, kS8, true,
                         With(Pads({2, 2, 2, 2}), {IntsAttr("dilations", {2, 2})}), 4);
               }});
  // Weights with zero points: uint8 (per tensor and per channel), int8 with nonzero ones; GEMM,
  // depthwise on bytes (W - z fits int8) and on float sums (it does not).
  using QWeights = Net::QWeights;
  c.push_back({"qconv3x3_u8_weights_per_tensor_zero_point", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({1, 8, 13, 11}, -2.0f, 2.0f), 8, 24, {3, 3}, kU8, kU8, false,
                         Pads({1, 1, 1, 1}), 1, QWeights::kUint8);
               }});
  c.push_back({"qconv1x1_u8_weights_per_channel_s8_input", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({2, 37, 9, 9}, -2.0f, 2.0f), 37, 19, {1, 1}, kS8, kU8, true, {}, 1,
                         QWeights::kUint8);
               }});
  c.push_back({"qconv3x3_s8_weights_nonzero_zero_points_stride2", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({1, 5, 37, 35}, -2.0f, 2.0f), 5, 8, {3, 3}, kU8, kS8, true,
                         Strides(2), 1, QWeights::kInt8WithZeroPoints);
               }});
  c.push_back({"qdepthwise3x3_u8_weights_per_channel", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({1, 16, 12, 12}, -2.0f, 2.0f), 16, 16, {3, 3}, kU8, kU8, true,
                         Pads({1, 1, 1, 1}), 16, QWeights::kUint8);
               }});
  c.push_back({"qdepthwise5x5_u8_weights_per_tensor_stride2", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({2, 8, 15, 13}, -2.0f, 2.0f), 8, 8, {5, 5}, kS8, kU8, false,
                         With(Pads({2, 2, 2, 2}), Strides(2)), 8, QWeights::kUint8);
               }});
  c.push_back({"qdepthwise3x3_s8_weights_nonzero_zero_points", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({1, 6, 13, 11}, -2.0f, 2.0f), 6, 6, {3, 3}, kS8, kS8, true,
                         Pads({1, 1, 1, 1}), 6, QWeights::kInt8WithZeroPoints);
               }});
  // Stride 1 without im2col (B's rows are runs through the padded image, outputs compacted):
  // 14x14 and 7x7 outputs, dilation, int8 inputs, weight zero points, groups, batches, 1-D.
  c.push_back({"qconv3x3_u8_14x14_padded_runs", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({1, 16, 14, 14}, -2.0f, 2.0f), 16, 24, {3, 3}, kU8, kU8, true,
                         Pads({1, 1, 1, 1}));
               }});
  c.push_back({"qconv3x3_s8_dilation2_weight_zero_points_padded_runs", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({1, 12, 4, 28}, -2.0f, 2.0f), 12, 40, {3, 3}, kS8, kU8, true,
                         With(Pads({2, 2, 2, 2}), {IntsAttr("dilations", {2, 2})}), 1,
                         QWeights::kInt8WithZeroPoints);
               }});
  c.push_back({"qconv3x3_grouped_batch2_relu_padded_runs", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({2, 8, 7, 7}, -2.0f, 2.0f), 8, 12, {3, 3}, kU8, kS8, true,
                         With(Pads({1, 1, 1, 1}), Relu()), 2, QWeights::kUint8);
               }});
  c.push_back({"qconv5x5_unpadded_padded_runs", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({1, 6, 11, 32}, -2.0f, 2.0f), 6, 10, {5, 5}, kU8, kU8, false);
               }});
  c.push_back(
      {"qconv1d_k3_pad1_padded_runs", kQuantizedTol, [=](Net& n) {
         n.QConv(n.Input({1, 10, 62}, -2.0f, 2.0f), 10, 14, {3}, kS8, kU8, true, Pads({1, 1}));
       }});
  // 1-D convolutions (wav2vec2's feature extractor): N x C x L as N x C x 1 x L.
  c.push_back({"qconv1d_k3_stride2_u8_weights", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({1, 12, 41}, -2.0f, 2.0f), 12, 20, {3}, kU8, kU8, true,
                         {IntsAttr("strides", {2})}, 1, QWeights::kUint8);
               }});
  c.push_back({"qconv1d_k10_stride5_one_channel", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({2, 1, 160}, -2.0f, 2.0f), 1, 16, {10}, kS8, kU8, true,
                         {IntsAttr("strides", {5})});
               }});
  c.push_back(
      {"qdepthwise1d_k5_pad2", kQuantizedTol, [=](Net& n) {
         n.QConv(n.Input({1, 8, 30}, -2.0f, 2.0f), 8, 8, {5}, kU8, kU8, true, Pads({2, 2}), 8);
       }});
  c.push_back({"qadd_u8_same_shape", kQuantizedTol, [=](Net& n) {
                 n.QBinary(OpType::QLinearAdd, n.Input({2, 8, 9, 7}, -2.0f, 2.0f),
                           n.Input({2, 8, 9, 7}, -3.0f, 3.0f), kU8);
               }});
  c.push_back({"qadd_s8_scalar_first", kQuantizedTol, [=](Net& n) {
                 n.QBinary(OpType::QLinearAdd, n.Input({1}, -2.0f, 2.0f),
                           n.Input({3, 5, 17}, -3.0f, 3.0f), kS8);
               }});
  c.push_back({"qadd_s8_same_elements_lower_rank", kQuantizedTol, [=](Net& n) {
                 n.QBinary(OpType::QLinearAdd, n.Input({1, 4, 9, 7}, -2.0f, 2.0f),
                           n.Input({4, 9, 7}, -1.0f, 1.0f), kS8);
               }});
  c.push_back({"qadd_u8_bias_row_broadcast", kQuantizedTol, [=](Net& n) {
                 n.QBinary(OpType::QLinearAdd, n.Input({1, 6, 37}, -2.0f, 2.0f),
                           n.Input({37}, -1.0f, 1.0f), kU8);
               }});
  c.push_back({"qmul_s8_row_broadcast_first", kQuantizedTol, [=](Net& n) {
                 n.QBinary(OpType::QLinearMul, n.Input({1, 1, 9}, -2.0f, 2.0f),
                           n.Input({3, 4, 9}, -2.0f, 2.0f), kS8);
               }});
  c.push_back({"qmul_u8_per_channel_lower_rank", kQuantizedTol, [=](Net& n) {
                 n.QBinary(OpType::QLinearMul, n.Input({1, 12, 33}, -2.0f, 2.0f),
                           n.Input({12, 1}, 0.0f, 1.0f), kU8);
               }});
  c.push_back({"qmul_u8_per_channel_gate", kQuantizedTol, [=](Net& n) {
                 n.QBinary(OpType::QLinearMul, n.Input({1, 16, 10, 10}, -2.0f, 2.0f),
                           n.Input({1, 16, 1, 1}, 0.0f, 1.0f), kU8);
               }});
  c.push_back({"qmul_s8_general_broadcast_falls_back", kQuantizedTol, [=](Net& n) {
                 n.QBinary(OpType::QLinearMul, n.Input({4, 1, 6}, -2.0f, 2.0f),
                           n.Input({1, 5, 6}, -2.0f, 2.0f), kS8);
               }});
  c.push_back({"qmaxpool3x3_s2_pad1_u8", kQuantizedTol, [=](Net& n) {
                 n.QMaxPool(n.Input({2, 5, 15, 14}, -3.0f, 3.0f), kU8,
                            {IntsAttr("kernel_shape", {3, 3}), IntsAttr("strides", {2, 2}),
                             IntsAttr("pads", {1, 1, 1, 1})});
               }});
  c.push_back({"qmaxpool2x2_s8_ceil", kQuantizedTol, [=](Net& n) {
                 n.QMaxPool(n.Input({1, 3, 9, 11}, -3.0f, 3.0f), kS8,
                            {IntsAttr("kernel_shape", {2, 2}), IntsAttr("strides", {2, 2}),
                             IntAttr("ceil_mode", 1)});
               }});
  c.push_back({"qmaxpool3x3_s2_wide_rows_s8_ceil", kQuantizedTol, [=](Net& n) {
                 n.QMaxPool(n.Input({1, 3, 7, 141}, -3.0f, 3.0f), kS8,
                            {IntsAttr("kernel_shape", {3, 3}), IntsAttr("strides", {2, 2}),
                             IntAttr("ceil_mode", 1)});
               }});
  c.push_back({"qmaxpool3x3_s1_dilation2_u8", kQuantizedTol, [=](Net& n) {
                 n.QMaxPool(n.Input({1, 4, 12, 10}, -3.0f, 3.0f), kU8,
                            {IntsAttr("kernel_shape", {3, 3}), IntsAttr("dilations", {2, 2}),
                             IntsAttr("pads", {2, 2, 2, 2})});
               }});
  c.push_back({"qgemm_u8_one_row_trans_b", kQuantizedTol, [=](Net& n) {
                 n.QGemm(n.Input({1, 70}, -2.0f, 2.0f), 70, 33, kU8, true);
               }});
  c.push_back({"qgemm_s8_rows_b_kn", kQuantizedTol, [=](Net& n) {
                 n.QGemm(n.Input({5, 37}, -2.0f, 2.0f), 37, 19, kS8, false);
               }});
  c.push_back({"qgemm_fused_relu", kQuantizedTol, [=](Net& n) {
                 n.QGemm(n.Input({2, 24}, -2.0f, 2.0f), 24, 16, kU8, true, 1.0f, Relu());
               }});
  c.push_back(
      {"qgemm_u8_weights_trans_b", kQuantizedTol, [=](Net& n) {
         n.QGemm(n.Input({3, 70}, -2.0f, 2.0f), 70, 33, kU8, true, 1.0f, {}, QWeights::kUint8);
       }});
  c.push_back({"qgemm_s8_weights_zero_points_b_kn", kQuantizedTol, [=](Net& n) {
                 n.QGemm(n.Input({5, 37}, -2.0f, 2.0f), 37, 19, kS8, false, 1.0f, {},
                         QWeights::kInt8WithZeroPoints);
               }});
  c.push_back({"qgemm_alpha_falls_back", kQuantizedTol, [=](Net& n) {
                 n.QGemm(n.Input({3, 16}, -2.0f, 2.0f), 16, 8, kU8, true, 0.5f);
               }});
  c.push_back({"dynamic_matmul_one_row", kQuantizedTol, [=](Net& n) {
                 n.DynamicMatMul(n.Input({1, 130}, -2.0f, 3.0f), 130, 37, kS8, true);
               }});
  c.push_back({"dynamic_matmul_rank3_many_rows", kQuantizedTol, [=](Net& n) {
                 n.DynamicMatMul(n.Input({2, 23, 64}, -1.0f, 1.0f), 64, 72, kS8, true);
               }});
  c.push_back({"dynamic_matmul_positive_input_no_bias", kQuantizedTol, [=](Net& n) {
                 n.DynamicMatMul(n.Input({3, 21}, 0.5f, 4.0f), 21, 9, kS8, false);
               }});
  c.push_back({"dynamic_matmul_s8_weight_zero_points", kQuantizedTol, [=](Net& n) {
                 n.DynamicMatMul(n.Input({4, 16}, -2.0f, 2.0f), 16, 8, kS8, true, 3);
               }});
  c.push_back({"dynamic_matmul_u8_weights", kQuantizedTol, [=](Net& n) {
                 n.DynamicMatMul(n.Input({2, 16}, -2.0f, 2.0f), 16, 8, kU8, false, 128);
               }});
  c.push_back({"qconv_group2", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({1, 8, 9, 9}, -2.0f, 2.0f), 8, 12, {3, 3}, kU8, kU8, true,
                         Pads({1, 1, 1, 1}), 2);
               }});
  c.push_back({"qconv1x1_group4_s8_batch2", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({2, 16, 5, 7}, -2.0f, 2.0f), 16, 8, {1, 1}, kS8, kU8, true, {}, 4);
               }});
  // wav2vec2's positional convolution: 1-D, grouped, long kernel, uint8 weights per tensor.
  c.push_back({"qconv1d_group4_k16_u8_weights", kQuantizedTol, [=](Net& n) {
                 n.QConv(n.Input({1, 16, 40}, -2.0f, 2.0f), 16, 12, {16}, kU8, kU8, false,
                         Pads({8, 8}), 4, QWeights::kUint8);
               }});
  // Pooling.
  c.push_back(
      {"maxpool3x3_s2_pad1", kPoolTol, [](Net& n) {
         n.Op(OpType::MaxPool, {n.Input({1, 8, 15, 15})},
              With({IntsAttr("kernel_shape", {3, 3})}, With(Pads({1, 1, 1, 1}), Strides(2))));
       }});
  c.push_back({"maxpool2x2_s2_ceil", kPoolTol, [](Net& n) {
                 n.Op(
                     OpType::MaxPool, {n.Input({2, 4, 15, 15})},
                     With({IntsAttr("kernel_shape", {2, 2}), IntAttr("ceil_mode", 1)}, Strides(2)));
               }});
  c.push_back({"maxpool3x3_s2_pad1_ceil", kPoolTol, [](Net& n) {
                 n.Op(OpType::MaxPool, {n.Input({1, 4, 14, 14})},
                      With({IntsAttr("kernel_shape", {3, 3}), IntAttr("ceil_mode", 1)},
                           With(Pads({1, 1, 1, 1}), Strides(2))));
               }});
  c.push_back({"maxpool3x3_s1_pad1", kPoolTol, [](Net& n) {
                 n.Op(OpType::MaxPool, {n.Input({1, 5, 9, 11})},
                      With({IntsAttr("kernel_shape", {3, 3})}, Pads({1, 1, 1, 1})));
               }});
  c.push_back({"avgpool3x3_s1_pad1_exclude_pad", kPoolTol, [](Net& n) {
                 n.Op(OpType::AveragePool, {n.Input({1, 8, 10, 10})},
                      With({IntsAttr("kernel_shape", {3, 3})}, Pads({1, 1, 1, 1})));
               }});
  c.push_back({"avgpool3x3_s2_pad1_include_pad", kPoolTol, [](Net& n) {
                 n.Op(OpType::AveragePool, {n.Input({2, 4, 11, 11})},
                      With({IntsAttr("kernel_shape", {3, 3}), IntAttr("count_include_pad", 1)},
                           With(Pads({1, 1, 1, 1}), Strides(2))));
               }});
  c.push_back({"avgpool2x2_s2_ceil", kPoolTol, [](Net& n) {
                 n.Op(
                     OpType::AveragePool, {n.Input({1, 5, 9, 9})},
                     With({IntsAttr("kernel_shape", {2, 2}), IntAttr("ceil_mode", 1)}, Strides(2)));
               }});
  c.push_back({"avgpool2x2_s2", kPoolTol, [](Net& n) {
                 n.Op(OpType::AveragePool, {n.Input({1, 16, 8, 8})},
                      With({IntsAttr("kernel_shape", {2, 2})}, Strides(2)));
               }});
  c.push_back(
      {"maxpool1d_k5_s2_pad2", kPoolTol, [](Net& n) {
         n.Op(OpType::MaxPool, {n.Input({2, 6, 101})},
              {IntsAttr("kernel_shape", {5}), IntsAttr("strides", {2}), IntsAttr("pads", {2, 2})});
       }});
  c.push_back({"avgpool1d_k3_ceil_include_pad", kPoolTol, [](Net& n) {
                 n.Op(OpType::AveragePool, {n.Input({1, 7, 50})},
                      {IntsAttr("kernel_shape", {3}), IntsAttr("strides", {2}),
                       IntsAttr("pads", {1, 1}), IntAttr("ceil_mode", 1),
                       IntAttr("count_include_pad", 1)});
               }});
  c.push_back({"maxpool2d_dilated", kPoolTol, [](Net& n) {
                 n.Op(OpType::MaxPool, {n.Input({1, 3, 17, 19})},
                      {IntsAttr("kernel_shape", {3, 2}), IntsAttr("dilations", {2, 3}),
                       IntsAttr("pads", {1, 2, 2, 1})});
               }});
  c.push_back({"maxpool3d_k3_s2_pad1", kPoolTol, [](Net& n) {
                 n.Op(OpType::MaxPool, {n.Input({1, 4, 9, 10, 11})},
                      {IntsAttr("kernel_shape", {3, 3, 3}), IntsAttr("strides", {2, 2, 2}),
                       IntsAttr("pads", {1, 1, 1, 1, 1, 1})});
               }});
  c.push_back({"avgpool3d_k2_exclude_pad", kPoolTol, [](Net& n) {
                 n.Op(OpType::AveragePool, {n.Input({2, 3, 6, 7, 8})},
                      {IntsAttr("kernel_shape", {2, 3, 2}), IntsAttr("pads", {1, 0, 1, 0, 1, 1})});
               }});
  c.push_back({"global_avgpool", kPoolTol, [](Net& n) {
                 n.Op(OpType::GlobalAveragePool, {n.Input({2, 16, 7, 7})});
               }});
  c.push_back({"global_maxpool", kPoolTol, [](Net& n) {
                 n.Op(OpType::GlobalMaxPool, {n.Input({1, 8, 5, 5})});
               }});
  c.push_back({"global_avgpool_flatten", kPoolTol, [](Net& n) {
                 const int p = n.Op(OpType::GlobalAveragePool, {n.Input({2, 12, 6, 6})});
                 n.Op(OpType::Flatten, {p}, {IntAttr("axis", 1)});
               }});
  c.push_back({"global_avgpool_reshape", kPoolTol, [](Net& n) {
                 const int p = n.Op(OpType::GlobalAveragePool, {n.Input({1, 20, 5, 5})});
                 n.Op(OpType::Reshape, {p, n.IntConst({2}, {1, -1})});
               }});
  // Gemm and MatMul.
  c.push_back({"gemm_classifier_transB_bias", kGemmTol, [](Net& n) {
                 n.Op(OpType::Gemm, {n.Input({1, 64}), n.Const({10, 64}), n.Const({10})},
                      {IntAttr("transB", 1)});
               }});
  c.push_back({"gemm_classifier_1x512x1000", kGemmTol, [](Net& n) {
                 n.Op(OpType::Gemm, {n.Input({2, 512}), n.Const({1000, 512}), n.Const({1000})},
                      {IntAttr("transB", 1)});
               }});
  c.push_back({"gemm_batch3_noC", kGemmTol, [](Net& n) {
                 n.Op(OpType::Gemm, {n.Input({3, 50}), n.Const({50, 17})});
               }});
  c.push_back({"gemm_transA", kGemmTol, [](Net& n) {
                 n.Op(OpType::Gemm, {n.Input({20, 6}), n.Const({20, 9}), n.Const({9})},
                      {IntAttr("transA", 1)});
               }});
  c.push_back({"gemm_transA_transB_alpha_beta_fullC", kGemmTol, [](Net& n) {
                 n.Op(OpType::Gemm, {n.Input({33, 7}), n.Const({19, 33}), n.Const({7, 19})},
                      {IntAttr("transA", 1), IntAttr("transB", 1), FloatAttr("alpha", 0.5f),
                       FloatAttr("beta", 2.0f)});
               }});
  c.push_back({"gemm_C_column", kGemmTol, [](Net& n) {
                 n.Op(OpType::Gemm, {n.Input({5, 12}), n.Const({12, 8}), n.Const({5, 1})});
               }});
  c.push_back({"gemm_C_scalar_beta0", kGemmTol, [](Net& n) {
                 n.Op(OpType::Gemm, {n.Input({4, 12}), n.Const({12, 8}), n.Const({})},
                      {FloatAttr("beta", 0.0f)});
               }});
  c.push_back({"gemm_C_input", kGemmTol, [](Net& n) {
                 n.Op(OpType::Gemm, {n.Input({6, 10}), n.Const({10, 11}), n.Input({1, 11})},
                      {FloatAttr("alpha", -1.5f)});
               }});
  c.push_back({"gemm_fused_relu", kGemmTol, [](Net& n) {
                 n.Op(OpType::Gemm, {n.Input({4, 32}), n.Const({24, 32}), n.Const({24})},
                      With({IntAttr("transB", 1)}, Relu()));
               }});
  c.push_back({"gemm_fused_clip", kGemmTol, [](Net& n) {
                 n.Op(OpType::Gemm, {n.Input({4, 32}), n.Const({32, 24}), n.Const({24})},
                      Clip(-0.5f, 0.5f));
               }});
  c.push_back({"gemm_both_inputs_dynamic", kGemmTol, [](Net& n) {
                 n.Op(OpType::Gemm, {n.Input({70, 40}), n.Input({40, 300})});
               }});
  c.push_back({"matmul_2d", kGemmTol, [](Net& n) {
                 n.Op(OpType::MatMul, {n.Input({7, 13}), n.Const({13, 9})});
               }});
  c.push_back({"matmul_3d_x_2d", kGemmTol, [](Net& n) {
                 n.Op(OpType::MatMul, {n.Input({2, 5, 16}), n.Const({16, 8})});
               }});
  c.push_back({"matmul_batched_3d", kGemmTol, [](Net& n) {
                 n.Op(OpType::MatMul, {n.Input({3, 4, 6}), n.Input({3, 6, 5})});
               }});
  c.push_back({"matmul_broadcast_batch", kGemmTol, [](Net& n) {
                 n.Op(OpType::MatMul, {n.Input({2, 1, 4, 6}), n.Input({3, 6, 5})});
               }});
  // Enough rows that the fast path packs B when running: attention scores and context, a
  // broadcast batch, a 2-D B computed by the graph, K above one K block.
  c.push_back({"matmul_attention_scores", kGemmTol, [](Net& n) {
                 n.Op(OpType::MatMul, {n.Input({2, 3, 40, 24}), n.Input({2, 3, 24, 37})});
               }});
  c.push_back({"matmul_broadcast_batch_packed", kGemmTol, [](Net& n) {
                 n.Op(OpType::MatMul, {n.Input({2, 1, 20, 33}), n.Input({3, 33, 45})});
               }});
  c.push_back({"matmul_2d_both_inputs_dynamic", kGemmTol, [](Net& n) {
                 n.Op(OpType::MatMul, {n.Input({50, 70}), n.Input({70, 19})});
               }});
  c.push_back({"matmul_attention_context_long_k", kGemmTol, [](Net& n) {
                 n.Op(OpType::MatMul, {n.Input({1, 2, 30, 600}), n.Input({1, 2, 600, 40})});
               }});
  // Attention: one block of queries, several blocks (130 and 80 queries), a mask broadcast
  // over heads and queries, grouped KV heads, the default scale.
  c.push_back({"attention_small", kGemmTol, [](Net& n) {
                 n.Op(OpType::Attention,
                      {n.Input({1, 2, 7, 16}), n.Input({1, 2, 9, 16}), n.Input({1, 2, 9, 16})},
                      {FloatAttr("scale", 0.25f)});
               }});
  c.push_back({"attention_blocks_mask", kGemmTol, [](Net& n) {
                 n.Op(OpType::Attention,
                      {n.Input({2, 3, 130, 24}), n.Input({2, 3, 37, 24}), n.Input({2, 3, 37, 20}),
                       n.Input({2, 1, 1, 37}, -4.0f, 0.0f)},
                      {FloatAttr("scale", 0.2f)});
               }});
  c.push_back({"attention_long_keys_grouped", kGemmTol, [](Net& n) {
                 n.Op(OpType::Attention, {n.Input({1, 4, 80, 32}), n.Input({1, 2, 700, 32}),
                                          n.Input({1, 2, 700, 32}), n.Input({80, 700})});
               }});
  // lwai's MatMul with a bias input and a fused activation (FuseMatMulBias/FuseActivations):
  // constant weights (bias packed with them), a B computed by the graph, a bias computed too.
  c.push_back(
      {"matmul_bias_relu_packed", kGemmTol, [](Net& n) {
         n.Op(OpType::MatMul, {n.Input({2, 5, 16}), n.Const({16, 24}), n.Const({24})}, Relu());
       }});
  c.push_back({"matmul_bias_clip_computed_b", kGemmTol, [](Net& n) {
                 n.Op(OpType::MatMul, {n.Input({20, 33}), n.Input({33, 18}), n.Const({18})},
                      Clip(-0.5f, 0.5f));
               }});
  c.push_back({"matmul_computed_bias_relu", kGemmTol, [](Net& n) {
                 n.Op(OpType::MatMul, {n.Input({3, 7}), n.Const({7, 9}), n.Input({9})}, Relu());
               }});
  c.push_back({"matmul_vector_lhs", kGemmTol, [](Net& n) {
                 n.Op(OpType::MatMul, {n.Input({24}), n.Const({24, 10})});
               }});
  c.push_back({"matmul_vector_rhs", kGemmTol, [](Net& n) {
                 n.Op(OpType::MatMul, {n.Input({3, 24}), n.Const({24})});
               }});
  c.push_back({"matmul_large_odd", kGemmTol, [](Net& n) {
                 n.Op(OpType::MatMul, {n.Input({97, 200}), n.Const({200, 131})});
               }});
  c.push_back({"matmul_256", kGemmTol, [](Net& n) {
                 n.Op(OpType::MatMul, {n.Input({256, 256}), n.Const({256, 256})});
               }});
  // Binary elementwise.
  c.push_back({"add_same_shape", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Add, {n.Input({2, 3, 5, 7}), n.Input({2, 3, 5, 7})});
               }});
  c.push_back({"add_large_same_shape", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Add, {n.Input({1, 32, 64, 64}), n.Input({1, 32, 64, 64})});
               }});
  c.push_back({"add_scalar_const", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Add, {n.Input({2, 8, 9}), n.Const({})});
               }});
  c.push_back({"add_trailing_broadcast", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Add, {n.Input({2, 3, 4, 25}), n.Const({25})});
               }});
  c.push_back({"add_per_channel", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Add, {n.Input({2, 8, 6, 6}), n.Const({8, 1, 1})});
               }});
  c.push_back({"add_both_broadcast", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Add, {n.Input({3, 1, 20}), n.Input({1, 4, 1})});
               }});
  c.push_back({"sub_same_shape", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Sub, {n.Input({4, 33}), n.Input({4, 33})});
               }});
  c.push_back({"sub_lhs_broadcast", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Sub, {n.Input({12, 1}), n.Input({3, 12, 40})});
               }});
  c.push_back({"sub_scalar_minus_tensor", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Sub, {n.Const({1}), n.Input({2, 80})});
               }});
  c.push_back({"mul_same_shape", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Mul, {n.Input({3, 7, 11}), n.Input({3, 7, 11})});
               }});
  c.push_back({"mul_scalar", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Mul, {n.Input({1, 16, 10, 10}), n.Const({1}, 0.1f, 2.0f)});
               }});
  c.push_back({"mul_per_channel", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Mul, {n.Input({1, 16, 10, 10}), n.Const({1, 16, 1, 1})});
               }});
  c.push_back(
      {"mul_4d_same_shape_after_conv", kElementwiseTol, [](Net& n) {
         const int x = n.Input({2, 6, 7, 9});
         n.Op(OpType::Mul, {n.Conv(x, 6, 8, {1, 1}), n.Conv(x, 6, 8, {3, 3}, Pads({1, 1, 1, 1}))});
       }});
  c.push_back({"squeeze_excitation_gate", kElementwiseTol, [](Net& n) {
                 const int x = n.Conv(n.Input({2, 8, 6, 6}), 8, 16, {3, 3}, Pads({1, 1, 1, 1}));
                 const int pooled = n.Op(OpType::GlobalAveragePool, {x});
                 const int gate = n.Op(OpType::Sigmoid, {n.Conv(pooled, 16, 16, {1, 1})});
                 n.Op(OpType::Mul, {x, gate});
               }});
  c.push_back({"squeeze_excitation_hard_sigmoid_gate_first", kElementwiseTol, [](Net& n) {
                 const int x = n.Conv(n.Input({2, 8, 6, 6}), 8, 16, {3, 3}, Pads({1, 1, 1, 1}));
                 const int pooled = n.Op(OpType::GlobalAveragePool, {x});
                 const int gate = n.Op(OpType::HardSigmoid, {n.Conv(pooled, 16, 16, {1, 1})},
                                       {FloatAttr("alpha", 0.2f), FloatAttr("beta", 0.5f)});
                 n.Op(OpType::Mul, {gate, x});
               }});
  c.push_back({"add_4d_broadcast_batch_and_rows", kElementwiseTol, [](Net& n) {
                 const int x = n.Conv(n.Input({3, 4, 5, 7}), 4, 6, {1, 1});
                 const int sum = n.Op(OpType::Add, {x, n.Input({1, 6, 1, 7})});
                 n.Conv(sum, 6, 5, {1, 1});
               }});
  c.push_back({"conv_leaky_relu_conv", kConvTol, [](Net& n) {
                 const int x = n.Conv(n.Input({2, 6, 8, 9}), 6, 10, {3, 3}, Pads({1, 1, 1, 1}));
                 n.Conv(n.Op(OpType::LeakyRelu, {x}, {FloatAttr("alpha", 0.1f)}), 10, 4, {1, 1});
               }});
  c.push_back({"conv_elu", kConvTol, [](Net& n) {
                 const int x = n.Conv(n.Input({1, 5, 8, 8}, -3.0f, 3.0f), 5, 9, {3, 3});
                 n.Op(OpType::Elu, {x}, {FloatAttr("alpha", 0.7f)});
               }});
  c.push_back({"conv_prelu_per_channel", kConvTol, [](Net& n) {
                 const int x = n.Conv(n.Input({2, 4, 7, 7}), 4, 12, {3, 3}, Pads({1, 1, 1, 1}));
                 n.Op(OpType::PRelu, {x, n.Const({12, 1, 1}, -0.5f, 0.5f)});
               }});
  c.push_back({"conv_prelu_one_slope", kConvTol, [](Net& n) {
                 const int x = n.Conv(n.Input({1, 4, 6, 6}), 4, 7, {1, 1});
                 n.Op(OpType::PRelu, {x, n.Const({1}, 0.1f, 0.3f)});
               }});
  c.push_back({"conv_hard_sigmoid_concat", kConvTol, [](Net& n) {
                 const int x = n.Input({1, 4, 6, 5});
                 const int a = n.Op(OpType::HardSigmoid, {n.Conv(x, 4, 3, {1, 1})});
                 const int b = n.Op(OpType::LeakyRelu, {n.Conv(x, 4, 5, {1, 1})});
                 n.Op(OpType::Concat, {a, b}, {IntAttr("axis", 1)});
               }});
  c.push_back({"conv_sub_pool_div_per_channel", kConvTol, [](Net& n) {
                 // PoolFormer's token mixer (pool(x) - x) and a division by per-channel values.
                 const int x = n.Conv(n.Input({2, 3, 8, 8}), 3, 6, {1, 1});
                 const int pooled =
                     n.Op(OpType::AveragePool, {x},
                          {IntsAttr("kernel_shape", {3, 3}), IntsAttr("pads", {1, 1, 1, 1}),
                           IntAttr("count_include_pad", 0)});
                 const int mixed = n.Op(OpType::Sub, {pooled, x});
                 const int scaled = n.Op(OpType::Div, {mixed, n.Const({6, 1, 1}, 0.5f, 2.0f)});
                 n.Conv(n.Op(OpType::Sub, {n.Const({1}), scaled}), 6, 2, {1, 1});
               }});
  c.push_back({"group_norm_4_groups", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::GroupNormalization,
                      {n.Input({2, 8, 5, 7}, -2.0f, 3.0f), n.Const({8}), n.Const({8})},
                      {IntAttr("num_groups", 4), FloatAttr("epsilon", 1e-3f)});
               }});
  c.push_back({"group_norm_one_group_audio", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::GroupNormalization,
                      {n.Input({1, 6, 5000}), n.Const({6}), n.Const({6})},
                      {IntAttr("num_groups", 1)});
               }});
  c.push_back({"conv_group_norm_conv", kConvTol, [](Net& n) {
                 const int x = n.Conv(n.Input({2, 3, 9, 10}), 3, 12, {3, 3}, Pads({1, 1, 1, 1}));
                 const int norm =
                     n.Op(OpType::GroupNormalization, {x, n.Const({12}), n.Const({12})},
                          {IntAttr("num_groups", 3)});
                 n.Conv(norm, 12, 4, {1, 1});
               }});
  c.push_back({"conv_group_norm_large_map", kConvTol, [](Net& n) {
                 // Several chunks per image in NHWC (16384 values per partial sum).
                 const int x = n.Conv(n.Input({1, 2, 60, 70}), 2, 8, {1, 1});
                 n.Op(OpType::GroupNormalization, {x, n.Const({8}), n.Const({8})},
                      {IntAttr("num_groups", 2)});
               }});
  c.push_back({"instance_norm_planes", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::InstanceNormalization,
                      {n.Input({2, 3, 5, 7}, -2.0f, 3.0f), n.Const({3}), n.Const({3})},
                      {FloatAttr("epsilon", 1e-3f)});
               }});
  c.push_back(
      {"instance_norm_audio_frames", kElementwiseTol, [](Net& n) {
         n.Op(OpType::InstanceNormalization, {n.Input({1, 8, 3000}), n.Const({8}), n.Const({8})});
       }});
  c.push_back({"conv_scale_shift_conv", kConvTol, [](Net& n) {
                 const int x = n.Conv(n.Input({1, 4, 7, 7}), 4, 6, {3, 3}, Pads({1, 1, 1, 1}));
                 const int scaled = n.Op(OpType::Mul, {n.Const({1}), x});
                 const int shifted = n.Op(OpType::Add, {scaled, n.Const({6, 1, 1})});
                 n.Conv(n.Op(OpType::Mul, {shifted, n.Const({1, 6, 1, 1})}), 6, 5, {1, 1});
               }});
  c.push_back({"conv_hardswish_conv", kConvTol, [](Net& n) {
                 const int x =
                     n.Conv(n.Input({1, 8, 9, 9}, -4.0f, 4.0f), 8, 16, {3, 3}, Pads({1, 1, 1, 1}));
                 n.Conv(n.Op(OpType::HardSwish, {x}), 16, 8, {1, 1});
               }});
  c.push_back({"div_broadcast", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Div, {n.Input({2, 6, 40}), n.Input({6, 1}, 0.5f, 2.0f)});
               }});
  c.push_back({"div_same_shape", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Div, {n.Input({5, 50}), n.Input({5, 50}, 0.5f, 2.0f)});
               }});
  // Unary elementwise.
  c.push_back({"relu", kElementwiseTol, [](Net& n) { Unary(n, OpType::Relu, {2, 8, 9, 9}); }});
  c.push_back({"relu_large", kElementwiseTol, [](Net& n) {
                 Unary(n, OpType::Relu, {1, 32, 56, 56});
               }});
  c.push_back(
      {"clip_min_max", kElementwiseTol, [](Net& n) {
         n.Op(OpType::Clip, {n.Input({3, 100}, -3.0f, 3.0f), n.Scalar(0.0f), n.Scalar(1.0f)});
       }});
  c.push_back({"clip_min_only", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Clip, {n.Input({3, 100}, -3.0f, 3.0f), n.Scalar(-0.5f)});
               }});
  c.push_back({"clip_max_only", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Clip, {n.Input({3, 100}, -3.0f, 3.0f), -1, n.Scalar(0.5f)});
               }});
  c.push_back({"erf", kElementwiseTol, [](Net& n) {
                 Unary(n, OpType::Erf, {3, 1000}, {}, -5.0f, 5.0f);
               }});
  c.push_back({"gelu", kElementwiseTol, [](Net& n) {
                 Unary(n, OpType::Gelu, {3, 1000}, {}, -6.0f, 6.0f);
               }});
  c.push_back(
      {"gelu_tanh", kElementwiseTol, [](Net& n) {
         Unary(n, OpType::Gelu, {3, 1000}, {StringAttr("approximate", "tanh")}, -6.0f, 6.0f);
       }});
  c.push_back({"hard_sigmoid", kElementwiseTol, [](Net& n) {
                 Unary(n, OpType::HardSigmoid, {3, 1000},
                       {FloatAttr("alpha", 0.25f), FloatAttr("beta", 0.4f)}, -6.0f, 6.0f);
               }});
  c.push_back({"softplus", kElementwiseTol, [](Net& n) {
                 Unary(n, OpType::Softplus, {3, 1000}, {}, -60.0f, 60.0f);
               }});
  c.push_back({"mish", kElementwiseTol, [](Net& n) {
                 Unary(n, OpType::Mish, {3, 1000}, {}, -30.0f, 30.0f);
               }});
  c.push_back({"softmax_3d_last_axis", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Softmax, {n.Input({2, 5, 37}, -8.0f, 8.0f)});
               }});
  c.push_back({"softmax_middle_axis", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Softmax, {n.Input({2, 5, 7})}, {IntAttr("axis", 1)});
               }});
  // YOLOv8's distribution focal loss head: 16 bins over 4 x 8400 boxes (here 4 x 300: several
  // blocks of inner positions and a partial one).
  c.push_back(
      {"softmax_bins_axis1", kElementwiseTol, [](Net& n) {
         n.Op(OpType::Softmax, {n.Input({2, 16, 4, 300}, -8.0f, 8.0f)}, {IntAttr("axis", 1)});
       }});
  c.push_back({"layernorm_last_axis", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::LayerNormalization,
                      {n.Input({2, 6, 64}, -3.0f, 5.0f), n.Const({64}), n.Const({64})});
               }});
  c.push_back({"layernorm_two_axes_no_bias", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::LayerNormalization, {n.Input({3, 4, 20}), n.Const({4, 20})},
                      {IntAttr("axis", 1), FloatAttr("epsilon", 1e-3f)});
               }});
  c.push_back({"conv_transpose_2x2_stride2", kConvTol, [](Net& n) {
                 n.Op(OpType::ConvTranspose,
                      {n.Input({1, 8, 5, 6}), n.Const({8, 4, 2, 2}, -0.3f, 0.3f), n.Const({4})},
                      {IntsAttr("strides", {2, 2})});
               }});
  c.push_back({"conv_transpose_3x3_stride2_pad1_outpad1_group2", kConvTol, [](Net& n) {
                 n.Op(OpType::ConvTranspose,
                      {n.Input({2, 6, 4, 5}), n.Const({6, 3, 3, 3}, -0.3f, 0.3f)},
                      {IntsAttr("strides", {2, 2}), IntsAttr("pads", {1, 1, 1, 1}),
                       IntsAttr("output_padding", {1, 1}), IntAttr("group", 2)});
               }});
  c.push_back({"conv_then_conv_transpose_then_conv", kConvTol, [](Net& n) {
                 const int x = n.Conv(n.Input({1, 4, 6, 6}), 4, 8, {3, 3}, Pads({1, 1, 1, 1}));
                 const int up = n.Op(OpType::ConvTranspose,
                                     {x, n.Const({8, 8, 2, 2}, -0.3f, 0.3f), n.Const({8})},
                                     {IntsAttr("strides", {2, 2})});
                 n.Conv(up, 8, 4, {1, 1});
               }});
  c.push_back({"resize_nearest_2x", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Resize, {n.Input({1, 5, 6, 7}), -1, n.FloatConst({4}, {1, 1, 2, 2})});
               }});
  c.push_back({"resize_linear_half_pixel_sizes", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Resize,
                      {n.Input({2, 3, 5, 8}), -1, -1, n.IntConst({4}, {2, 3, 13, 11})},
                      {StringAttr("mode", "linear")});
               }});
  c.push_back({"resize_linear_align_corners_down", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Resize,
                      {n.Input({1, 4, 9, 10}), -1, -1, n.IntConst({4}, {1, 4, 4, 6})},
                      {StringAttr("mode", "linear"),
                       StringAttr("coordinate_transformation_mode", "align_corners")});
               }});
  c.push_back({"resize_nearest_asymmetric_floor_3d", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Resize, {n.Input({2, 3, 7}), -1, n.FloatConst({3}, {1, 1, 2.5f})},
                      {StringAttr("coordinate_transformation_mode", "asymmetric"),
                       StringAttr("nearest_mode", "floor")});
               }});
  // Resizes between convolutions run inside an NHWC partition (FPN and YOLO upsampling).
  c.push_back({"conv_resize_nearest_2x_add", kConvTol, [](Net& n) {
                 const int x = n.Input({2, 4, 6, 5});
                 const int small = n.Conv(x, 4, 6, {3, 3}, With(Pads({1, 1, 1, 1}), Strides(2)));
                 const int up = n.Op(OpType::Resize, {small, -1, n.FloatConst({4}, {1, 1, 2, 2})},
                                     {StringAttr("coordinate_transformation_mode", "asymmetric"),
                                      StringAttr("nearest_mode", "floor")});
                 const int lateral = n.Conv(n.Input({2, 4, 6, 6}), 4, 6, {1, 1});
                 n.Conv(n.Op(OpType::Add, {up, lateral}), 6, 3, {1, 1});
               }});
  c.push_back({"conv_resize_linear_sizes_conv", kConvTol, [](Net& n) {
                 const int x = n.Conv(n.Input({1, 3, 5, 8}), 3, 7, {1, 1});
                 const int up = n.Op(OpType::Resize, {x, -1, -1, n.IntConst({4}, {1, 7, 13, 11})},
                                     {StringAttr("mode", "linear")});
                 n.Conv(up, 7, 2, {1, 1});
               }});
  c.push_back({"conv_resize_linear_align_corners_down_concat", kConvTol, [](Net& n) {
                 const int x = n.Input({1, 4, 9, 10});
                 const int down =
                     n.Op(OpType::Resize,
                          {n.Conv(x, 4, 5, {1, 1}), -1, -1, n.IntConst({4}, {1, 5, 4, 4})},
                          {StringAttr("mode", "linear"),
                           StringAttr("coordinate_transformation_mode", "align_corners")});
                 const int side = n.Conv(x, 4, 3, {3, 3}, {IntsAttr("strides", {2, 2})});
                 n.Op(OpType::Concat, {down, side}, {IntAttr("axis", 1)});
               }});
  c.push_back({"conv_resize_channels_and_rows_linear", kConvTol, [](Net& n) {
                 // Resamples the channel axis too: the partition's value-by-value path.
                 const int x = n.Conv(n.Input({2, 3, 5, 6}), 3, 4, {1, 1});
                 const int up = n.Op(OpType::Resize, {x, -1, n.FloatConst({4}, {1, 1.5f, 2, 1})},
                                     {StringAttr("mode", "linear")});
                 n.Conv(up, 6, 2, {1, 1});
               }});
  c.push_back({"conv_resize_batch_nearest", kConvTol, [](Net& n) {
                 const int x = n.Conv(n.Input({1, 3, 4, 4}), 3, 5, {1, 1});
                 n.Op(OpType::Resize, {x, -1, n.FloatConst({4}, {2, 1, 0.5f, 2})});
               }});
  // TFLite's residual blocks pad channels (and strided convolutions pad rows) between
  // convolutions: inside an NHWC partition, with a value, into a Concat's channel slice.
  c.push_back(
      {"conv_pad_channels_add", kConvTol, [](Net& n) {
         const int x = n.Input({2, 4, 6, 5});
         const int narrow = n.Conv(x, 4, 3, {1, 1});
         const int padded = n.Op(OpType::Pad, {narrow, n.IntConst({8}, {0, 2, 0, 0, 0, 1, 0, 0})});
         n.Op(OpType::Add, {padded, n.Conv(x, 4, 6, {3, 3}, Pads({1, 1, 1, 1}))});
       }});
  c.push_back({"conv_pad_rows_value_conv_concat", kConvTol, [](Net& n) {
                 const int x = n.Conv(n.Input({1, 3, 7, 6}), 3, 5, {1, 1});
                 const int padded = n.Op(OpType::Pad, {x, n.IntConst({8}, {0, 1, 2, 0, 0, 0, 1, 3}),
                                                       n.FloatConst({}, {0.75f})});
                 const int down = n.Conv(padded, 6, 4, {3, 3}, {IntsAttr("strides", {2, 2})});
                 const int side = n.Conv(n.Input({1, 3, 4, 4}), 3, 2, {1, 1});
                 n.Op(OpType::Concat, {down, side}, {IntAttr("axis", 1)});
               }});
  // A TFLite image input: NHWC turned NCHW by a Transpose that the partition runs as a copy
  // into NHWC storage (also when the NCHW tensor is read outside, or is a graph output).
  c.push_back({"input_nhwc_transpose_conv", kConvTol, [](Net& n) {
                 const int x = n.Op(OpType::Transpose, {n.Input({2, 6, 5, 4})},
                                    {IntsAttr("perm", {0, 3, 1, 2})});
                 n.Conv(x, 4, 3, {3, 3}, Pads({1, 1, 1, 1}));
               }});
  c.push_back({"input_nhwc_transpose_read_outside", kConvTol, [](Net& n) {
                 const int x = n.Op(OpType::Transpose, {n.Input({1, 7, 6, 5})},
                                    {IntsAttr("perm", {0, 3, 1, 2})});
                 n.Output(n.Conv(x, 5, 4, {1, 1}));
                 n.Output(n.Op(OpType::Neg, {x}));
                 n.Output(x);
               }});
  // Sub-pixel upsampling between convolutions (MediaPipe's pose detector), both channel orders.
  c.push_back({"conv_depth_to_space_dcr_conv", kConvTol, [](Net& n) {
                 const int x = n.Conv(n.Input({2, 3, 5, 4}), 3, 12, {1, 1});
                 const int up = n.Op(OpType::DepthToSpace, {x}, {IntAttr("blocksize", 2)});
                 n.Conv(up, 3, 4, {3, 3}, Pads({1, 1, 1, 1}));
               }});
  c.push_back(
      {"conv_depth_to_space_crd_block3", kConvTol, [](Net& n) {
         const int x = n.Conv(n.Input({1, 4, 3, 5}), 4, 18, {3, 3}, Pads({1, 1, 1, 1}));
         n.Op(OpType::DepthToSpace, {x}, {IntAttr("blocksize", 3), StringAttr("mode", "CRD")});
       }});
  c.push_back({"resize_cubic", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Resize, {n.Input({1, 2, 5, 5}), -1, n.FloatConst({4}, {1, 1, 2, 2})},
                      {StringAttr("mode", "cubic")});
               }});
  c.push_back({"swish", kElementwiseTol, [](Net& n) {
                 Unary(n, OpType::Swish, {3, 1000}, {}, -30.0f, 30.0f);
               }});
  c.push_back({"conv_silu_conv", kConvTol, [](Net& n) {
                 const int x =
                     n.Conv(n.Input({1, 8, 9, 9}, -4.0f, 4.0f), 8, 24, {3, 3}, Pads({1, 1, 1, 1}));
                 n.Conv(n.Op(OpType::Swish, {x}), 24, 8, {1, 1});
               }});
  c.push_back({"hardswish", kElementwiseTol, [](Net& n) {
                 Unary(n, OpType::HardSwish, {2, 5, 6, 7}, {}, -5.0f, 5.0f);
               }});
  c.push_back({"sigmoid", kElementwiseTol, [](Net& n) {
                 Unary(n, OpType::Sigmoid, {4, 257}, {}, -12.0f, 12.0f);
               }});
  c.push_back({"tanh", kElementwiseTol, [](Net& n) {
                 Unary(n, OpType::Tanh, {4, 257}, {}, -6.0f, 6.0f);
               }});
  c.push_back({"exp", kElementwiseTol, [](Net& n) {
                 Unary(n, OpType::Exp, {3, 129}, {}, -10.0f, 5.0f);
               }});
  c.push_back({"sqrt", kElementwiseTol, [](Net& n) {
                 Unary(n, OpType::Sqrt, {3, 129}, {}, 0.0f, 10.0f);
               }});
  c.push_back({"neg", kElementwiseTol, [](Net& n) { Unary(n, OpType::Neg, {7, 31}); }});
  c.push_back({"abs", kElementwiseTol, [](Net& n) { Unary(n, OpType::Abs, {7, 31}); }});
  c.push_back({"leaky_relu", kElementwiseTol, [](Net& n) {
                 Unary(n, OpType::LeakyRelu, {2, 4, 9, 9}, {FloatAttr("alpha", 0.2f)});
               }});
  // Softmax and layout operators.
  c.push_back({"softmax_last_axis", kElementwiseTol, [](Net& n) {
                 Unary(n, OpType::Softmax, {3, 1000}, {}, -8.0f, 8.0f);
               }});
  c.push_back({"softmax_axis1", kElementwiseTol, [](Net& n) {
                 Unary(n, OpType::Softmax, {2, 5, 3}, {IntAttr("axis", 1)});
               }});
  c.push_back({"transpose_nchw_to_nhwc", kElementwiseTol, [](Net& n) {
                 n.Op(OpType::Transpose, {n.Input({2, 3, 4, 5})}, {IntsAttr("perm", {0, 2, 3, 1})});
               }});
  c.push_back(
      {"pad_constant", kElementwiseTol, [](Net& n) {
         n.Op(OpType::Pad, {n.Input({1, 3, 5, 5}), n.IntConst({8}, {0, 0, 1, 2, 0, 0, 2, 1})});
       }});
  // Tiny networks.
  c.push_back({"gap_flatten_gemm_softmax", kGemmTol, [](Net& n) {
                 const int x = n.Input({2, 16, 5, 5});
                 const int p = n.Op(OpType::GlobalAveragePool, {x});
                 const int f = n.Op(OpType::Flatten, {p}, {IntAttr("axis", 1)});
                 const int g = n.Op(OpType::Gemm, {f, n.Const({10, 16}), n.Const({10})},
                                    {IntAttr("transB", 1)});
                 n.Op(OpType::Softmax, {g}, {IntAttr("axis", 1)});
               }});
  c.push_back({"conv_relu_maxpool_conv", kConvTol, [](Net& n) {
                 const int x = n.Input({1, 3, 20, 20});
                 const int a = n.Conv(x, 3, 8, {3, 3}, With(Pads({1, 1, 1, 1}), Relu()));
                 const int p = n.Op(OpType::MaxPool, {a},
                                    With({IntsAttr("kernel_shape", {2, 2})}, Strides(2)));
                 n.Conv(p, 8, 8, {3, 3}, Pads({1, 1, 1, 1}), 8);
               }});
  return c;
}

// --- Running.

std::vector<std::string> NonReferenceBackends() {
  std::vector<std::string> names;
  for (const std::string& name : AvailableBackends()) {
    if (name != "reference") names.push_back(name);
  }
  return names;
}

struct Inputs {
  std::vector<std::vector<float>> data;
  std::vector<TensorRef> refs;
};

Inputs MakeInputs(const Model& model, const std::vector<std::pair<float, float>>& ranges,
                  uint32_t seed) {
  Inputs inputs;
  std::mt19937 rng(seed);
  const Graph& graph = model.graph();
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    const Shape shape = graph.tensors[graph.inputs[i]].StaticShape();
    std::uniform_real_distribution<float> dist(ranges[i].first, ranges[i].second);
    std::vector<float> values(shape.NumElements());
    for (float& v : values) v = dist(rng);
    inputs.data.push_back(std::move(values));
  }
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    inputs.refs.push_back(TensorRef{
        DataType::kFloat32, graph.tensors[graph.inputs[i]].StaticShape(), inputs.data[i].data()});
  }
  return inputs;
}

struct Outputs {
  std::vector<Shape> shapes;
  std::vector<std::vector<float>> values;
};

// Runs `model` on `backend` (reference last); on success fills *out and, when `claimed` is
// given, whether `backend` runs any node that prepare did not fold, and in `kernels` each node it
// claimed with the kernel it runs ("reference fallback" where it runs the reference after all).
Status RunModel(const std::shared_ptr<Model>& model, const std::string& backend, int threads,
                const Inputs& inputs, Outputs* out, bool* claimed = nullptr,
                std::vector<std::string>* kernels = nullptr) {
  SessionOptions options;
  options.threads = threads;
  options.backends = {backend};
  LWAI_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Create(model, options));
  LWAI_RETURN_IF_ERROR(session->Run(inputs.refs));
  // A second run must give the same result (state and scratch survive between runs).
  LWAI_RETURN_IF_ERROR(session->Run(inputs.refs));
  for (size_t o = 0; o < session->outputs().size(); ++o) {
    const TensorRef ref = session->output(static_cast<int>(o));
    if (ref.dtype != DataType::kFloat32) return Internal("output is not float32");
    const float* p = static_cast<const float*>(ref.data);
    out->shapes.push_back(ref.shape);
    out->values.emplace_back(p, p + ref.shape.NumElements());
  }
  if (claimed != nullptr) {
    *claimed = false;
    const std::string name = session->backend_names()[0];  // a plugin's, not its path
    const std::vector<Session::NodeAssignment> assignments = session->node_assignments();
    for (size_t n = 0; n < assignments.size(); ++n) {
      const Session::NodeAssignment& a = assignments[n];
      if (a.backend != name || a.folded) continue;
      *claimed = true;
      if (kernels != nullptr) {
        kernels->push_back("node " + std::to_string(n) + " (" +
                           OpTypeName(model->graph().nodes[n].op) + "): " + a.kernel);
      }
    }
  }
  return Status::Ok();
}

// Max |got - want| must be within tolerance * max |want| (a floor of 1e-3 for all-zero outputs).
void ExpectClose(const Outputs& got, const Outputs& want, double tolerance) {
  ASSERT_EQ(got.values.size(), want.values.size());
  for (size_t o = 0; o < want.values.size(); ++o) {
    ASSERT_EQ(got.shapes[o], want.shapes[o]) << "output " << o;
    double scale = 1e-3, max_diff = 0.0;
    size_t worst = 0;
    for (float v : want.values[o]) scale = std::max(scale, std::fabs(static_cast<double>(v)));
    for (size_t i = 0; i < want.values[o].size(); ++i) {
      const double diff = std::fabs(static_cast<double>(got.values[o][i]) - want.values[o][i]);
      if (!(diff <= max_diff)) {  // also catches NaN
        max_diff = std::isnan(diff) ? INFINITY : diff;
        worst = i;
      }
    }
    EXPECT_LE(max_diff, tolerance * scale)
        << "output " << o << ": element " << worst << " is " << got.values[o][worst]
        << ", reference " << want.values[o][worst] << " (max |reference| " << scale << ")";
  }
}

// Builds `op_case` with `seed` and its seeded random inputs.
Result<std::shared_ptr<Model>> BuildCase(const OpCase& op_case, uint32_t seed, Inputs* inputs) {
  Net net(seed);
  op_case.build(net);
  const auto ranges = net.ranges();
  LWAI_ASSIGN_OR_RETURN(std::shared_ptr<Model> model, net.Build());
  *inputs = MakeInputs(*model, ranges, seed * 7);
  return model;
}

class BackendOps : public ::testing::TestWithParam<std::string> {};

TEST_P(BackendOps, MatchReference) {
  const std::string backend = GetParam();
  const std::vector<OpCase> cases = Cases();
  std::vector<std::string> claimed, unclaimed;
  uint32_t seed = 1000;
  for (const OpCase& op_case : cases) {
    SCOPED_TRACE("backend " + backend + ", case " + op_case.name);
    ++seed;
    Inputs inputs;
    auto model = BuildCase(op_case, seed, &inputs);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    Outputs want;
    Status status = RunModel(*model, "reference", 1, inputs, &want);
    ASSERT_TRUE(status.ok()) << "reference: " << status.ToString();
    bool any_claim = false;
    for (int threads : {1, 2}) {
      Outputs got;
      bool case_claimed = false;
      std::vector<std::string> kernels, fallbacks;
      status = RunModel(*model, backend, threads, inputs, &got, &case_claimed, &kernels);
      ASSERT_TRUE(status.ok()) << "threads " << threads << ": " << status.ToString();
      SCOPED_TRACE("threads " + std::to_string(threads));
      ExpectClose(got, want, op_case.tolerance);
      for (const std::string& kernel : kernels) {
        if (kernel.find("reference fallback") != std::string::npos) fallbacks.push_back(kernel);
      }
      // Cases named for an int8 kernel variant run it.
      if (backend == "int8" && op_case.name.find("padded_runs") != std::string::npos) {
        EXPECT_TRUE(std::any_of(kernels.begin(), kernels.end(), [](const std::string& k) {
          return k.find("padded runs") != std::string::npos;
        })) << "no node runs on padded runs";
      }
      // XNNPACK partitions take DepthToSpace.
      if (backend == "xnnpack" && op_case.name.find("depth_to_space") != std::string::npos) {
        EXPECT_TRUE(std::any_of(kernels.begin(), kernels.end(), [](const std::string& k) {
          return k.find("(DepthToSpace): lwai nhwc depth to space") != std::string::npos;
        })) << "DepthToSpace is not in the partition";
      }
      // XNNPACK partitions take a graph input's NHWC -> NCHW transpose (as a copy).
      if (backend == "xnnpack" && op_case.name.rfind("input_nhwc", 0) == 0) {
        EXPECT_TRUE(std::any_of(kernels.begin(), kernels.end(), [](const std::string& k) {
          return k.find("(Transpose): lwai nhwc copy") != std::string::npos;
        })) << "the Transpose is not in the partition";
      }
      // Only cases named for it may fall back inside a claimed node, and the int8 backend's
      // do (node assignments say so).
      if (op_case.name.find("fall") == std::string::npos) {
        for (const std::string& node : fallbacks) ADD_FAILURE() << node << " fell back";
      } else if (backend == "int8") {
        EXPECT_FALSE(fallbacks.empty()) << "no node reports its reference fallback";
      }
      any_claim = any_claim || case_claimed;
    }
    (any_claim ? claimed : unclaimed).push_back(op_case.name);
  }
  std::string claimed_list;
  for (const std::string& name : claimed) claimed_list += " " + name;
  std::printf("[backend %s] claimed %zu of %zu cases:%s\n", backend.c_str(), claimed.size(),
              cases.size(), claimed_list.c_str());
  EXPECT_GT(claimed.size(), 0u) << "backend " << backend << " claimed none of the cases";
}

// Compares outputs on inputs with NaN and infinities: NaN where the reference has NaN, an
// infinity of the same sign (or NaN, where a transform such as Winograd's mixes an infinity
// with its neighbours: inf - inf) where it has one, and finite, close values elsewhere.
void ExpectSameNonFinite(const Outputs& got, const Outputs& want, double tolerance) {
  ASSERT_EQ(got.values.size(), want.values.size());
  for (size_t o = 0; o < want.values.size(); ++o) {
    ASSERT_EQ(got.shapes[o], want.shapes[o]) << "output " << o;
    double scale = 1e-3;
    for (float v : want.values[o]) {
      if (std::isfinite(v)) scale = std::max(scale, std::fabs(static_cast<double>(v)));
    }
    int reported = 0;
    for (size_t i = 0; i < want.values[o].size() && reported < 3; ++i) {
      const float w = want.values[o][i], g = got.values[o][i];
      bool ok;
      if (std::isnan(w)) {
        ok = std::isnan(g);
      } else if (std::isinf(w)) {
        ok = std::isnan(g) || g == w;
      } else {
        ok = std::isfinite(g) && std::fabs(static_cast<double>(g) - w) <= tolerance * scale;
      }
      if (!ok) {
        ++reported;
        ADD_FAILURE() << "output " << o << ": element " << i << " is " << g << ", reference " << w;
      }
    }
  }
}

// Every case again with a NaN, a +inf and a -inf in each input: backends must propagate them
// as the reference kernels (and ONNX Runtime) do, not clamp them into confident numbers.
TEST_P(BackendOps, NonFiniteInputsMatchReference) {
  const std::string backend = GetParam();
  uint32_t seed = 5000;
  for (const OpCase& op_case : Cases()) {
    SCOPED_TRACE("backend " + backend + ", case " + op_case.name);
    ++seed;
    Inputs inputs;
    auto model = BuildCase(op_case, seed, &inputs);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    for (std::vector<float>& values : inputs.data) {
      const size_t n = values.size();
      values[n / 3] = NAN;
      if (n > 2) values[n / 2 + 1] = INFINITY;
      if (n > 4) values[n - 2] = -INFINITY;
    }
    Outputs want;
    Status status = RunModel(*model, "reference", 1, inputs, &want);
    ASSERT_TRUE(status.ok()) << "reference: " << status.ToString();
    Outputs got;
    status = RunModel(*model, backend, 1, inputs, &got);
    ASSERT_TRUE(status.ok()) << status.ToString();
    ExpectSameNonFinite(got, want, op_case.tolerance);
  }
}

// Attention's portable path (Eigen products, where the CPU lacks AVX-512) on the same cases.
TEST(BackendOpsPortable, AttentionMatchesReference) {
  const std::vector<std::string> backends = AvailableBackends();
  if (std::find(backends.begin(), backends.end(), "eigen") == backends.end()) {
    GTEST_SKIP() << "built without the Eigen backend";
  }
  pointwise_internal::SetForcePortableForTesting(true);
  uint32_t seed = 300;
  for (const OpCase& op_case : Cases()) {
    if (op_case.name.rfind("attention", 0) != 0) continue;
    SCOPED_TRACE(op_case.name);
    Inputs inputs;
    auto model = BuildCase(op_case, ++seed, &inputs);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    Outputs want, got;
    ASSERT_TRUE(RunModel(*model, "reference", 1, inputs, &want).ok());
    bool claimed = false;
    const Status status = RunModel(*model, "eigen", 2, inputs, &got, &claimed);
    ASSERT_TRUE(status.ok()) << status.ToString();
    EXPECT_TRUE(claimed);
    ExpectClose(got, want, op_case.tolerance);
  }
  pointwise_internal::SetForcePortableForTesting(false);
}

// A mid-size conv net: two threads must agree with one within fp32 rounding.
TEST_P(BackendOps, ThreadCountKeepsResults) {
  const std::string backend = GetParam();
  Net net(77);
  const int x = net.Input({2, 8, 24, 24});
  const int a = net.Conv(x, 8, 32, {3, 3}, Pads({1, 1, 1, 1}));
  const int r = net.Op(OpType::Relu, {a});
  const int b = net.Conv(r, 32, 32, {3, 3}, Pads({1, 1, 1, 1}));
  const int c = net.Conv(x, 8, 32, {1, 1});
  const int s = net.Op(OpType::Add, {b, c});
  // A quantized branch from the input, so that it computes the same integers on every backend.
  const int q =
      net.QConv(x, 8, 32, {3, 3}, DataType::kUInt8, DataType::kUInt8, true, Pads({1, 1, 1, 1}));
  const int p = net.Op(OpType::GlobalAveragePool, {net.Op(OpType::Add, {s, q})});
  const int f = net.Op(OpType::Flatten, {p}, {IntAttr("axis", 1)});
  net.Op(OpType::Gemm, {f, net.Const({100, 32}), net.Const({100})}, {IntAttr("transB", 1)});
  const auto ranges = net.ranges();
  auto model = net.Build();
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const Inputs inputs = MakeInputs(**model, ranges, 5);
  Outputs one, two, want;
  bool claimed = false;
  ASSERT_TRUE(RunModel(*model, backend, 1, inputs, &one, &claimed).ok());
  ASSERT_TRUE(RunModel(*model, backend, 2, inputs, &two).ok());
  ASSERT_TRUE(RunModel(*model, "reference", 1, inputs, &want).ok());
  EXPECT_TRUE(claimed) << backend << " claimed no node of the net";
  ExpectClose(two, one, 1e-5);
  ExpectClose(one, want, kConvTol);
}

INSTANTIATE_TEST_SUITE_P(Builtin, BackendOps, ::testing::ValuesIn(NonReferenceBackends()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });
#ifdef LWAI_ONEDNN_PLUGIN_PATH
// The oneDNN vendor plugin (loaded by path, as any plugin): the same cases. On these its int8
// results equal the reference's exactly (it could differ by a step on an exact tie: oneDNN adds
// the output zero point before rounding).
INSTANTIATE_TEST_SUITE_P(Plugin, BackendOps,
                         ::testing::Values(std::string(LWAI_ONEDNN_PLUGIN_PATH)),
                         [](const ::testing::TestParamInfo<std::string>&) { return "onednn"; });
#endif
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BackendOps);

}  // namespace
}  // namespace lwai::testing
