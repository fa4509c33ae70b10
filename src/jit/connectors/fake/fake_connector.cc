#include "jit/connectors/fake/fake_connector.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>
#include <utility>

#include "jit/base/duration.h"
#include "jit/base/ids.h"
#include "jit/base/status_macros.h"
#include "jit/connectors/common/config_json.h"

namespace jit {
namespace {

constexpr int kStateVersion = 1;

Status WriteFileAtomically(const std::string& path,
                           const std::string& content) {
  // A reader (or a process restarted after kill -9) sees the old file or the
  // new one, never half of one.
  const std::string tmp = path + ".tmp." + RandomHex(6);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out) {
      std::filesystem::remove(tmp);
      return UnavailableError("fake connector: cannot write " + tmp);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    return UnavailableError("fake connector: cannot replace " + path + ": " +
                            ec.message());
  }
  return OkStatus();
}

StatusOr<std::optional<std::string>> ReadFileIfExists(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!std::filesystem::exists(path)) return std::optional<std::string>();
    return UnavailableError("fake connector: cannot read " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return std::optional<std::string>(text.str());
}

Status BadStateFile(const std::string& path, std::string_view why) {
  return InvalidArgumentError(
      fmt::format("fake connector: {} is not a state file: {}", path, why));
}

std::string StringField(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

StatusOr<std::unique_ptr<FakeConnector>> FakeConnector::Create(
    FakeConnectorOptions options) {
  auto fake = std::make_unique<FakeConnector>();
  fake->state_file_ = std::move(options.state_file);
  fake->call_log_ = std::move(options.call_log);
  fake->failing_ = options.start_failing;
  Status loaded = fake->Load();
  if (!loaded.ok()) return loaded;
  return fake;
}

Status FakeConnector::Load() {
  if (!state_file_) return OkStatus();
  StatusOr<std::optional<std::string>> text = ReadFileIfExists(*state_file_);
  if (!text.ok()) return text.status();
  if (!text->has_value()) return OkStatus();
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(**text);
  } catch (const nlohmann::json::exception& e) {
    return BadStateFile(*state_file_, e.what());
  }
  if (!doc.is_object() || doc.value("version", 0) != kStateVersion ||
      !doc.contains("grants") || !doc["grants"].is_object()) {
    return BadStateFile(*state_file_,
                        "want {\"version\": 1, \"grants\": {...}}");
  }
  std::lock_guard lock(mu_);
  for (const auto& [id, g] : doc["grants"].items()) {
    if (!g.is_object()) return BadStateFile(*state_file_, "grant " + id);
    held_[id] =
        Held{StringField(g, "request_id"), StringField(g, "subject"),
             StringField(g, "target_user"), StringField(g, "entitlement"),
             StringField(g, "expires_at")};
  }
  return OkStatus();
}

Status FakeConnector::Persist() const {
  if (!state_file_) return OkStatus();
  nlohmann::json grants = nlohmann::json::object();
  for (const auto& [id, h] : held_) {
    grants[id] = {{"request_id", h.request_id},
                  {"subject", h.subject},
                  {"target_user", h.target_user},
                  {"entitlement", h.entitlement},
                  {"expires_at", h.expires_at}};
  }
  nlohmann::json doc = {{"version", kStateVersion},
                        {"grants", std::move(grants)}};
  return WriteFileAtomically(*state_file_, doc.dump(2) + "\n");
}

void FakeConnector::LogCall(std::string_view op, const std::string& grant_id,
                            std::string_view effect) const {
  if (!call_log_) return;
  std::ofstream out(*call_log_, std::ios::binary | std::ios::app);
  out << op << ' ' << grant_id << ' ' << effect << '\n';
}

Status FakeConnector::BeginCall(std::unique_lock<std::mutex>& lock,
                                Deadline deadline, int* counter) {
  if (counter != nullptr) ++*counter;
  const auto start = std::chrono::steady_clock::now();
  if (start >= deadline) {
    return DeadlineExceededError("fake connector: deadline already passed");
  }
  // Latency is re-read after every wake-up, so SetLatency() can cut a wait
  // short; a wait longer than the deadline ends at the deadline.
  while (true) {
    const auto done = start + latency_;
    const auto now = std::chrono::steady_clock::now();
    if (now >= done) break;
    if (now >= deadline) {
      return DeadlineExceededError(
          "fake connector: latency exceeded the deadline");
    }
    latency_changed_.wait_until(lock, std::min<Deadline>(done, deadline));
  }
  if (failing_)
    return UnavailableError("fake connector: failing (test control)");
  if (fail_next_ > 0) {
    --fail_next_;
    return Status(fail_code_, "fake connector: injected failure");
  }
  return OkStatus();
}

Status FakeConnector::Grant(const GrantSpec& g, Deadline deadline) {
  std::unique_lock lock(mu_);
  Status begin = BeginCall(lock, deadline, &grant_calls_);
  if (!begin.ok()) return begin;
  if (held_.count(g.grant_id) > 0) {
    LogCall("grant", g.grant_id, "held");
    return OkStatus();
  }
  held_[g.grant_id] = Held{g.request_id, g.subject, g.target_user,
                           g.entitlement, FormatTime(g.expires_at)};
  Status saved = Persist();
  if (!saved.ok()) {
    held_.erase(g.grant_id);
    return saved;
  }
  LogCall("grant", g.grant_id, "new");
  return OkStatus();
}

Status FakeConnector::Revoke(const GrantSpec& g, Deadline deadline) {
  std::unique_lock lock(mu_);
  Status begin = BeginCall(lock, deadline, &revoke_calls_);
  if (!begin.ok()) return begin;
  auto it = held_.find(g.grant_id);
  if (it == held_.end()) {
    LogCall("revoke", g.grant_id, "absent");
    return OkStatus();
  }
  Held previous = std::move(it->second);
  held_.erase(it);
  Status saved = Persist();
  if (!saved.ok()) {
    held_[g.grant_id] = std::move(previous);
    return saved;
  }
  LogCall("revoke", g.grant_id, "removed");
  return OkStatus();
}

StatusOr<std::vector<Holding>> FakeConnector::Discover(Deadline deadline) {
  std::unique_lock lock(mu_);
  Status begin = BeginCall(lock, deadline, nullptr);
  if (!begin.ok()) return begin;
  std::vector<Holding> out;
  for (const auto& [id, h] : held_) {
    out.push_back(Holding{h.target_user, h.entitlement, std::nullopt,
                          "held for grant " + id});
  }
  out.insert(out.end(), planted_.begin(), planted_.end());
  return out;
}

bool FakeConnector::Covers(const GrantSpec& g, const Holding& h) const {
  return h.target_user == g.target_user && h.privilege == g.entitlement;
}

Status FakeConnector::RevokeHolding(const Holding& h, Deadline deadline) {
  std::unique_lock lock(mu_);
  Status begin = BeginCall(lock, deadline, &revoke_calls_);
  if (!begin.ok()) return begin;
  auto same = [&](const std::string& user, const std::string& privilege) {
    return user == h.target_user && privilege == h.privilege;
  };
  std::erase_if(planted_, [&](const Holding& p) {
    return same(p.target_user, p.privilege);
  });
  std::map<std::string, Held> previous = held_;
  std::erase_if(held_, [&](const auto& kv) {
    return same(kv.second.target_user, kv.second.entitlement);
  });
  if (held_.size() == previous.size()) return OkStatus();
  Status saved = Persist();
  if (!saved.ok()) {
    held_ = std::move(previous);
    return saved;
  }
  for (const auto& [id, h] : previous) {
    if (held_.count(id) == 0) LogCall("revoke", id, "removed");
  }
  return OkStatus();
}

StatusOr<std::vector<Activity>> FakeConnector::ActivitySince(
    const GrantSpec& g, SystemTime since, Deadline deadline) {
  std::unique_lock lock(mu_);
  Status begin = BeginCall(lock, deadline, nullptr);
  if (!begin.ok()) return begin;
  std::vector<Activity> out;
  auto it = activity_.find(g.grant_id);
  if (it == activity_.end()) return out;
  for (const Activity& a : it->second) {
    if (a.at >= since) out.push_back(a);
  }
  return out;
}

void FakeConnector::PlantStanding(Holding h) {
  std::lock_guard lock(mu_);
  planted_.push_back(std::move(h));
}

void FakeConnector::RecordActivity(const std::string& grant_id, Activity a) {
  std::lock_guard lock(mu_);
  activity_[grant_id].push_back(std::move(a));
}

std::vector<Holding> FakeConnector::Planted() const {
  std::lock_guard lock(mu_);
  return planted_;
}

StatusOr<bool> FakeConnector::IsActive(const GrantSpec& g, Deadline deadline) {
  std::unique_lock lock(mu_);
  Status begin = BeginCall(lock, deadline, nullptr);
  if (!begin.ok()) return begin;
  return held_.count(g.grant_id) > 0;
}

StatusOr<std::vector<Session>> FakeConnector::ListSessions(const GrantSpec& g,
                                                           Deadline deadline) {
  std::unique_lock lock(mu_);
  Status begin = BeginCall(lock, deadline, nullptr);
  if (!begin.ok()) return begin;
  auto it = sessions_.find(g.grant_id);
  if (it == sessions_.end()) return std::vector<Session>();
  return it->second;
}

StatusOr<std::vector<Session>> FakeConnector::KillSessions(const GrantSpec& g,
                                                           Deadline deadline) {
  std::unique_lock lock(mu_);
  Status begin = BeginCall(lock, deadline, nullptr);
  if (!begin.ok()) return begin;
  auto it = sessions_.find(g.grant_id);
  if (it == sessions_.end()) return std::vector<Session>();
  if (surviving_sessions_) return it->second;
  sessions_.erase(it);
  return std::vector<Session>();
}

void FakeConnector::FailNext(int n, StatusCode code) {
  std::lock_guard lock(mu_);
  fail_next_ = n;
  fail_code_ = code;
}

void FakeConnector::SetFailing(bool failing) {
  std::lock_guard lock(mu_);
  failing_ = failing;
}

void FakeConnector::SetLatency(std::chrono::milliseconds latency) {
  {
    std::lock_guard lock(mu_);
    latency_ = latency;
  }
  latency_changed_.notify_all();
}

void FakeConnector::SetSurvivingSessions(bool survive) {
  std::lock_guard lock(mu_);
  surviving_sessions_ = survive;
}

void FakeConnector::OpenSession(const std::string& grant_id,
                                const std::string& session_id) {
  std::lock_guard lock(mu_);
  sessions_[grant_id].push_back(
      Session{session_id, fmt::format("fake session of {}", grant_id)});
}

bool FakeConnector::Holds(const std::string& grant_id) const {
  std::lock_guard lock(mu_);
  return held_.count(grant_id) > 0;
}

std::vector<std::string> FakeConnector::HeldGrants() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> ids;
  for (const auto& [id, h] : held_) ids.push_back(id);
  return ids;
}

