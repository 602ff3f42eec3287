#include "kernels/kernel_api.h"

#include <algorithm>

namespace lwai {

Status KernelContext::Error(StatusCode code, const std::string& message) const {
  return Status(code, LWAI_MSG(node_.Describe() + ": " + message));
}

Status KernelContext::ExpectInputs(int min_inputs, int max_inputs) const {
  const int count = num_inputs();
  if (count < min_inputs || count > max_inputs) {
    return InvalidModel(
        LWAI_MSG("expected " + std::to_string(min_inputs) +
                 (max_inputs == min_inputs ? "" : " to " + std::to_string(max_inputs)) +
                 " inputs, got " + std::to_string(count)));
  }
  for (int i = 0; i < min_inputs; ++i) {
    if (!has_input(i))
      return InvalidModel(LWAI_MSG("required input " + std::to_string(i) + " is missing"));
  }
  if (num_outputs() < 1 || node_.outputs[0] < 0)
    return InvalidModel(LWAI_MSG("node has no output"));
  return Status::Ok();
}

Status KernelContext::ExpectDtype(int i, DataType dtype) const {
  if (!has_input(i))
    return InvalidModel(LWAI_MSG("required input " + std::to_string(i) + " is missing"));
  if (input(i).dtype != dtype) {
    return Unsupported(LWAI_MSG("input " + std::to_string(i) + " has dtype " +
                                DataTypeName(input(i).dtype) + ", expected " +
                                DataTypeName(dtype)));
  }
  return Status::Ok();
}

Status KernelContext::ValueNeeded(int i) const {
  value_needed_ = true;
  return Unsupported(
      LWAI_MSG("the values of input " + std::to_string(i) +
               " must be known before running (a constant or computed from shapes)"));
}

}  // namespace lwai

namespace lwai {

const TensorView& KernelContext::AbsentTensor() {
  static const TensorView kAbsent;
  return kAbsent;
}

const ExecutionLimits& KernelContext::limits() const {
  static const ExecutionLimits kUnlimited;
  return limits_ != nullptr ? *limits_ : kUnlimited;
}

std::string LimitSubject::Describe() const {
  std::string text = node_ != nullptr ? node_->Describe() : std::string();
  if (text_ != nullptr) text += (text.empty() ? "" : ": ") + std::string(text_);
  if (name_ != nullptr) text += " '" + *name_ + "'";
  return text;
}

Status ExecutionLimits::Check(const LimitSubject& where) const {
  if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
    return Status(StatusCode::kCancelled, LWAI_MSG("cancelled at " + where.Describe()));
  }
  if (deadline != Clock::time_point::max() && Clock::now() > deadline) {
    return Status(StatusCode::kDeadlineExceeded,
                  LWAI_MSG("the run passed its timeout at " + where.Describe()));
  }
  return Status::Ok();
}

Status ExecutionLimits::CheckBytes(uint64_t bytes, const LimitSubject& what) const {
  if (max_memory_bytes != 0 && bytes > max_memory_bytes) {
    return Status(
        StatusCode::kOutOfMemory,
        LWAI_MSG(what.Describe() + " needs " + std::to_string(bytes) +
                 " bytes, more than the memory limit of " + std::to_string(max_memory_bytes)));
  }
  return Status::Ok();
}

Status ExecutionLimits::Hold(uint64_t old_bytes, uint64_t new_bytes,
                             const LimitSubject& what) const {
  const uint64_t others = bytes_held - std::min(bytes_held, old_bytes);
  if (max_memory_bytes != 0 &&
      (new_bytes > max_memory_bytes || others > max_memory_bytes - new_bytes)) {
    return Status(
        StatusCode::kOutOfMemory,
        LWAI_MSG(what.Describe() + " needs " + std::to_string(new_bytes) + " bytes while " +
                 std::to_string(others) + " are held, more than the memory limit of " +
                 std::to_string(max_memory_bytes)));
  }
  bytes_held = others + new_bytes;
  return Status::Ok();
}

Status ExecutionLimits::ChargeIteration(const LimitSubject& where) const {
  if (loop_iterations_left == 0) {
    return Status(
        StatusCode::kDeadlineExceeded,
        LWAI_MSG(where.Describe() + ": loop iterations exceed the work limit of this evaluation"));
  }
  if (loop_iterations_left > 0) --loop_iterations_left;
  return Check(where);
}

}  // namespace lwai
