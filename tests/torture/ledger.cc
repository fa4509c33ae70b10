#include "tests/torture/ledger.h"

#include "jit/base/duration.h"

namespace jit::torture {

void Ledger::AckRequest(const std::string& id, const std::string& token) {
  std::lock_guard lock(mu_);
  if (requests_.emplace(id, AckedRequest{token, false}).second)
    ++acked_requests_;
}

void Ledger::AckGrant(const std::string& grant_id, const std::string& token) {
  std::lock_guard lock(mu_);
  grants_.emplace(grant_id, token);
}

void Ledger::AckApproval(const std::string& request_id) {
  std::lock_guard lock(mu_);
  approvals_.insert(request_id);
}

void Ledger::AckEnd(const std::string& grant_id, SystemTime at) {
  std::lock_guard lock(mu_);
  ends_.emplace(grant_id, at);
}

void Ledger::RecordAllowedCheck(const std::string& grant_id, SystemTime sent,
                                SystemTime expires_at) {
  std::string problem;
  {
    std::lock_guard lock(mu_);
    ++allowed_checks_;
    SystemTime& last = last_allowed_[grant_id];
    if (sent > last) last = sent;
    auto ended = ends_.find(grant_id);
    if (ended != ends_.end() && sent > ended->second)
      problem = "allow_after_revoke";
  }
  if (sent >= expires_at) {
    Violation("allow_after_expiry", grant_id + " allowed by a check sent at " +
                                        FormatTime(sent) + ", expires_at " +
                                        FormatTime(expires_at));
  }
  if (!problem.empty()) {
    Violation(problem, grant_id + " allowed by a check sent at " +
                           FormatTime(sent) + " after its revoke was answered");
  }
}

void Ledger::CountCheck() {
  std::lock_guard lock(mu_);
  ++checks_;
}

void Ledger::Violation(const std::string& kind, const std::string& detail) {
  std::lock_guard lock(mu_);
  ++violation_counts_[kind];
  if (violation_details_.size() < 100)
    violation_details_.push_back(kind + ": " + detail);
}

std::map<std::string, AckedRequest> Ledger::Requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::set<std::string> Ledger::Approvals() const {
  std::lock_guard lock(mu_);
  return approvals_;
}

std::map<std::string, SystemTime> Ledger::Ends() const {
  std::lock_guard lock(mu_);
  return ends_;
}

std::map<std::string, std::string> Ledger::Grants() const {
  std::lock_guard lock(mu_);
  return grants_;
}

std::map<std::string, SystemTime> Ledger::LastAllowed() const {
  std::lock_guard lock(mu_);
  return last_allowed_;
}

void Ledger::MarkRequestDone(const std::string& id) {
  std::lock_guard lock(mu_);
  requests_.erase(id);
  approvals_.erase(id);
}

void Ledger::ForgetGrant(const std::string& id) {
  std::lock_guard lock(mu_);
  // ends_ stays: a later allow of an ended grant is still caught.
  grants_.erase(id);
  last_allowed_.erase(id);
}

std::map<std::string, int> Ledger::ViolationCounts() const {
  std::lock_guard lock(mu_);
  return violation_counts_;
}

std::vector<std::string> Ledger::ViolationDetails() const {
  std::lock_guard lock(mu_);
  return violation_details_;
}

int64_t Ledger::checks() const {
  std::lock_guard lock(mu_);
  return checks_;
}

int64_t Ledger::allowed_checks() const {
  std::lock_guard lock(mu_);
  return allowed_checks_;
}

int64_t Ledger::acked_requests() const {
  std::lock_guard lock(mu_);
  return acked_requests_;
}

}  // namespace jit::torture