int FakeConnector::grant_calls() const {
  std::lock_guard lock(mu_);
  return grant_calls_;
}

int FakeConnector::revoke_calls() const {
  std::lock_guard lock(mu_);
  return revoke_calls_;
}

StatusOr<std::unique_ptr<Connector>> MakeFakeConnector(
    const ConnectorConfig& config, const Environment& /*env*/) {
  JIT_ASSIGN_OR_RETURN(
      ConnectorConfigReader reader,
      ConnectorConfigReader::Parse(
          config, {"name", "type", "state_file", "call_log", "fail"}));
  // name and type are read only to check their types.
  JIT_RETURN_IF_ERROR(reader.String("name").status());
  JIT_RETURN_IF_ERROR(reader.String("type").status());
  FakeConnectorOptions options;
  JIT_ASSIGN_OR_RETURN(options.state_file, reader.String("state_file"));
  JIT_ASSIGN_OR_RETURN(options.call_log, reader.String("call_log"));
  if (options.call_log && options.call_log->empty()) {
    return reader.Error("\"call_log\" must not be empty");
  }
  JIT_ASSIGN_OR_RETURN(std::optional<bool> fail, reader.Bool("fail"));
  options.start_failing = fail.value_or(false);
  if (options.state_file && options.state_file->empty()) {
    return reader.Error("\"state_file\" must not be empty");
  }
  JIT_ASSIGN_OR_RETURN(std::unique_ptr<FakeConnector> fake,
                       FakeConnector::Create(std::move(options)));
  return std::unique_ptr<Connector>(std::move(fake));
}

}  // namespace jit
