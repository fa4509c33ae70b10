#include "jit/workflow/audit_query.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "jit/base/duration.h"
#include "jit/base/status_macros.h"
#include "jit/workflow/report.h"

namespace jit {
namespace {

constexpr int kPage = 1000;
constexpr int kMaxReadPages = 10;
constexpr int kMaxScanPages = 10'000;  // bounds a full scan at 10M events

}  // namespace

void AuditFeed::Published(int64_t last_seq) {
  {
    std::lock_guard lock(mu_);
    last_ = std::max(last_, last_seq);
  }
  cv_.notify_all();
}

int64_t AuditFeed::WaitBeyond(int64_t seq, std::chrono::milliseconds max) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, max, [&] { return shutdown_ || last_ > seq; });
  return last_;
}

void AuditFeed::Shutdown() {
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
}

Status NotifyingStore::Commit(ChangeSet& cs) {
  JIT_RETURN_IF_ERROR(inner().Commit(cs));
  if (!cs.events.empty()) feed_.Published(cs.events.back().seq);
  return OkStatus();
}

std::vector<Status> NotifyingStore::CommitEach(std::span<ChangeSet> sets) {
  std::vector<Status> out = inner().CommitEach(sets);
  int64_t last = 0;
  for (size_t i = 0; i < sets.size(); ++i) {
    if (out[i].ok() && !sets[i].events.empty()) {
      last = std::max(last, sets[i].events.back().seq);
    }
  }
  if (last > 0) feed_.Published(last);
  return out;
}

bool AuditQuery::Visible(const Principal& who, const AuditEvent& e) {
  return who.ReadsAll() || e.subject == who.name() || e.actor == who.name();
}

bool AuditFilter::Matches(const AuditEvent& e) const {
  if (type && e.type != *type) return false;
  if (subject && e.subject != *subject && e.actor != *subject) return false;
  if (request_id && e.request_id != *request_id) return false;
  if (grant_id && e.grant_id != *grant_id) return false;
  if (from && e.time < *from) return false;
  return !to || e.time < *to;
}

StatusOr<AuditPage> AuditQuery::Read(const Principal& who, int64_t after,
                                     int limit,
                                     const AuditFilter& filter) const {
  limit = std::clamp(limit, 1, 1000);
  AuditPage out;
  out.scanned_to = after;
  // Bounded work per call: a caller who sees few events gets a cursor to
  // continue from instead of a scan of the whole log.
  for (int page = 0; page < kMaxReadPages; ++page) {
    JIT_ASSIGN_OR_RETURN(std::vector<AuditEvent> got,
                         store_.ReadAudit(out.scanned_to, kPage));
    for (AuditEvent& e : got) {
      out.scanned_to = e.seq;
      if (!Visible(who, e) || !filter.Matches(e)) continue;
      out.items.push_back(std::move(e));
      if (static_cast<int>(out.items.size()) == limit) {
        out.next_cursor = std::to_string(out.scanned_to);
        return out;
      }
    }
    if (static_cast<int>(got.size()) < kPage) return out;  // end of the log
  }
  out.next_cursor = std::to_string(out.scanned_to);
  return out;
}

StatusOr<AuditPage> AuditQuery::ReadNewestFirst(
    const Principal& who, int64_t before, int limit,
    const AuditFilter& filter) const {
  limit = std::clamp(limit, 1, 1000);
  JIT_ASSIGN_OR_RETURN(AuditHead head, store_.GetAuditHead());
  int64_t hi = before > 0 ? std::min(before - 1, head.seq) : head.seq;
  AuditPage out;
  out.scanned_to = hi + 1;
  // The window is (lo, hi], read oldest first and walked backwards.
  for (int page = 0; page < kMaxReadPages && hi > 0; ++page) {
    const int64_t lo = std::max<int64_t>(0, hi - kPage);
    JIT_ASSIGN_OR_RETURN(std::vector<AuditEvent> got,
                         store_.ReadAudit(lo, static_cast<int>(hi - lo)));
    for (auto e = got.rbegin(); e != got.rend(); ++e) {
      out.scanned_to = e->seq;
      if (!Visible(who, *e) || !filter.Matches(*e)) continue;
      out.items.push_back(std::move(*e));
      if (static_cast<int>(out.items.size()) < limit) continue;
      if (out.scanned_to > 1) out.next_cursor = std::to_string(out.scanned_to);
      return out;
    }
    hi = lo;
    out.scanned_to = hi + 1;
  }
  if (hi > 0) out.next_cursor = std::to_string(hi + 1);
  return out;
}

