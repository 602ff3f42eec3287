// Status and Result<T>: how every fallible call in the lwai core reports errors.
//
// The core never throws and never aborts on bad input. A function that can fail returns
// Status (or Result<T> when it also produces a value). A Status is cheap when OK (no
// allocation) and carries a code plus a human-readable message naming the file, node or
// tensor at fault. The Python bindings map each code to one exception class.
//
// Code-only statuses (devices): built with LWAI_STATUS_MESSAGES=0 (CMake option
// LWAI_STATUS_MESSAGES=OFF), a Status is its code alone. The core writes every message as
// LWAI_MSG(...), which then drops the expression unevaluated: an error allocates nothing and
// the messages' text is not linked. message() is empty; ToString() gives the code's name.
#ifndef LWAI_STATUS_H_
#define LWAI_STATUS_H_

#include <memory>
#include <new>
#include <string>
#include <utility>

#ifndef LWAI_STATUS_MESSAGES
#define LWAI_STATUS_MESSAGES 1
#endif

// A status message in lwai's own code: the expression itself, or nothing at all in code-only
// builds (see above).
#if LWAI_STATUS_MESSAGES
#define LWAI_MSG(...) (__VA_ARGS__)
#else
#define LWAI_MSG(...) (::lwai::NoMessage{})
#endif

namespace lwai {

// The message argument of code-only builds (LWAI_MSG).
struct NoMessage {};

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,   // bad call arguments: wrong input name, dtype, shape, ...
  kInvalidModel = 2,      // malformed, truncated, inconsistent or hostile model data
  kUnsupported = 3,       // valid model using an operator/attribute lwai cannot run
  kShapeMismatch = 4,     // shapes that cannot work together (at prepare or at run)
  kNotFound = 5,          // missing file, tensor, backend
  kIoError = 6,           // reading or writing files
  kOutOfMemory = 7,       // allocation failed or arena too small
  kInternal = 8,          // a bug in lwai
  kDeadlineExceeded = 9,  // a run (or a conversion's evaluation) passed its time or work limit
  kCancelled = 10,        // the caller's cancel flag was set during a run
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  // In code-only builds the message is ignored.
  Status(StatusCode code, std::string message);
  Status(StatusCode code, NoMessage);

  static Status Ok() { return Status(); }

#if LWAI_STATUS_MESSAGES
  bool ok() const { return state_ == nullptr; }
  StatusCode code() const { return state_ ? state_->code : StatusCode::kOk; }
#else
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
#endif
  // Empty for OK (and in code-only builds).
  const std::string& message() const;
  // "InvalidModel: <message>" or "OK" ("InvalidModel" in code-only builds).
  std::string ToString() const;

  // Returns a copy whose message is "<prefix>: <message>", same code. OK stays OK.
  Status WithContext(const std::string& prefix) const;
  Status WithContext(NoMessage) const { return *this; }

 private:
#if LWAI_STATUS_MESSAGES
  struct State {
    StatusCode code;
    std::string message;
  };
  std::shared_ptr<const State> state_;
#else
  StatusCode code_ = StatusCode::kOk;
#endif
};

Status InvalidArgument(std::string message);
Status InvalidModel(std::string message);
Status Unsupported(std::string message);
Status ShapeMismatch(std::string message);
Status NotFound(std::string message);
Status IoError(std::string message);
Status Internal(std::string message);
Status OutOfMemory(std::string message);
inline Status InvalidArgument(NoMessage) {
  return Status(StatusCode::kInvalidArgument, NoMessage{});
}
inline Status InvalidModel(NoMessage) { return Status(StatusCode::kInvalidModel, NoMessage{}); }
inline Status Unsupported(NoMessage) { return Status(StatusCode::kUnsupported, NoMessage{}); }
inline Status ShapeMismatch(NoMessage) { return Status(StatusCode::kShapeMismatch, NoMessage{}); }
inline Status NotFound(NoMessage) { return Status(StatusCode::kNotFound, NoMessage{}); }
inline Status IoError(NoMessage) { return Status(StatusCode::kIoError, NoMessage{}); }
inline Status Internal(NoMessage) { return Status(StatusCode::kInternal, NoMessage{}); }
inline Status OutOfMemory(NoMessage) { return Status(StatusCode::kOutOfMemory, NoMessage{}); }

// Holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)), has_value_(true) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {             // NOLINT
    if (status_.ok())
      status_ = Internal(LWAI_MSG("Result constructed from an OK status without a value"));
  }

  bool ok() const { return has_value_; }
  const Status& status() const { return status_; }
  // Only call when ok().
  T& value() & { return value_; }
  const T& value() const& { return value_; }
  T&& value() && { return std::move(value_); }
  T& operator*() & { return value_; }
  T* operator->() { return &value_; }
  const T* operator->() const { return &value_; }

 private:
  T value_{};
  Status status_;
  bool has_value_ = false;
};

}  // namespace lwai

#define LWAI_CONCAT_INNER_(a, b) a##b
#define LWAI_CONCAT_(a, b) LWAI_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (a Status) is not OK.
#define LWAI_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::lwai::Status lwai_status_ = (expr);        \
    if (!lwai_status_.ok()) return lwai_status_; \
  } while (0)

// `LWAI_ASSIGN_OR_RETURN(auto x, MakeX());` declares x from a Result or returns its error.
#define LWAI_ASSIGN_OR_RETURN(lhs, expr) \
  LWAI_ASSIGN_OR_RETURN_IMPL_(LWAI_CONCAT_(lwai_result_, __LINE__), lhs, expr)
#define LWAI_ASSIGN_OR_RETURN_IMPL_(result, lhs, expr) \
  auto result = (expr);                                \
  if (!result.ok()) return result.status();            \
  lhs = std::move(result).value()

#endif  // LWAI_STATUS_H_
