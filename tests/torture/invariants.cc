#include "tests/torture/invariants.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "jit/base/duration.h"
#include "tests/torture/traffic.h"

namespace jit::torture {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::string Text(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::optional<SystemTime> TimeField(const json& j, const char* key) {
  StatusOr<SystemTime> t = ParseTime(Text(j, key));
  if (!t.ok()) return std::nullopt;
  return *t;
}

std::string ReadFileFrom(const std::string& path, size_t offset) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(static_cast<std::streamoff>(offset));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool IsRequestTerminal(const std::string& state) {
  return state == "denied" || state == "cancelled" || state == "timed_out" ||
         state == "failed" || state == "expired" || state == "revoked" ||
         state == "completed";
}

// Pacing for polling the real jitd process; callers bound the count.
void Pace() { std::this_thread::sleep_for(milliseconds(50)); }

}  // namespace

testing::Reply InvariantChecker::Get(const std::string& target) const {
  return jitd_.Get(target, kAuditorToken);
}

std::vector<json> InvariantChecker::LiveGrants() {
  std::vector<json> out;
  std::string cursor;
  for (int page = 0; page < 1000; ++page) {
    std::string target = "/v1/grants?active=true&limit=1000";
    if (!cursor.empty()) target += "&cursor=" + cursor;
    testing::Reply r = Get(target);
    if (r.status != 200) {
      ledger_.Violation("api_unavailable",
                        "GET " + target + " -> " + std::to_string(r.status));
      return out;
    }
    if (!r.body.is_object() || !r.body["items"].is_array()) break;
    for (const json& g : r.body["items"]) out.push_back(g);
    if (!r.body["next_cursor"].is_string()) break;
    cursor = r.body["next_cursor"].get<std::string>();
  }
  return out;
}

std::set<std::string> InvariantChecker::TargetHeld() {
  std::set<std::string> held;
  std::string text = ReadFileFrom(dir_ + "/target.json", 0);
  if (text.empty()) return held;
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc["grants"].is_object()) {
    ledger_.Violation("target_unreadable", text.substr(0, 200));
    return held;
  }
  for (const auto& [id, g] : doc["grants"].items()) held.insert(id);
  return held;
}

milliseconds InvariantChecker::WaitReconciled(
    SystemTime spawned, steady_clock::time_point spawned_mono) {
  bool first = true;
  for (int i = 0; i < 300; ++i) {
    std::vector<json> live = LiveGrants();
    int overdue = 0;
    SystemTime now = std::chrono::system_clock::now();
    for (const json& g : live) {
      std::optional<SystemTime> expires = TimeField(g, "expires_at");
      bool active = Text(g, "state") == "active";
      if (first && active && expires && *expires < spawned) {
        ledger_.Violation("expired_grant_active_at_ready",
                          Text(g, "id") + " expired " + FormatTime(*expires) +
                              ", before the restart");
      }
      // The scheduler wakes every 200 ms; a grant a little past its
      // expiry is still being ended (checks deny it already).
      if (!active || (expires && *expires < now - milliseconds(1500)))
        ++overdue;
    }
    first = false;
    if (overdue == 0) {
      return std::chrono::duration_cast<milliseconds>(steady_clock::now() -
                                                      spawned_mono);
    }
    if (steady_clock::now() - spawned_mono > std::chrono::seconds(15)) break;
    Pace();
  }
  ledger_.Violation("not_reconciled",
                    "revokes still pending or overdue 15 s after restart");
  return std::chrono::duration_cast<milliseconds>(steady_clock::now() -
                                                  spawned_mono);
}

void InvariantChecker::CheckAll() {
  CheckRequests();
  CheckGrants();
  CheckCallLog();
  CheckAudit();
}

void InvariantChecker::CheckRequests() {
  std::set<std::string> approvals = ledger_.Approvals();
  for (const auto& [id, ack] : ledger_.Requests()) {
    testing::Reply r = Get("/v1/requests/" + id);
    if (r.status == 404) {
      ledger_.Violation("lost_request", id + " was answered 201, now 404");
      ledger_.MarkRequestDone(id);
      continue;
    }
    if (r.status != 200) {
      ledger_.Violation("api_unavailable", "GET request " + id);
      continue;
    }
    std::string state = Text(r.body, "state");
    std::string grant = Text(r.body, "grant_id");
    if (!grant.empty()) ledger_.AckGrant(grant, ack.token);
    if (state == "pending" && approvals.count(id) > 0)
      ledger_.Violation("lost_approval", id + " approved (200), now pending");
    if (state == "approved") {
      ledger_.Violation("approved_not_activated",
                        id + " approved but not activated after recovery");
    }
    if (state == "active" && !grant.empty()) {
      // The grant may end between the two reads; the request ends in the
      // same transaction, so read it again after the grant.
      testing::Reply g = Get("/v1/grants/" + grant);
      if (Text(g.body, "state") != "active" &&
          Text(Get("/v1/requests/" + id).body, "state") == "active") {
        ledger_.Violation(
            "request_grant_mismatch",
            id + " active, grant " + grant + " " + Text(g.body, "state"));
      }
    }
    if (IsRequestTerminal(state)) ledger_.MarkRequestDone(id);
  }
}

