#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "jit/base/clock.h"
#include "jit/base/status.h"

namespace jit {

enum class GrantState { kActive, kRevokePending, kEnded };
enum class EndReason { kNone, kExpired, kRevoked, kCompleted };

std::string_view ToString(GrantState s);
std::string_view ToString(EndReason r);
StatusOr<GrantState> ParseGrantState(std::string_view text);
StatusOr<EndReason> ParseEndReason(std::string_view text);

// The active period of a request: the privilege held in the target system.
struct Grant {
  std::string id;  // "grt_" + 32 hex
  std::string request_id;
  std::string subject;
  std::string entitlement;
  std::string connector;
  SystemTime starts_at{};
  SystemTime expires_at{};
  GrantState state = GrantState::kActive;
  EndReason ended_reason = EndReason::kNone;  // set on leaving kActive
  std::optional<SystemTime> ended_at;
  int revoke_attempts = 0;
  std::optional<SystemTime> next_attempt_at;  // kRevokePending: next retry
  std::optional<SystemTime> revoke_pending_since;
  std::string last_error;
  int64_t generation = 0;  // bumped on every change (fencing, T25)
};

// True while the grant allows use at `now`: active and before expires_at.
// A grant in revoke_pending never allows (invariant 1).
inline bool Allows(const Grant& g, SystemTime now) {
  return g.state == GrantState::kActive && now < g.expires_at;
}

}  // namespace jit
