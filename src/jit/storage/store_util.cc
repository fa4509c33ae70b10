#include "jit/storage/store_util.h"

#include <algorithm>
#include <charconv>
#include <utility>

namespace jit {
namespace {

// Marks our cursors so that a plain number (or a cursor of another list
// format) is not silently taken for one.
constexpr std::string_view kCursorPrefix = "c";

}  // namespace

Status TransitionRequest(Store& store, Request updated, RequestState from,
                         AuditEvent event) {
  ChangeSet cs;
  cs.requests.push_back(RequestWrite{std::move(updated), from});
  cs.events.push_back(std::move(event));
  return store.Commit(cs);
}

int ClampPageLimit(int limit) {
  return std::clamp(limit, kMinPageLimit, kMaxPageLimit);
}

std::string EncodeCursor(int64_t position) {
  return std::string(kCursorPrefix) + std::to_string(position);
}

StatusOr<int64_t> DecodeCursor(std::string_view cursor) {
  if (cursor.empty()) return int64_t{0};
  auto invalid = [&] {
    return InvalidArgumentError("invalid cursor \"" + std::string(cursor) +
                                "\": pass next_cursor of the previous page");
  };
  if (!cursor.starts_with(kCursorPrefix)) return invalid();
  std::string_view digits = cursor.substr(kCursorPrefix.size());
  // from_chars accepts a leading '-'; a cursor never has one.
  if (digits.empty() || digits.front() < '0' || digits.front() > '9') {
    return invalid();
  }
  int64_t position = 0;
  auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), position);
  if (ec != std::errc() || end != digits.data() + digits.size() ||
      position < 1) {
    return invalid();
  }
  return position;
}

}  // namespace jit

namespace jit {

std::string_view ToString(CredentialKind k) {
  switch (k) {
    case CredentialKind::kMachineToken:
      return "machine_token";
    case CredentialKind::kBreakglassCode:
      return "breakglass_code";
    case CredentialKind::kTotp:
      return "totp";
    case CredentialKind::kTotpPending:
      return "totp_pending";
    case CredentialKind::kTotpUsed:
      return "totp_used";
  }
  return "unknown";
}

StatusOr<CredentialKind> ParseCredentialKind(std::string_view text) {
  if (text == "machine_token") return CredentialKind::kMachineToken;
  if (text == "breakglass_code") return CredentialKind::kBreakglassCode;
  if (text == "totp") return CredentialKind::kTotp;
  if (text == "totp_pending") return CredentialKind::kTotpPending;
  if (text == "totp_used") return CredentialKind::kTotpUsed;
  return InvalidArgumentError("unknown credential kind \"" + std::string(text) +
                              "\"");
}

std::string_view ToString(ReviewState s) {
  switch (s) {
    case ReviewState::kOpen:
      return "open";
    case ReviewState::kSignedOff:
      return "signed_off";
  }
  return "unknown";
}

StatusOr<ReviewState> ParseReviewState(std::string_view text) {
  if (text == "open") return ReviewState::kOpen;
  if (text == "signed_off") return ReviewState::kSignedOff;
  return InvalidArgumentError("unknown review state \"" + std::string(text) +
                              "\"");
}

}  // namespace jit
