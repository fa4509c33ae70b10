#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "jit/audit/event.h"

namespace jit {

// Folds audit events of one period into the report auditors ask for
// (DESIGN "Reports", docs/audit.md "Reports"): how often, how long and why
// each entitlement was used, by whom, who approved and how fast, emergency
// uses, revoke latency, what policy refused and why, and the standing
// privileges discovery found. Events arrive in seq order; a grant or
// request whose start lies before the period counts only with what falls
// inside it. Not thread-safe; one instance per report.
class ReportBuilder {
 public:
  void Add(const AuditEvent& e);
  // The report as JSON (the body of GET /v1/reports/summary, without
  // from/to). Lists are sorted by count, largest first, and capped at 100.
  nlohmann::json Finish() const;

 private:
  struct Usage {
    int64_t requests = 0, grants = 0, emergency = 0, rejected = 0;
    std::vector<int64_t> held_ms;
    std::vector<std::string> purposes;  // most recent last, at most 5
    std::set<std::string> tickets;
  };
  struct ApproverStats {
    int64_t approvals = 0, denials = 0;
    std::vector<int64_t> seconds_to_decide;
  };
  struct Standing {
    std::string connector, target_user, privilege, since, first_seen, last_seen,
        last_action;
    int64_t seen = 0;
  };
  struct Pending {  // what a request's later events need from its creation
    SystemTime created{};
    std::string entitlement, subject;
  };

  int64_t events_ = 0;
  std::map<std::string, int64_t> by_state_;
  std::map<std::string, int64_t> denied_reasons_;
  std::map<std::string, Usage> by_entitlement_, by_user_;
  std::map<std::string, ApproverStats> by_approver_;
  std::map<std::string, Pending> requests_;
  std::vector<int64_t> seconds_to_approve_;
  std::vector<int64_t> revoke_latency_ms_;
  std::vector<nlohmann::json> emergencies_;
  std::map<std::string, Standing> standing_;  // connector\0user\0privilege
  int64_t grants_ = 0, grant_seconds_total_ = 0, revoke_failures_ = 0;
  int64_t revoke_alerts_ = 0;
};

}  // namespace jit
