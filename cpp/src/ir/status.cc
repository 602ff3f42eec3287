#include "lwai/status.h"

namespace lwai {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kInvalidArgument:
      return "InvalidArgument";
    case StatusCode::kInvalidModel:
      return "InvalidModel";
    case StatusCode::kUnsupported:
      return "Unsupported";
    case StatusCode::kShapeMismatch:
      return "ShapeMismatch";
    case StatusCode::kNotFound:
      return "NotFound";
    case StatusCode::kIoError:
      return "IoError";
    case StatusCode::kOutOfMemory:
      return "OutOfMemory";
    case StatusCode::kInternal:
      return "Internal";
    case StatusCode::kDeadlineExceeded:
      return "DeadlineExceeded";
    case StatusCode::kCancelled:
      return "Cancelled";
  }
  return "Unknown";
}

#if LWAI_STATUS_MESSAGES
Status::Status(StatusCode code, std::string message) {
  if (code != StatusCode::kOk) state_ = std::make_shared<State>(State{code, std::move(message)});
}

Status::Status(StatusCode code, NoMessage) : Status(code, std::string()) {}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return state_ ? state_->message : kEmpty;
}

std::string Status::ToString() const {
  return ok() ? "OK" : std::string(StatusCodeName(code())) + ": " + message();
}

Status Status::WithContext(const std::string& prefix) const {
  return ok() ? *this : Status(code(), prefix + ": " + message());
}
#else
Status::Status(StatusCode code, std::string) : code_(code) {}

Status::Status(StatusCode code, NoMessage) : code_(code) {}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return kEmpty;
}

std::string Status::ToString() const { return StatusCodeName(code_); }

Status Status::WithContext(const std::string&) const { return *this; }
#endif

Status InvalidArgument(std::string m) { return Status(StatusCode::kInvalidArgument, std::move(m)); }
Status InvalidModel(std::string m) { return Status(StatusCode::kInvalidModel, std::move(m)); }
Status Unsupported(std::string m) { return Status(StatusCode::kUnsupported, std::move(m)); }
Status ShapeMismatch(std::string m) { return Status(StatusCode::kShapeMismatch, std::move(m)); }
Status OutOfMemory(std::string m) { return Status(StatusCode::kOutOfMemory, std::move(m)); }
Status NotFound(std::string m) { return Status(StatusCode::kNotFound, std::move(m)); }
Status IoError(std::string m) { return Status(StatusCode::kIoError, std::move(m)); }
Status Internal(std::string m) { return Status(StatusCode::kInternal, std::move(m)); }

}  // namespace lwai
