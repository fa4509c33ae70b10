#include "jit/workflow/drift_scanner.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "jit/base/duration.h"
#include "jit/base/status_macros.h"
#include "jit/workflow/events.h"
#include "jit/workflow/principal.h"

namespace jit {
namespace {

using nlohmann::json;

constexpr int kPageSize = 1000;
constexpr int kMaxPages = 10000;  // 10M live grants: far past any real set

std::string FindingKey(const Holding& h) {
  return h.target_user + '\0' + h.privilege;
}

AuditEvent DriftEvent(const std::string& connector, const Holding& h,
                      const std::string& action, const std::string& error,
                      SystemTime now) {
  json data = {{"connector", connector},
               {"target_user", h.target_user},
               {"privilege", h.privilege},
               {"detail", h.detail},
               {"action", action}};
  data["since"] = h.since ? json(FormatTime(*h.since)) : json(nullptr);
  if (!error.empty()) data["error"] = error;
  AuditEvent e;
  e.time = now;
  e.type = AuditType::kDriftFound;
  e.actor = kSystemActor;
  e.subject = h.target_user;
  e.data = EventDataText(data);
  return e;
}

}  // namespace

StatusOr<std::vector<GrantSpec>> DriftScanner::LiveSpecs(
    const std::string& connector) {
  std::vector<GrantSpec> specs;
  GrantFilter filter;
  filter.active_only = true;
  filter.limit = kPageSize;
  for (int page = 0; page < kMaxPages; ++page) {
    JIT_ASSIGN_OR_RETURN(Page<Grant> grants, deps_.store.ListGrants(filter));
    for (const Grant& g : grants.items) {
      if (g.connector == connector) specs.push_back(lifecycle_.SpecFor(g));
    }
    if (!grants.next_cursor) return specs;
    filter.after = *grants.next_cursor;
  }
  return InternalError("more than " + std::to_string(kPageSize * kMaxPages) +
                       " live grants");
}

StatusOr<DriftPass> DriftScanner::ScanOnce(const DriftTarget& target) {
  std::lock_guard scan(scan_mu_);
  Connector* c = deps_.connectors.Find(target.connector);
  if (c == nullptr) {
    return NotFoundError("connector " + target.connector +
                         " is not configured");
  }
  auto deadline = [&] {
    return std::chrono::steady_clock::now() + deps_.connector_timeout;
  };
  // Live grants read before AND after listing the target: a grant ending
  // meanwhile still covers the holding its revoke has not removed yet, and
  // one starting meanwhile covers the holding it just made.
  JIT_ASSIGN_OR_RETURN(std::vector<GrantSpec> specs,
                       LiveSpecs(target.connector));
  JIT_ASSIGN_OR_RETURN(std::vector<Holding> holdings, c->Discover(deadline()));
  JIT_ASSIGN_OR_RETURN(std::vector<GrantSpec> after,
                       LiveSpecs(target.connector));
  specs.insert(specs.end(), after.begin(), after.end());

  DriftPass pass;
  pass.holdings = static_cast<int>(holdings.size());
  std::set<std::string>& known = known_[target.connector];
  std::set<std::string> present;
  ChangeSet cs;
  SystemTime now = deps_.clock.Now();
  for (const Holding& h : holdings) {
    bool covered = false;
    for (const GrantSpec& g : specs) {
      if (c->Covers(g, h)) {
        covered = true;
        break;
      }
    }
    if (covered) continue;
    ++pass.standing;
    std::string key = FindingKey(h);
    present.insert(key);
    if (target.enforce) {
      Status revoked = c->RevokeHolding(h, deadline());
      if (revoked.ok()) {
        ++pass.revoked;
        present.erase(key);
      } else {
        ++pass.errors;
      }
      cs.events.push_back(DriftEvent(
          target.connector, h, revoked.ok() ? "revoked" : "revoke_failed",
          revoked.ok() ? "" : revoked.message(), now));
      spdlog::warn("connector={} standing privilege {} of {}: {}",
                   target.connector, h.privilege, h.target_user,
                   revoked.ok() ? "revoked" : revoked.ToString());
    } else if (!known.count(key)) {
      cs.events.push_back(DriftEvent(target.connector, h, "reported", "", now));
      spdlog::warn("connector={} standing privilege {} held by {}",
                   target.connector, h.privilege, h.target_user);
    }
  }
  pass.reported = static_cast<int>(cs.events.size());
  if (!cs.events.empty()) JIT_RETURN_IF_ERROR(deps_.Commit(cs));
  known = std::move(present);
  return pass;
}

void DriftScanner::Start() {
  if (targets_.empty() || thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void DriftScanner::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DriftScanner::Loop() {
  using Steady = std::chrono::steady_clock;
  std::vector<Steady::time_point> next(targets_.size(), Steady::now());
  std::unique_lock lock(mu_);
  while (!stopping_) {
    Steady::time_point soonest = Steady::time_point::max();
    for (size_t i = 0; i < targets_.size(); ++i) {
      if (Steady::now() < next[i]) {
        soonest = std::min(soonest, next[i]);
        continue;
      }
      lock.unlock();
      StatusOr<DriftPass> pass = ScanOnce(targets_[i]);
      if (!pass.ok()) {
        spdlog::error("connector={} discovery failed: {}",
                      targets_[i].connector, pass.status().ToString());
      }
      lock.lock();
      next[i] = Steady::now() + targets_[i].every;
      soonest = std::min(soonest, next[i]);
      if (stopping_) return;
    }
    wake_.wait_until(lock, soonest, [this] { return stopping_; });
  }
}

}  // namespace jit
