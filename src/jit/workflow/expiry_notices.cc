#include "jit/workflow/expiry_notices.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "jit/base/duration.h"
#include "jit/base/files.h"
#include "jit/workflow/events.h"
#include "jit/workflow/principal.h"

namespace jit {
namespace {

using nlohmann::json;

constexpr int kBatch = 1000;

}  // namespace

ExpiryNotices::ExpiryNotices(const WorkflowDeps& deps, std::string state_path,
                             Duration lead, std::chrono::milliseconds every)
    : deps_(deps),
      state_path_(std::move(state_path)),
      lead_(lead),
      every_(every) {}

ExpiryNotices::~ExpiryNotices() { Stop(); }

Status ExpiryNotices::Load() {
  std::error_code ec;
  if (state_path_.empty() || !std::filesystem::exists(state_path_, ec))
    return OkStatus();
  std::ifstream in(state_path_);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return UnavailableError("cannot read " + state_path_);
  const json j = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  const auto bad = [&] {
    return InvalidArgumentError(
        state_path_ +
        ": not an expiry notice file ({\"noticed\": {GRANT: "
        "EXPIRES_AT}})");
  };
  if (!j.is_object() || !j.contains("noticed") || !j["noticed"].is_object())
    return bad();
  std::map<std::string, SystemTime> noticed;
  for (const auto& [id, at] : j["noticed"].items()) {
    if (!at.is_string()) return bad();
    StatusOr<SystemTime> t = ParseTime(at.get<std::string>());
    if (!t.ok()) return bad();
    noticed[id] = *t;
  }
  std::lock_guard lock(mu_);
  noticed_ = std::move(noticed);
  return OkStatus();
}

Status ExpiryNotices::Save() {
  if (state_path_.empty()) return OkStatus();
  json noticed = json::object();
  for (const auto& [id, at] : noticed_) noticed[id] = FormatTime(at);
  using std::filesystem::perms;
  return WriteFileAtomically(state_path_,
                             json{{"noticed", noticed}}.dump() + "\n",
                             perms::owner_read | perms::owner_write);
}

StatusOr<int> ExpiryNotices::RunDue(SystemTime now) {
  StatusOr<std::vector<Grant>> due =
      deps_.store.DueRevokes(now + lead_, kBatch);
  if (!due.ok()) return due.status();
  std::lock_guard lock(mu_);
  const size_t before = noticed_.size();
  std::erase_if(noticed_, [&](const auto& kv) { return kv.second <= now; });
  int written = 0;
  for (const Grant& g : *due) {
    if (g.state != GrantState::kActive || g.expires_at <= now) continue;
    auto it = noticed_.find(g.id);
    if (it != noticed_.end() && it->second == g.expires_at) continue;
    ChangeSet cs;
    cs.events.push_back(GrantEvent(
        AuditType::kGrantExpiring, kSystemActor, g, now,
        {{"expires_at", FormatTime(g.expires_at)},
         {"in", FormatDuration(std::chrono::floor<std::chrono::seconds>(
                    g.expires_at - now))}}));
    if (Status s = deps_.Commit(cs); !s.ok()) {
      if (written > 0 || noticed_.size() != before) (void)Save();
      return s;
    }
    noticed_[g.id] = g.expires_at;
    ++written;
  }
  if (written > 0 || noticed_.size() != before) {
    if (Status s = Save(); !s.ok()) {
      spdlog::error("expiry notices: {} (a restart may notice again)",
                    s.ToString());
    }
  }
  return written;
}

void ExpiryNotices::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    while (true) {
      StatusOr<int> n = RunDue(deps_.clock.Now());
      if (!n.ok())
        spdlog::warn("expiry notices: {} (will retry)", n.status().ToString());
      std::unique_lock lock(mu_);
      if (wake_.wait_for(lock, every_, [this] { return stopping_; })) return;
    }
  });
}

void ExpiryNotices::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id())
    thread_.join();
}

}  // namespace jit
