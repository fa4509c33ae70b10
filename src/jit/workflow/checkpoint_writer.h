#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "jit/audit/checkpoint.h"
#include "jit/base/clock.h"
#include "jit/storage/store.h"

namespace jit {

// When to sign the log's head: after `every_events` new events, or after
// `every` (monotonic) when at least one event is new. Idle logs get none.
struct CheckpointSchedule {
  int64_t every_events = 1000;
  Duration every = std::chrono::minutes(1);
};

// Signs the audit log's head from time to time and records the signature
// twice: as an `audit.checkpoint` event in the log itself (so exports carry
// it) and in a file beside the database (`latest_path`), so that removing
// events from the end of the log, or rewriting it with fresh hashes, no
// longer matches what was signed (THREATS T21). Thread-safe.
class CheckpointWriter {
 public:
  // `latest_path` empty: no file (memory store). Nothing is read yet.
  CheckpointWriter(Store& store, const CheckpointSigner& signer,
                   const Clock& clock, CheckpointSchedule schedule,
                   std::string latest_path);
  ~CheckpointWriter() { Stop(); }

  // Reads the latest-checkpoint file when there is one. kInvalidArgument
  // when it is not a checkpoint of this key (nothing is trusted from it);
  // kUnavailable when it exists but cannot be read.
  Status Load();
  // Writes a checkpoint when the schedule says so; answers it, or nullopt
  // when none was due. Store errors as Store::Commit (nothing written).
  StatusOr<std::optional<Checkpoint>> RunDue();
  // The last checkpoint written or loaded.
  std::optional<Checkpoint> Latest() const;
  // A checkpoint over event `seq` (0 = the empty log) signed now, not
  // recorded anywhere, for an export of the events with from <= time < to
  // (texts as the export's header states them; empty = open): `which` is
  // "start" (the hash just before the first event exported: event `seq` is
  // before `from`, event seq+1 is not) or "end" (the last event exported:
  // event seq+1 is at or after `to`, or does not exist; with no `to`, `seq`
  // must be the head). Errors: kNotFound when the log has no event `seq`;
  // kFailedPrecondition when `seq` is not that boundary, or the log no
  // longer holds what the latest checkpoint signed (nothing is signed over
  // a log that changed); kInvalidArgument for another `which` or a bad time.
  StatusOr<Checkpoint> SignExportBoundary(int64_t seq, const std::string& which,
                                          const std::string& from,
                                          const std::string& to) const;
  // Why the latest-checkpoint file could not be trusted at Load (it is then
  // neither used nor overwritten), or "" when it could.
  std::string load_problem() const;
  const CheckpointKey& key() const { return signer_.public_key(); }

  // Called by RunDueAndReport when RunDue finds the log no longer
  // holds what was signed (kFailedPrecondition), once per distinct
  // failure, not every second. Call before Start.
  void OnIntegrityFailure(std::function<void(const Status&)> f) {
    on_failure_ = std::move(f);
  }

  // RunDue(), logging a failure and telling OnIntegrityFailure once per
  // distinct failure (the same failure again is quiet until it clears).
  void RunDueAndReport();
  // RunDueAndReport() every second until Stop().
  void Start();
  void Stop();

 private:
  Status SaveLatest(const Checkpoint& c);
  // OK when the log still holds what `latest_` signed (mu_ held).
  Status CheckLatestHolds() const;

  Store& store_;
  const CheckpointSigner& signer_;
  const Clock& clock_;
  const CheckpointSchedule schedule_;
  const std::string latest_path_;
  mutable std::mutex mu_;  // one RunDue at a time; guards the fields below
  std::optional<Checkpoint> latest_;
  std::string load_problem_;
  int64_t covered_through_ = 0;  // seq of the last checkpoint event
  MonoTime last_at_;
  bool stopping_ = false;
  std::condition_variable wake_;
  std::thread thread_;
  std::mutex report_mu_;
  std::string last_error_;  // guarded by report_mu_; logged once
  std::function<void(const Status&)> on_failure_;
};

}  // namespace jit
