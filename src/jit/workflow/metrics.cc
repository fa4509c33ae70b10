#include "jit/workflow/metrics.h"

#include <fmt/format.h>

namespace jit {

void Metrics::CountRequestState(RequestState s) {
  std::lock_guard lock(mu_);
  ++transitions_[std::string(ToString(s))];
}

void Metrics::CountRevokeFailure() { revoke_failures_.fetch_add(1); }

void Metrics::ObserveRevokeLatency(std::chrono::milliseconds latency) {
  double seconds = static_cast<double>(latency.count()) / 1000.0;
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < kBucketsSeconds.size(); ++i) {
    if (seconds <= kBucketsSeconds[i]) ++latency_buckets_[i];
  }
  ++latency_count_;
  latency_sum_ += seconds;
}

void Metrics::CountHttp(int status) {
  if (status >= 0 && status < static_cast<int>(http_.size())) {
    http_[static_cast<size_t>(status)].fetch_add(1, std::memory_order_relaxed);
  }
}

void Metrics::CountAlert(const std::string& notifier, AlertOutcome outcome) {
  std::lock_guard lock(mu_);
  ++alerts_[notifier][outcome == AlertOutcome::kSent ? 0 : 1];
}

void Metrics::CountAuthFailure(AuthFailureOutcome outcome) {
  auto& counter = outcome == AuthFailureOutcome::kRateLimited
                      ? auth_rate_limited_
                      : auth_rejected_;
  counter.fetch_add(1, std::memory_order_relaxed);
}

std::string Metrics::Render(size_t grants_active) const {
  std::string out;
  out += "# HELP jitd_requests_total Requests that entered each state.\n";
  out += "# TYPE jitd_requests_total counter\n";
  std::lock_guard lock(mu_);
  for (const auto& [state, n] : transitions_) {
    out += fmt::format("jitd_requests_total{{state=\"{}\"}} {}\n", state, n);
  }
  out += "# HELP jitd_grants_active Grants currently allowing access.\n";
  out += "# TYPE jitd_grants_active gauge\n";
  out += fmt::format("jitd_grants_active {}\n", grants_active);
  out += "# HELP jitd_revoke_failures_total Revoke attempts that failed.\n";
  out += "# TYPE jitd_revoke_failures_total counter\n";
  out +=
      fmt::format("jitd_revoke_failures_total {}\n", revoke_failures_.load());
  out +=
      "# HELP jitd_revoke_alerts_total Revoke failures of grants pending "
      "revocation for over 5 minutes.\n";
  out += "# TYPE jitd_revoke_alerts_total counter\n";
  out += fmt::format("jitd_revoke_alerts_total {}\n", revoke_alerts_.load());
  out += "# HELP jitd_audit_chain_ok 1 while the audit hash chain verifies.\n";
  out += "# TYPE jitd_audit_chain_ok gauge\n";
  out += fmt::format("jitd_audit_chain_ok {}\n", audit_chain_ok_.load());
  out +=
      "# HELP jitd_revoke_latency_seconds From expiry or revoke decision to "
      "revoked in target.\n";
  out += "# TYPE jitd_revoke_latency_seconds histogram\n";
  for (size_t i = 0; i < kBucketsSeconds.size(); ++i) {
    out += fmt::format("jitd_revoke_latency_seconds_bucket{{le=\"{}\"}} {}\n",
                       kBucketsSeconds[i], latency_buckets_[i]);
  }
  out += fmt::format("jitd_revoke_latency_seconds_bucket{{le=\"+Inf\"}} {}\n",
                     latency_count_);
  out += fmt::format("jitd_revoke_latency_seconds_sum {}\n", latency_sum_);
  out += fmt::format("jitd_revoke_latency_seconds_count {}\n", latency_count_);
  out += "# HELP jitd_alerts_sent_total Alerts a notifier accepted.\n";
  out += "# TYPE jitd_alerts_sent_total counter\n";
  for (const auto& [notifier, n] : alerts_) {
    out += fmt::format("jitd_alerts_sent_total{{notifier=\"{}\"}} {}\n",
                       notifier, n[0]);
  }
  out +=
      "# HELP jitd_alert_failures_total Alert deliveries that failed (each "
      "is retried).\n";
  out += "# TYPE jitd_alert_failures_total counter\n";
  for (const auto& [notifier, n] : alerts_) {
    out += fmt::format("jitd_alert_failures_total{{notifier=\"{}\"}} {}\n",
                       notifier, n[1]);
  }
  out +=
      "# HELP jitd_auth_failures_total Failed authentications that presented "
      "a credential, by answer (rejected 401, rate_limited 429).\n";
  out += "# TYPE jitd_auth_failures_total counter\n";
  out += fmt::format("jitd_auth_failures_total{{result=\"rejected\"}} {}\n",
                     auth_rejected_.load());
  out += fmt::format("jitd_auth_failures_total{{result=\"rate_limited\"}} {}\n",
                     auth_rate_limited_.load());
  out += "# HELP jitd_http_responses_total HTTP responses by status code.\n";
  out += "# TYPE jitd_http_responses_total counter\n";
  for (size_t code = 0; code < http_.size(); ++code) {
    uint64_t n = http_[code].load(std::memory_order_relaxed);
    if (n == 0) continue;
    out +=
        fmt::format("jitd_http_responses_total{{code=\"{}\"}} {}\n", code, n);
  }
  return out;
}

}  // namespace jit