void InvariantChecker::CheckGrants() {
  std::map<std::string, json> seen;
  for (const auto& [id, token] : ledger_.Grants()) {
    testing::Reply r = Get("/v1/grants/" + id);
    if (r.status == 404) {
      ledger_.Violation("lost_grant", id + " was reported active, now 404");
      ledger_.ForgetGrant(id);
      continue;
    }
    if (r.status != 200) {
      ledger_.Violation("api_unavailable", "GET grant " + id);
      continue;
    }
    if (Text(r.body, "state") == "revoke_pending") {
      WaitNoRevokePending(id);
      r = Get("/v1/grants/" + id);
    }
    seen[id] = r.body;
  }
  // Read after every grant above: what jitd called ended must be gone.
  SystemTime held_read_at = std::chrono::system_clock::now();
  std::set<std::string> held = TargetHeld();
  for (const auto& [id, g] : seen) CheckGrant(id, g, held, held_read_at);
  CheckUnknownHeld(held);
}

void InvariantChecker::WaitNoRevokePending(const std::string& grant_id) {
  // A healthy target: a pending revoke is done within a retry or two.
  for (int i = 0; i < 100; ++i) {
    if (Text(Get("/v1/grants/" + grant_id).body, "state") != "revoke_pending")
      return;
    Pace();
  }
  ledger_.Violation("stuck_revoke_pending", grant_id + " for over 5 s");
}

void InvariantChecker::CheckGrant(const std::string& id, const json& g,
                                  const std::set<std::string>& held_after,
                                  SystemTime held_read_at) {
  std::string state = Text(g, "state");
  std::optional<SystemTime> expires = TimeField(g, "expires_at");
  std::map<std::string, SystemTime> last_allowed = ledger_.LastAllowed();
  auto allowed = last_allowed.find(id);
  if (expires && allowed != last_allowed.end() && allowed->second >= *expires) {
    ledger_.Violation("allow_after_expiry",
                      id + " allowed by a check sent at " +
                          FormatTime(allowed->second) + ", expires_at " +
                          FormatTime(*expires));
  }
  if (state == "ended") {
    if (held_after.count(id) > 0) {
      ledger_.Violation("held_after_end",
                        id + " ended in jitd but held in the target");
    }
    ledger_.ForgetGrant(id);
    return;
  }
  if (state != "active") return;  // revoke_pending: reported by the wait
  if (ledger_.Ends().count(id) > 0)
    ledger_.Violation("lost_end", id + " revoke answered 200, still active");
  if (expires && *expires < held_read_at - milliseconds(1500)) {
    ledger_.Violation("expiry_overdue",
                      id + " still active, expired " + FormatTime(*expires));
  }
  if (expires && *expires > held_read_at + milliseconds(500) &&
      held_after.count(id) == 0) {
    ledger_.Violation("active_not_in_target",
                      id + " active in jitd, not held in the target");
  }
}

void InvariantChecker::CheckUnknownHeld(const std::set<std::string>& held) {
  std::map<std::string, std::string> known = ledger_.Grants();
  for (const std::string& id : held) {
    if (known.count(id) > 0) continue;
    testing::Reply r = Get("/v1/grants/" + id);
    if (r.status == 404) {
      ledger_.Violation("target_holds_unrecorded_grant", id);
      continue;
    }
    if (r.status != 200) continue;
    if (Text(r.body, "state") != "active") {
      // Ended (or ending) in jitd: it must leave the target for good.
      WaitNoRevokePending(id);
      if (TargetHeld().count(id) > 0) {
        ledger_.Violation("held_after_end",
                          id + " not active in jitd, held in the target");
      }
      continue;
    }
    ledger_.AckGrant(id, "");  // active: followed from now on
  }
}

