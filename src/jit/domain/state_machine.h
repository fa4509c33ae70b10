#pragma once

#include "jit/base/status.h"
#include "jit/domain/grant.h"
#include "jit/domain/request.h"

namespace jit {

// What happens to a request; the state machine of DESIGN "Request lifecycle".
enum class RequestEvent {
  kApprove,      // enough approvals collected
  kAutoApprove,  // policy says auto: pending -> active directly
  kActivate,     // connector granted
  kActivationFailed,
  kDeny,
  kCancel,
  kTimeOut,  // approval_timeout passed while pending
  kExpire,
  kRevoke,
  kComplete,  // holder ended it early ("task done")
};

std::string_view ToString(RequestEvent e);

// The state `from` moves to on `event`, or kFailedPrecondition naming both
// when the lifecycle does not allow it. Pure.
StatusOr<RequestState> NextRequestState(RequestState from, RequestEvent event);

enum class GrantEvent { kRevokeFailed, kEnd, kExtend };

// Grant transitions: active -> revoke_pending -> ended, active -> ended;
// extend only while active. Pure.
StatusOr<GrantState> NextGrantState(GrantState from, GrantEvent event);

// The request state a grant ending for `reason` leaves its request in.
RequestState RequestStateForEnd(EndReason reason);

}  // namespace jit
