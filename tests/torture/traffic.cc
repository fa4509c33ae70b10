#include "tests/torture/traffic.h"

#include <chrono>

#include "jit/base/duration.h"

namespace jit::torture {

std::string TortureConfig(const std::string& dir) {
  return R"(storage: sqlite
audit: {checkpoint_events: 40, checkpoint_every: 2s}
auth:
  tokens:
    - {subject: alice, groups: [dev], token: ")" +
         kAliceToken + R"("}
    - {subject: dave, groups: [dev], token: ")" +
         kDaveToken + R"("}
    - {subject: bob, groups: [sre], token: ")" +
         kBobToken + R"("}
    - {subject: carol, groups: [sre], token: ")" +
         kCarolToken + R"("}
    - {subject: audrey, groups: [audit], token: ")" +
         kAuditorToken + R"("}
    - {subject: host1, groups: [hosts], token: ")" +
         kEnforcerToken + R"("}
roles: {auditor: [audit], enforcer: [hosts]}
connectors:
  - name: demo
    type: fake
    state_file: )" +
         dir + R"(/target.json
    call_log: )" +
         dir + R"(/calls.log
entitlements:
  - {name: read, connector: demo, max_duration: 1h}
  - {name: admin, connector: demo, max_duration: 1h}
policies:
  - name: auto-read
    subjects: {groups: [dev]}
    entitlements: [read]
    max_duration: 30m
    approval: {auto: true}
  - name: one-approver
    subjects: {groups: [dev]}
    entitlements: [admin]
    max_duration: 1h
    require: {ticket_pattern: "^OPS-[0-9]+$"}
    approval: {groups: [sre], count: 1}
    approval_timeout: 1h
)";
}

namespace {

std::string Text(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

void Traffic::Step() {
  ++ops_;
  const std::string& requester =
      std::uniform_int_distribution<int>(0, 1)(rng_) == 0 ? kAliceToken
                                                          : kDaveToken;
  int roll = std::uniform_int_distribution<int>(0, 99)(rng_);
  if (roll < 35) return AskRead(requester);
  if (roll < 50) return AskAdmin(requester);
  if (roll < 65) return Approve();
  if (roll < 70) return Deny();
  if (roll < 75) return Cancel();
  if (roll < 90) return End();
  return Extend();
}

void Traffic::Note(const nlohmann::json& request, const std::string& token) {
  std::string id = Text(request, "id");
  if (id.empty()) return;
  ledger_.AckRequest(id, token);
  std::string state = Text(request, "state");
  std::string grant = Text(request, "grant_id");
  if (state == "pending") pending_.emplace_back(id, token);
  if (state == "active" && !grant.empty()) {
    ledger_.AckGrant(grant, token);
    active_.emplace_back(grant, token);
  }
}

void Traffic::AskRead(const std::string& token) {
  int seconds = std::uniform_int_distribution<int>(1, 4)(rng_);
  testing::Reply r =
      jitd_.Post("/v1/requests", token,
                 {{"entitlement", "read"},
                  {"duration", std::to_string(seconds) + "s"},
                  {"justification", "torture: look at the logs"}});
  if (r.status == 201) Note(r.body, token);
}

void Traffic::AskAdmin(const std::string& token) {
  int seconds = std::uniform_int_distribution<int>(2, 6)(rng_);
  testing::Reply r =
      jitd_.Post("/v1/requests", token,
                 {{"entitlement", "admin"},
                  {"duration", std::to_string(seconds) + "s"},
                  {"justification", "torture: restart the service"},
                  {"ticket", "OPS-42"}});
  if (r.status == 201) Note(r.body, token);
}

std::string Traffic::PickPending() {
  if (pending_.empty()) return "";
  size_t i =
      std::uniform_int_distribution<size_t>(0, pending_.size() - 1)(rng_);
  std::string id = pending_[i].first;
  pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
  return id;
}

std::string Traffic::PickActive() {
  if (active_.empty()) return "";
  size_t i = std::uniform_int_distribution<size_t>(0, active_.size() - 1)(rng_);
  return active_[i].first;
}

void Traffic::Approve() {
  std::string id = PickPending();
  if (id.empty()) return;
  testing::Reply r = jitd_.Post("/v1/requests/" + id + "/approve", kBobToken,
                                nlohmann::json::object());
  if (r.status != 200) return;
  if (Text(r.body, "state") != "pending") ledger_.AckApproval(id);
  auto token = ledger_.Requests();
  auto it = token.find(id);
  Note(r.body, it == token.end() ? kAliceToken : it->second.token);
}

void Traffic::Deny() {
  std::string id = PickPending();
  if (id.empty()) return;
  (void)jitd_.Post("/v1/requests/" + id + "/deny", kCarolToken,
                   nlohmann::json::object());
}

void Traffic::Cancel() {
  if (pending_.empty()) return;
  size_t i =
      std::uniform_int_distribution<size_t>(0, pending_.size() - 1)(rng_);
  auto [id, token] = pending_[i];
  pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
  (void)jitd_.Post("/v1/requests/" + id + "/cancel", token,
                   nlohmann::json::object());
}

void Traffic::End() {
  if (active_.empty()) return;
  size_t i = std::uniform_int_distribution<size_t>(0, active_.size() - 1)(rng_);
  auto [grant, token] = active_[i];
  active_.erase(active_.begin() + static_cast<std::ptrdiff_t>(i));
  testing::Reply r = jitd_.Post("/v1/grants/" + grant + "/revoke", token,
                                {{"reason", "torture: done"}});
  // The end was decided before the answer: checks sent after it must deny.
  if (r.status == 200) ledger_.AckEnd(grant, std::chrono::system_clock::now());
}

void Traffic::Extend() {
  std::string grant = PickActive();
  if (grant.empty()) return;
  std::string token;
  for (const auto& [g, t] : active_) {
    if (g == grant) token = t;
  }
  testing::Reply r = jitd_.Post(
      "/v1/grants/" + grant + "/extend", token,
      {{"duration", "1s"}, {"justification", "torture: a little longer"}});
  if (r.status == 201) Note(r.body, token);
}

void CheckLoop::Start() {
  Stop();
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void CheckLoop::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void CheckLoop::Run() {
  const std::pair<const char*, const char*> asks[] = {{"alice", "read"},
                                                      {"dave", "read"},
                                                      {"alice", "admin"},
                                                      {"dave", "admin"}};
  // Bounded: at most ~10 minutes of checks per Start().
  for (int i = 0; i < 60'000 && !stop_; ++i) {
    const auto& [subject, entitlement] = asks[i % 4];
    SystemTime sent = std::chrono::system_clock::now();
    testing::Reply r =
        jitd_.Post("/v1/check", kEnforcerToken,
                   {{"subject", subject}, {"entitlement", entitlement}});
    if (r.status == 200) ledger_.CountCheck();
    if (r.status == 200 && r.body.is_object() && r.body["allowed"] == true) {
      StatusOr<SystemTime> expires = ParseTime(Text(r.body, "expires_at"));
      std::string grant = Text(r.body, "grant_id");
      if (!expires.ok() || grant.empty()) {
        ledger_.Violation("bad_check_answer", r.raw);
      } else {
        ledger_.RecordAllowedCheck(grant, sent, *expires);
      }
    }
    // Pacing for polling the real jitd process (bounded above).
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace jit::torture
