#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jit/base/status.h"

namespace jit {

// One POST the receiver got, as it judged it.
struct ReceivedDelivery {
  std::string target;       // request path
  std::string action;       // body "action" (empty if none)
  std::string grant_id;     // body "grant_id"
  std::string delivery_id;  // X-Jitd-Delivery header
  std::string timestamp;    // X-Jitd-Timestamp header
  std::string raw_body;
  nlohmann::json body;  // null when the body was not JSON
  bool signature_ok = false;
  std::string rejection;  // why it was refused (401); empty when accepted
  bool canned = false;    // answered with a pushed CannedAnswer
};

// A scripted answer, sent instead of the normal handling.
struct CannedAnswer {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct TestHttpReceiverOptions {
  std::string secret;  // the HMAC key deliveries must be signed with
  // Both set: https with this certificate chain and key (PEM files).
  std::string cert_file;
  std::string key_file;
  std::chrono::seconds replay_window{300};
};

// A webhook receiver for tests: a small Boost.Beast server on 127.0.0.1
// that checks every delivery the way docs/connectors/webhook.md tells
// receivers to (its own HMAC code, constant-time compare, replay window,
// delivery id matching the body), records it, and keeps the "target" state
// a real receiver would change: held grants and open sessions. Refused
// deliveries get 401 and change nothing. kill_sessions answers {} so the
// connector asks "sessions" for the survivors. Thread-safe.
class TestHttpReceiver {
 public:
  explicit TestHttpReceiver(TestHttpReceiverOptions options);
  ~TestHttpReceiver();
  TestHttpReceiver(const TestHttpReceiver&) = delete;
  TestHttpReceiver& operator=(const TestHttpReceiver&) = delete;

  // Listens on 127.0.0.1: on a free port the first time, on the same port
  // after a Stop(). kUnavailable when it cannot listen, kInvalidArgument
  // for a bad certificate or key.
  Status Start();
  // Closes the listener and every open connection. Recorded state stays.
  void Stop();

  uint16_t port() const { return port_; }
  // "http(s)://localhost:PORT" + path.
  std::string Url(std::string_view path = "/jitd") const;

  // Answers the next deliveries with these, in order (still recorded).
  void PushAnswer(CannedAnswer answer);
  bool Holds(const std::string& grant_id) const;
  void OpenSession(const std::string& grant_id, const std::string& session_id);
  void SetSessionsSurviveKill(bool survive);
  std::vector<ReceivedDelivery> Deliveries() const;
  // TCP connections accepted so far.
  int connections() const;

  // Used by the connection code: judges one request, returns status, body
  // and extra headers to answer with.
  CannedAnswer Handle(const std::string& target,
                      const std::map<std::string, std::string>& headers,
                      const std::string& body);
  void CountConnection();

 private:
  struct Server;
  // Sets d.signature_ok and d.rejection.
  void Verify(const std::map<std::string, std::string>& headers,
              const std::string& body, ReceivedDelivery& d) const;
  // Content type, timestamp format and HMAC; "" when they pass.
  std::string CheckSignature(const std::map<std::string, std::string>& headers,
                             const std::string& body) const;
  // Replay window and delivery id; "" when they pass.
  std::string CheckFreshness(const std::map<std::string, std::string>& headers,
                             const nlohmann::json& parsed) const;
  nlohmann::json Apply(const ReceivedDelivery& d);  // requires mu_

  const TestHttpReceiverOptions options_;
  uint16_t port_ = 0;
  std::unique_ptr<Server> server_;

  mutable std::mutex mu_;
  std::deque<CannedAnswer> canned_;                       // guarded by mu_
  std::vector<ReceivedDelivery> deliveries_;              // guarded by mu_
  std::set<std::string> held_;                            // guarded by mu_
  std::map<std::string, std::vector<std::string>> open_;  // guarded by mu_
  bool survive_kill_ = false;                             // guarded by mu_
  int connections_ = 0;                                   // guarded by mu_
};

}  // namespace jit
