#include "jit/domain/request.h"

#include <array>
#include <string>

#include "jit/base/duration.h"
#include "jit/base/sha256.h"

namespace jit {
namespace {

constexpr std::array<std::pair<RequestState, std::string_view>, 10> kNames = {{
    {RequestState::kPending, "pending"},
    {RequestState::kApproved, "approved"},
    {RequestState::kActive, "active"},
    {RequestState::kExpired, "expired"},
    {RequestState::kRevoked, "revoked"},
    {RequestState::kCompleted, "completed"},
    {RequestState::kDenied, "denied"},
    {RequestState::kCancelled, "cancelled"},
    {RequestState::kTimedOut, "timed_out"},
    {RequestState::kFailed, "failed"},
}};

void AppendField(std::string& out, std::string_view name,
                 std::string_view value) {
  // Length-prefixed so no two different requests serialize the same way.
  out += name;
  out += ':';
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += '\n';
}

}  // namespace

std::string_view ToString(RequestState s) {
  for (const auto& [state, name] : kNames) {
    if (state == s) return name;
  }
  return "unknown";
}

StatusOr<RequestState> ParseRequestState(std::string_view text) {
  for (const auto& [state, name] : kNames) {
    if (name == text) return state;
  }
  return InvalidArgumentError("unknown request state \"" + std::string(text) +
                              "\"");
}

bool IsTerminal(RequestState s) {
  switch (s) {
    case RequestState::kPending:
    case RequestState::kApproved:
    case RequestState::kActive:
      return false;
    default:
      return true;
  }
}

std::string RequestBinding(const Request& r) {
  std::string canon;
  AppendField(canon, "id", r.id);
  AppendField(canon, "subject", r.subject);
  AppendField(canon, "entitlement", r.entitlement);
  AppendField(canon, "duration_ms", std::to_string(r.duration.count()));
  AppendField(canon, "justification", r.justification);
  AppendField(canon, "ticket", r.ticket);
  AppendField(canon, "start_at", r.start_at ? FormatTime(*r.start_at) : "");
  AppendField(canon, "emergency", r.emergency == Emergency::kYes ? "1" : "0");
  AppendField(canon, "extends", r.extends);
  return Sha256Hex(canon);
}

}  // namespace jit