void InvariantChecker::CheckCallLog() {
  std::string text = ReadFileFrom(dir_ + "/calls.log", call_log_offset_);
  size_t complete = text.rfind('\n');
  if (complete == std::string::npos) return;
  call_log_offset_ += complete + 1;
  std::istringstream lines(text.substr(0, complete + 1));
  std::string op, id, effect;
  while (lines >> op >> id >> effect) {
    if (op == "grant" && effect == "new") {
      if (++granted_new_[id] > 1)
        ledger_.Violation("granted_twice", id + " newly granted again");
      if (revoked_removed_[id] > 0)
        ledger_.Violation("regranted_after_revoke", id);
    }
    if (op == "revoke" && effect == "removed" && ++revoked_removed_[id] > 1)
      ledger_.Violation("revoked_twice", id + " removed twice");
  }
}

void InvariantChecker::ApplyAuditEvent(const json& e) {
  std::string type = Text(e, "type");
  std::string grant = Text(e, "grant_id");
  std::string request = Text(e, "request_id");
  if ((type == "grant.expired" || type == "grant.revoked") &&
      ++end_decisions_[grant] > 1) {
    ledger_.Violation("two_end_decisions", grant);
  }
  if (type == "grant.sessions_killed" && ++target_ends_[grant] > 1)
    ledger_.Violation("ended_twice", grant);
  if (type == "grant.activated") activated_requests_.insert(request);
  bool decided_without_grant = type == "request.denied" ||
                               type == "request.cancelled" ||
                               type == "request.timed_out";
  if (decided_without_grant || type == "request.rejected") {
    if (!request.empty() && ++request_terminals_[request] > 1)
      ledger_.Violation("two_terminal_events", request + " " + type);
  }
  if (decided_without_grant && activated_requests_.count(request) > 0)
    ledger_.Violation("two_terminal_states",
                      request + " activated and " + type);
}

void InvariantChecker::CheckAudit() {
  for (int page = 0; page < 100'000; ++page) {
    testing::Reply r =
        Get("/v1/audit?limit=1000&after=" + std::to_string(audit_seq_));
    if (r.status != 200) {
      ledger_.Violation("api_unavailable", "GET /v1/audit");
      return;
    }
    if (!r.body.is_object() || !r.body["items"].is_array()) {
      ledger_.Violation("api_unavailable", "GET /v1/audit: " + r.raw);
      return;
    }
    const json& items = r.body["items"];
    for (const json& e : items) {
      int64_t seq = e.is_object() && e["seq"].is_number_integer()
                        ? e["seq"].get<int64_t>()
                        : 0;
      if (seq != audit_seq_ + 1) {
        ledger_.Violation("audit_gap", "after " + std::to_string(audit_seq_) +
                                           " came " + std::to_string(seq));
      }
      audit_seq_ = seq;
      ApplyAuditEvent(e);
    }
    if (items.size() < 1000) break;
  }
  testing::Reply v = Get("/v1/audit/verify");
  if (v.status != 200 || !v.body.is_object() || v.body["ok"] != true)
    ledger_.Violation("audit_verify_failed", v.raw.substr(0, 300));
}

void InvariantChecker::VerifyAuditOffline(const std::string& jit_bin,
                                          const std::string& work_dir) {
  std::map<std::string, std::string> env = {{"JIT_SERVER", jitd_.url()},
                                            {"JIT_TOKEN", kAuditorToken}};
  const std::string file = work_dir + "/audit-export.jsonl";
  const std::string pem = work_dir + "/audit-pubkey.pem";
  // Through the shell: the export is larger than a captured output holds.
  env["JIT_BIN"] = jit_bin;
  env["EXPORT_FILE"] = file;
  env["PEM_FILE"] = pem;
  testing::ProgramResult exported =
      testing::RunProgram({"/bin/sh", "-c",
                           "\"$JIT_BIN\" audit export > \"$EXPORT_FILE\" && "
                           "\"$JIT_BIN\" audit pubkey > \"$PEM_FILE\""},
                          env);
  if (exported.exit_code != 0) {
    ledger_.Violation("offline_verify_failed", "export: " + exported.err);
    return;
  }
  testing::ProgramResult verified = testing::RunProgram(
      {jit_bin, "audit", "verify", "--offline", file, "--pubkey", pem}, {});
  if (verified.exit_code != 0) {
    ledger_.Violation("offline_verify_failed", verified.out.substr(0, 300) +
                                                   verified.err.substr(0, 300));
  }
}

}  // namespace jit::torture