StatusOr<int64_t> AuditQuery::LatestStart(const Principal& who, int n,
                                          const AuditFilter& filter) const {
  n = std::clamp(n, 1, 1000);
  JIT_ASSIGN_OR_RETURN(AuditHead head, store_.GetAuditHead());
  int64_t hi = head.seq;  // the window is (hi - kPage, hi]
  int found = 0;
  for (int page = 0; page < kMaxReadPages && hi > 0; ++page) {
    const int64_t lo = std::max<int64_t>(0, hi - kPage);
    JIT_ASSIGN_OR_RETURN(std::vector<AuditEvent> got,
                         store_.ReadAudit(lo, static_cast<int>(hi - lo)));
    for (auto e = got.rbegin(); e != got.rend(); ++e) {
      if (!Visible(who, *e) || !filter.Matches(*e)) continue;
      if (++found == n) return e->seq - 1;
    }
    hi = lo;
  }
  return hi;
}

StatusOr<VerifyResult> AuditQuery::Verify(const Principal& who) const {
  if (!who.ReadsAll())
    return PermissionDeniedError("verifying the audit log needs auditor");
  // Read before the scan: a checkpoint written during it covers events the
  // scan may not reach.
  std::optional<Checkpoint> latest =
      checkpoints_ != nullptr ? checkpoints_->Latest() : std::nullopt;
  ChainVerifier verifier(
      std::string(kGenesisHash), 1,
      checkpoints_ != nullptr ? &checkpoints_->key() : nullptr);
  int64_t after = 0;
  for (int page = 0; page < kMaxScanPages; ++page) {
    JIT_ASSIGN_OR_RETURN(std::vector<AuditEvent> got,
                         store_.ReadAudit(after, kPage));
    for (const AuditEvent& e : got) {
      if (!verifier.Add(e)) break;
      after = e.seq;
    }
    if (!verifier.Result().ok || static_cast<int>(got.size()) < kPage) break;
  }
  VerifyResult result = verifier.Result();
  // The first checkpoint may have been written during the scan: its event
  // was seen, its file (written before the event) was not yet read.
  if (!latest && result.checkpoints > 0 && checkpoints_ != nullptr)
    latest = checkpoints_->Latest();
  const std::string problem =
      checkpoints_ != nullptr ? checkpoints_->load_problem() : "";
  if (result.ok && !problem.empty()) {
    result.ok = false;
    result.first_bad_seq = result.proven_through + 1;
    result.reason = "latest checkpoint file not trusted: " + problem;
  } else if (result.ok && !latest && result.checkpoints > 0) {
    result.ok = false;
    result.first_bad_seq = result.proven_through + 1;
    result.reason =
        "the log holds signed checkpoints but the latest-checkpoint file is "
        "gone (removed to hide a change at the end of the log?)";
  }
  if (result.ok && latest) {
    JIT_ASSIGN_OR_RETURN(std::vector<AuditEvent> signed_event,
                         store_.ReadAudit(latest->seq - 1, 1));
    // Which events went or changed the file cannot tell; everything after
    // the last checkpoint in the log that still holds is unproven.
    const std::string unproven =
        "; nothing after seq " + std::to_string(result.proven_through) +
        ", the last signed checkpoint that holds, is proven";
    if (latest->seq > result.events) {
      result.ok = false;
      result.first_bad_seq = result.proven_through + 1;
      result.reason = "the log ends at seq " + std::to_string(result.events) +
                      " but the checkpoint signed at " +
                      FormatTime(latest->time) + " covers seq " +
                      std::to_string(latest->seq) + " (events removed)" +
                      unproven;
    } else if (latest->seq > 0 &&
               (signed_event.empty() || signed_event[0].hash != latest->hash)) {
      result.ok = false;
      result.first_bad_seq = result.proven_through + 1;
      result.reason = "event " + std::to_string(latest->seq) +
                      " differs from the latest signed checkpoint (rewritten)" +
                      unproven;
    }
  }
  metrics_.SetAuditChainOk(result.ok);
  if (on_verified_) on_verified_(result);
  return result;
}

StatusOr<Checkpoint> AuditQuery::SignExportBoundary(
    const Principal& who, int64_t seq, const std::string& which,
    const std::string& from, const std::string& to) const {
  if (!who.ReadsAll())
    return PermissionDeniedError("signed checkpoints need auditor");
  if (checkpoints_ == nullptr)
    return FailedPreconditionError("this jitd has no audit signing key");
  return checkpoints_->SignExportBoundary(seq, which, from, to);
}

StatusOr<std::string> AuditQuery::PublicKeyPem() const {
  if (checkpoints_ == nullptr)
    return FailedPreconditionError("this jitd has no audit signing key");
  return checkpoints_->key().pem();
}

StatusOr<nlohmann::json> AuditQuery::Summary(const Principal& who,
                                             SystemTime from,
                                             SystemTime to) const {
  if (!who.ReadsAll()) return PermissionDeniedError("reports need auditor");
  ReportBuilder report;
  int64_t after = 0;
  for (int page = 0; page < kMaxScanPages; ++page) {
    JIT_ASSIGN_OR_RETURN(std::vector<AuditEvent> got,
                         store_.ReadAudit(after, kPage));
    for (const AuditEvent& e : got) {
      after = e.seq;
      if (e.time >= from && e.time < to) report.Add(e);
    }
    if (static_cast<int>(got.size()) < kPage) break;
  }
  return report.Finish();
}

}  // namespace jit
