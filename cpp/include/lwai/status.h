// Status and Result<T>: how every fallible call in the lwai core reports errors.
//
// The core never throws and never aborts on bad input. A function that can fail returns
// Status (or Result<T> when it also produces a value). A Status is cheap when OK (no
// allocation) and carries a code plus a human-readable message naming the file, node or
// tensor at fault. The Python bindings map each code to one exception class.
#ifndef LWAI_STATUS_H_
#define LWAI_STATUS_H_

#include <memory>
#include <new>
#include <string>
#include <utility>

namespace lwai {

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
  Status(StatusCode code, std::string message);

  static Status Ok() { return Status(); }

  bool ok() const { return state_ == nullptr; }
  StatusCode code() const { return state_ ? state_->code : StatusCode::kOk; }
  // Empty for OK.
  const std::string& message() const;
  // "InvalidModel: <message>" or "OK".
  std::string ToString() const;

  // Returns a copy whose message is "<prefix>: <message>", same code. OK stays OK.
  Status WithContext(const std::string& prefix) const;

 private:
  struct State {
    StatusCode code;
    std::string message;
  };
  std::shared_ptr<const State> state_;
};

Status InvalidArgument(std::string message);
Status InvalidModel(std::string message);
Status Unsupported(std::string message);
Status ShapeMismatch(std::string message);
Status NotFound(std::string message);
Status IoError(std::string message);
Status Internal(std::string message);
Status OutOfMemory(std::string message);

// Holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)), has_value_(true) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {             // NOLINT
    if (status_.ok()) status_ = Internal("Result constructed from an OK status without a value");
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
