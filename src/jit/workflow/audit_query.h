#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <span>
#include <vector>

#include "jit/audit/verifier.h"
#include "jit/storage/forwarding_store.h"
#include "jit/storage/store.h"
#include "jit/workflow/checkpoint_writer.h"
#include "jit/workflow/metrics.h"
#include "jit/workflow/principal.h"

namespace jit {

// Wakes audit stream readers when events were committed. Thread-safe.
class AuditFeed {
 public:
  void Published(int64_t last_seq);
  // Waits until an event with seq > `seq` was published, `stop` turns true
  // or `max` passed (monotonic). Returns the last published seq seen.
  int64_t WaitBeyond(int64_t seq, std::chrono::milliseconds max);
  void Shutdown();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t last_ = 0;       // guarded by mu_
  bool shutdown_ = false;  // guarded by mu_
};

// A Store that tells an AuditFeed about every committed event; all other
// calls pass through. Same thread-safety and errors as the wrapped store.
class NotifyingStore final : public ForwardingStore {
 public:
  NotifyingStore(Store& inner, AuditFeed& feed)
      : ForwardingStore(inner), feed_(feed) {}
  Status Commit(ChangeSet& cs) override;
  std::vector<Status> CommitEach(std::span<ChangeSet> sets) override;

 private:
  AuditFeed& feed_;
};

struct AuditPage {
  std::vector<AuditEvent> items;
  std::optional<std::string> next_cursor;
  int64_t scanned_to = 0;  // seq of the last event looked at
};

// What an auditor searches the log for; every set field must match.
struct AuditFilter {
  std::optional<AuditType> type;
  std::optional<std::string> subject;  // the event's subject or its actor
  std::optional<std::string> request_id;
  std::optional<std::string> grant_id;
  std::optional<SystemTime> from;  // time >= from
  std::optional<SystemTime> to;    // time < to

  bool Matches(const AuditEvent& e) const;
};

// Reads of the audit log with visibility rules, verification and reports.
// Auditors and admins read everything; others their own events (as subject
// or actor). Thread-safe.
class AuditQuery {
 public:
  AuditQuery(Store& store, Metrics& metrics)
      : store_(store), metrics_(metrics) {}
  // Signed checkpoints to check and sign with; without them Verify checks
  // the hash chain only. Call before use; `w` outlives this.
  void UseCheckpoints(const CheckpointWriter* w) { checkpoints_ = w; }
  // Called with the result of every Verify (e.g. VerifyFailureAlarm, which
  // raises audit.verify_failed). Call before use.
  void OnVerified(std::function<void(const VerifyResult&)> f) {
    on_verified_ = std::move(f);
  }

  // Events after `after`, at most `limit` (1..1000), visible to `who`.
  // Scans a bounded number of events per call; `next_cursor` is set
  // whenever the scan stopped before the end of the log.
  StatusOr<AuditPage> Read(const Principal& who, int64_t after,
                           int limit) const {
    return Read(who, after, limit, AuditFilter{});
  }
  // The same, keeping only events `filter` matches (the scan bound counts
  // the events looked at, matching or not).
  StatusOr<AuditPage> Read(const Principal& who, int64_t after, int limit,
                           const AuditFilter& filter) const;
  // Events with seq < `before` (0: up to the newest), newest first, at most
  // `limit` (1..1000), visible to `who` and matching `filter`. Scans a
  // bounded number of events per call; `next_cursor`, the `before` of the
  // next (older) page, is set whenever the scan stopped before the log's
  // first event.
  StatusOr<AuditPage> ReadNewestFirst(const Principal& who, int64_t before,
                                      int limit,
                                      const AuditFilter& filter) const;
  // The `after` cursor from which Read returns the newest `n` (1..1000)
  // events visible to `who` and matching `filter`: where a live view starts
  // instead of replaying the whole log. Looks back over at most
  // kMaxReadPages pages; fewer visible events there start it at the oldest
  // one found (0 for a short log).
  StatusOr<int64_t> LatestStart(const Principal& who, int n,
                                const AuditFilter& filter = {}) const;
  // Verifies the whole chain, the signed checkpoints in it, and that the
  // log still holds the event the latest checkpoint signed (nothing cut
  // off its end, nothing rewritten); updates jitd_audit_chain_ok.
  // Auditors/admins.
  StatusOr<VerifyResult> Verify(const Principal& who) const;
  // The signed start or end of an export (CheckpointWriter::
  // SignExportBoundary). Auditors/admins; kFailedPrecondition also when
  // jitd has no signing key.
  StatusOr<Checkpoint> SignExportBoundary(const Principal& who, int64_t seq,
                                          const std::string& which,
                                          const std::string& from,
                                          const std::string& to) const;
  // The PEM public key that checks checkpoints; kFailedPrecondition
  // without one.
  StatusOr<std::string> PublicKeyPem() const;
  // The report (ReportBuilder) over events with from <= time < to.
  // Auditors/admins.
  StatusOr<nlohmann::json> Summary(const Principal& who, SystemTime from,
                                   SystemTime to) const;
  static bool Visible(const Principal& who, const AuditEvent& e);

 private:
  Store& store_;
  Metrics& metrics_;
  const CheckpointWriter* checkpoints_ = nullptr;
  std::function<void(const VerifyResult&)> on_verified_;
};

}  // namespace jit
