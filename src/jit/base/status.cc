#include "jit/base/status.h"

namespace jit {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case StatusCode::kNotFound:
      return "NOT_FOUND";
    case StatusCode::kAlreadyExists:
      return "ALREADY_EXISTS";
    case StatusCode::kPermissionDenied:
      return "PERMISSION_DENIED";
    case StatusCode::kFailedPrecondition:
      return "FAILED_PRECONDITION";
    case StatusCode::kAborted:
      return "ABORTED";
    case StatusCode::kUnavailable:
      return "UNAVAILABLE";
    case StatusCode::kUnauthenticated:
      return "UNAUTHENTICATED";
    case StatusCode::kResourceExhausted:
      return "RESOURCE_EXHAUSTED";
    case StatusCode::kDeadlineExceeded:
      return "DEADLINE_EXCEEDED";
    case StatusCode::kInternal:
      return "INTERNAL";
  }
  return "UNKNOWN";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(StatusCodeName(code_));
  out += ": ";
  out += message_;
  for (const std::string& d : details_) {
    out += "; ";
    out += d;
  }
  return out;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  return Status(code_, std::string(context) + ": " + message_, reason_,
                details_);
}

Status InvalidArgumentError(std::string m) {
  return Status(StatusCode::kInvalidArgument, std::move(m), "invalid_request");
}
Status NotFoundError(std::string m) {
  return Status(StatusCode::kNotFound, std::move(m), "not_found");
}
Status AlreadyExistsError(std::string m) {
  return Status(StatusCode::kAlreadyExists, std::move(m), "conflict");
}
Status PermissionDeniedError(std::string m, std::string reason) {
  return Status(StatusCode::kPermissionDenied, std::move(m), std::move(reason));
}
Status FailedPreconditionError(std::string m, std::string reason,
                               std::vector<std::string> details) {
  return Status(StatusCode::kFailedPrecondition, std::move(m),
                std::move(reason), std::move(details));
}
Status AbortedError(std::string m) {
  return Status(StatusCode::kAborted, std::move(m), "conflict");
}
Status UnavailableError(std::string m) {
  return Status(StatusCode::kUnavailable, std::move(m), "unavailable");
}
Status UnauthenticatedError(std::string m) {
  return Status(StatusCode::kUnauthenticated, std::move(m), "unauthenticated");
}
Status ResourceExhaustedError(std::string m) {
  return Status(StatusCode::kResourceExhausted, std::move(m), "too_large");
}
Status DeadlineExceededError(std::string m) {
  return Status(StatusCode::kDeadlineExceeded, std::move(m), "unavailable");
}
Status InternalError(std::string m) {
  return Status(StatusCode::kInternal, std::move(m), "internal");
}

}  // namespace jit
