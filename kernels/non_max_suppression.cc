// NonMaxSuppression (ONNX 11): greedy per-(batch, class) selection by descending score,
// suppressing boxes whose IoU with a selected one exceeds iou_threshold; center_point_box 0/1.
// The output's row count depends on every input's values, so the selection runs in prepare.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/common.h"
#include "kernels/dispatch.h"
#include "kernels/pool_group_common.h"

namespace lwai {
namespace {

struct NmsState : OpState {
  std::vector<int64_t> selected;  // rows of (batch, class, box)
};

struct Box {
  double x_min, y_min, x_max, y_max;
};

Box ReadBox(const std::vector<double>& boxes, int64_t index, bool center_point) {
  const double* b = &boxes[index * 4];
  if (center_point) {
    return {b[0] - b[2] / 2, b[1] - b[3] / 2, b[0] + b[2] / 2, b[1] + b[3] / 2};
  }
  // [y1, x1, y2, x2] with either corner first.
  return {std::min(b[1], b[3]), std::min(b[0], b[2]), std::max(b[1], b[3]), std::max(b[0], b[2])};
}

bool Suppresses(const Box& a, const Box& b, double iou_threshold) {
  const double ix = std::min(a.x_max, b.x_max) - std::max(a.x_min, b.x_min);
  const double iy = std::min(a.y_max, b.y_max) - std::max(a.y_min, b.y_min);
  if (ix <= 0 || iy <= 0) return false;
  const double intersection = ix * iy;
  const double area_a = (a.x_max - a.x_min) * (a.y_max - a.y_min);
  const double area_b = (b.x_max - b.x_min) * (b.y_max - b.y_min);
  const double union_area = area_a + area_b - intersection;
  if (area_a <= 0 || area_b <= 0 || union_area <= 0) return false;
  return intersection / union_area > iou_threshold;
}

Status ReadOptionalScalar(const KernelContext& ctx, int i, double* value, bool* present) {
  *present = false;
  if (!ctx.has_input(i) || ctx.input(i).NumElements() == 0) return Status::Ok();
  std::vector<double> values;
  LWAI_RETURN_IF_ERROR(ReadFloatTensor(ctx, i, &values));
  if (values.size() != 1) {
    return ctx.ShapeMismatch(LWAI_MSG("input " + std::to_string(i) + " must hold one value, got " +
                                      std::to_string(values.size())));
  }
  *value = values[0];
  *present = true;
  return Status::Ok();
}

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 5));
  LWAI_RETURN_IF_ERROR(ExpectFloatInput(ctx, 0));
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(1, ctx.input(0).dtype));
  const Shape& boxes_shape = ctx.input(0).shape;
  const Shape& scores_shape = ctx.input(1).shape;
  if (boxes_shape.rank != 3 || boxes_shape[2] != 4 || scores_shape.rank != 3 ||
      scores_shape[0] != boxes_shape[0] || scores_shape[2] != boxes_shape[1]) {
    return ctx.ShapeMismatch(
        LWAI_MSG("boxes " + boxes_shape.ToString() + " and scores " + scores_shape.ToString() +
                 " must be [batches, boxes, 4] and [batches, classes, boxes]"));
  }
  const int64_t center_point_box = ctx.node().GetInt("center_point_box", 0);
  if (center_point_box != 0 && center_point_box != 1) {
    return ctx.InvalidModel(LWAI_MSG("attribute 'center_point_box' must be 0 or 1, got " +
                                     std::to_string(center_point_box)));
  }
  int64_t max_per_class = 0;
  if (ctx.has_input(2) && ctx.input(2).NumElements() > 0) {
    std::vector<int64_t> values;
    LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, 2, &values));
    if (values.size() != 1) {
      return ctx.ShapeMismatch(LWAI_MSG("max_output_boxes_per_class must hold one value, got " +
                                        std::to_string(values.size())));
    }
    max_per_class = std::max<int64_t>(values[0], 0);
  }
  double iou_threshold = 0, score_threshold = 0;
  bool has_iou, has_score;
  LWAI_RETURN_IF_ERROR(ReadOptionalScalar(ctx, 3, &iou_threshold, &has_iou));
  LWAI_RETURN_IF_ERROR(ReadOptionalScalar(ctx, 4, &score_threshold, &has_score));
  std::vector<double> boxes, scores;
  LWAI_RETURN_IF_ERROR(ReadFloatTensor(ctx, 0, &boxes));
  LWAI_RETURN_IF_ERROR(ReadFloatTensor(ctx, 1, &scores));

  auto state = std::make_unique<NmsState>();
  const int64_t batches = boxes_shape[0], num_boxes = boxes_shape[1], classes = scores_shape[1];
  std::vector<int64_t> candidates;
  std::vector<Box> chosen;
  WorkMeter meter(ctx.limits());
  for (int64_t b = 0; b < batches; ++b) {
    for (int64_t c = 0; c < classes; ++c) {
      const double* class_scores = &scores[(b * classes + c) * num_boxes];
      candidates.clear();
      for (int64_t i = 0; i < num_boxes; ++i) {
        if (!has_score || class_scores[i] > score_threshold) candidates.push_back(i);
      }
      std::stable_sort(candidates.begin(), candidates.end(),
                       [&](int64_t l, int64_t r) { return class_scores[l] > class_scores[r]; });
      chosen.clear();
      for (int64_t i : candidates) {
        if (static_cast<int64_t>(chosen.size()) >= max_per_class) break;
        if (meter.Add(static_cast<int64_t>(chosen.size()) + 1)) {
          return ctx.limits().Check(ctx.node());
        }
        const Box box = ReadBox(boxes, b * num_boxes + i, center_point_box == 1);
        bool keep = true;
        for (const Box& other : chosen) {
          if (Suppresses(box, other, iou_threshold)) {
            keep = false;
            break;
          }
        }
        if (!keep) continue;
        chosen.push_back(box);
        state->selected.insert(state->selected.end(), {b, c, i});
      }
    }
  }
  ctx.output(0).dtype = DataType::kInt64;
  ctx.output(0).shape = Shape{static_cast<int64_t>(state->selected.size() / 3), 3};
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const NmsState& s = *ctx.state<NmsState>();
  if (!s.selected.empty()) {
    std::memcpy(ctx.output(0).data, s.selected.data(), s.selected.size() * sizeof(int64_t));
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kNonMaxSuppressionKernel = {OpType::NonMaxSuppression, Prepare,
                                                            Eval};

}  // namespace lwai
