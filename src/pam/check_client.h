#pragma once

#include <chrono>
#include <string>

namespace jit::pam {

// One question to jitd's enforcement socket: may `target_user` use the
// privilege of connector `connector` now?
struct CheckQuery {
  std::string socket_path;
  std::string connector;
  std::string target_user;
  std::chrono::milliseconds timeout{1500};  // for connect, send and answer
};

enum class Verdict { kAllowed, kDenied };

struct CheckOutcome {
  Verdict verdict = Verdict::kDenied;
  std::string reason;      // why denied (or "allowed"), for the log
  std::string grant_id;    // from an allowing answer, may be empty
  std::string expires_at;  // from an allowing answer, may be empty
};

// Sends `POST /v1/check/target` with {"connector", "target_user"} over the
// Unix stream socket and reads the answer, all within `timeout`. kAllowed
// only for HTTP 200 with a JSON object whose "allowed" is the boolean true;
// everything else (no socket, refused, timeout, other status, a body that
// is not such JSON, over 64 KiB) is kDenied with the reason (THREATS T24:
// fail closed). Never throws; uses no threads or signals; thread-safe.
CheckOutcome AskJitd(const CheckQuery& query) noexcept;

}  // namespace jit::pam
