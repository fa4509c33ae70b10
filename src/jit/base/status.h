#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace jit {

// Canonical error codes, a subset of absl::StatusCode. Choose by what the
// caller can do about it:
//   kInvalidArgument   the input is wrong; retrying the same call fails again.
//   kNotFound          the named thing does not exist (or is not visible).
//   kAlreadyExists     a create collided with an existing id or key.
//   kPermissionDenied  the caller may not do this (see Status::reason()).
//   kFailedPrecondition policy refused it (see Status::details()).
//   kAborted           a compare-and-set lost: another caller changed state.
//   kUnavailable       a dependency (store, target system) is down; retryable.
//   kUnauthenticated   no or bad credentials.
//   kResourceExhausted input over a size cap.
//   kDeadlineExceeded  a call did not finish in time.
//   kInternal          a broken invariant: a bug.
enum class StatusCode {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kFailedPrecondition,
  kAborted,
  kUnavailable,
  kUnauthenticated,
  kResourceExhausted,
  kDeadlineExceeded,
  kInternal,
};

std::string_view StatusCodeName(StatusCode code);

// The outcome of an operation. `reason` is a short machine-readable code
// (e.g. "self_approval") that the API layer shows as the error code;
// `details` are human-readable reasons (e.g. every policy rule that failed).
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message, std::string reason = "",
         std::vector<std::string> details = {})
      : code_(code),
        message_(std::move(message)),
        reason_(std::move(reason)),
        details_(std::move(details)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& reason() const { return reason_; }
  const std::vector<std::string>& details() const { return details_; }
  std::string ToString() const;

  // Returns a copy whose message starts with `context: `.
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string reason_;
  std::vector<std::string> details_;
};

inline Status OkStatus() { return Status(); }
Status InvalidArgumentError(std::string message);
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message);
Status PermissionDeniedError(std::string message,
                             std::string reason = "forbidden");
Status FailedPreconditionError(std::string message, std::string reason = "",
                               std::vector<std::string> details = {});
Status AbortedError(std::string message);
Status UnavailableError(std::string message);
Status UnauthenticatedError(std::string message);
Status ResourceExhaustedError(std::string message);
Status DeadlineExceededError(std::string message);
Status InternalError(std::string message);

// A value or the Status saying why there is none.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const Status& status)
      : data_(status) {  // NOLINT: implicit by design
    assert(!status.ok() && "StatusOr built from an OK status");
  }
  StatusOr(Status&& status) : data_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(data_).ok() && "StatusOr built from an OK status");
  }
  StatusOr(const T& value) : data_(value) {}        // NOLINT
  StatusOr(T&& value) : data_(std::move(value)) {}  // NOLINT
  template <typename U>
  requires(std::is_constructible_v<T, U&&> &&
           !std::is_same_v<std::decay_t<U>, Status> &&
           !std::is_same_v<std::decay_t<U>, StatusOr<T>> &&
           !std::is_same_v<std::decay_t<U>, T>) StatusOr(U&& value)
      : data_(T(std::forward<U>(value))) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(data_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(data_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(data_);
  }
  T& value() & {
    assert(ok());
    return std::get<T>(data_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(data_));
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<Status, T> data_;
};

}  // namespace jit
