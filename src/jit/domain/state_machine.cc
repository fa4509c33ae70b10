#include "jit/domain/state_machine.h"

#include <string>

namespace jit {
namespace {

struct Edge {
  RequestState from;
  RequestEvent event;
  RequestState to;
};

// The whole request lifecycle. Anything not listed is refused.
constexpr Edge kEdges[] = {
    {RequestState::kPending, RequestEvent::kApprove, RequestState::kApproved},
    {RequestState::kPending, RequestEvent::kAutoApprove, RequestState::kActive},
    {RequestState::kPending, RequestEvent::kActivationFailed,
     RequestState::kFailed},
    {RequestState::kPending, RequestEvent::kDeny, RequestState::kDenied},
    {RequestState::kPending, RequestEvent::kCancel, RequestState::kCancelled},
    {RequestState::kPending, RequestEvent::kTimeOut, RequestState::kTimedOut},
    {RequestState::kApproved, RequestEvent::kActivate, RequestState::kActive},
    {RequestState::kApproved, RequestEvent::kActivationFailed,
     RequestState::kFailed},
    // Planned work (start_at) may be called off before it starts.
    {RequestState::kApproved, RequestEvent::kCancel, RequestState::kCancelled},
    {RequestState::kActive, RequestEvent::kExpire, RequestState::kExpired},
    {RequestState::kActive, RequestEvent::kRevoke, RequestState::kRevoked},
    {RequestState::kActive, RequestEvent::kComplete, RequestState::kCompleted},
};

}  // namespace

std::string_view ToString(RequestEvent e) {
  switch (e) {
    case RequestEvent::kApprove:
      return "approve";
    case RequestEvent::kAutoApprove:
      return "auto_approve";
    case RequestEvent::kActivate:
      return "activate";
    case RequestEvent::kActivationFailed:
      return "activation_failed";
    case RequestEvent::kDeny:
      return "deny";
    case RequestEvent::kCancel:
      return "cancel";
    case RequestEvent::kTimeOut:
      return "time_out";
    case RequestEvent::kExpire:
      return "expire";
    case RequestEvent::kRevoke:
      return "revoke";
    case RequestEvent::kComplete:
      return "complete";
  }
  return "unknown";
}

StatusOr<RequestState> NextRequestState(RequestState from, RequestEvent event) {
  for (const Edge& e : kEdges) {
    if (e.from == from && e.event == event) return e.to;
  }
  return FailedPreconditionError("request is " + std::string(ToString(from)) +
                                     "; cannot " + std::string(ToString(event)),
                                 "conflict");
}

StatusOr<GrantState> NextGrantState(GrantState from, GrantEvent event) {
  switch (event) {
    case GrantEvent::kRevokeFailed:
      if (from == GrantState::kActive || from == GrantState::kRevokePending) {
        return GrantState::kRevokePending;
      }
      break;
    case GrantEvent::kEnd:
      if (from != GrantState::kEnded) return GrantState::kEnded;
      break;
    case GrantEvent::kExtend:
      if (from == GrantState::kActive) return GrantState::kActive;
      break;
  }
  return FailedPreconditionError(
      "grant is " + std::string(ToString(from)) + "; transition not allowed",
      "conflict");
}

RequestState RequestStateForEnd(EndReason reason) {
  switch (reason) {
    case EndReason::kCompleted:
      return RequestState::kCompleted;
    case EndReason::kRevoked:
      return RequestState::kRevoked;
    case EndReason::kExpired:
    case EndReason::kNone:
      break;
  }
  return RequestState::kExpired;
}

}  // namespace jit
