#include "jit/domain/grant.h"

#include <string>

namespace jit {

std::string_view ToString(GrantState s) {
  switch (s) {
    case GrantState::kActive:
      return "active";
    case GrantState::kRevokePending:
      return "revoke_pending";
    case GrantState::kEnded:
      return "ended";
  }
  return "unknown";
}

std::string_view ToString(EndReason r) {
  switch (r) {
    case EndReason::kNone:
      return "";
    case EndReason::kExpired:
      return "expired";
    case EndReason::kRevoked:
      return "revoked";
    case EndReason::kCompleted:
      return "completed";
  }
  return "unknown";
}

StatusOr<GrantState> ParseGrantState(std::string_view text) {
  for (GrantState s :
       {GrantState::kActive, GrantState::kRevokePending, GrantState::kEnded}) {
    if (ToString(s) == text) return s;
  }
  return InvalidArgumentError("unknown grant state \"" + std::string(text) +
                              "\"");
}

StatusOr<EndReason> ParseEndReason(std::string_view text) {
  for (EndReason r : {EndReason::kNone, EndReason::kExpired,
                      EndReason::kRevoked, EndReason::kCompleted}) {
    if (ToString(r) == text) return r;
  }
  return InvalidArgumentError("unknown end reason \"" + std::string(text) +
                              "\"");
}

}  // namespace jit
