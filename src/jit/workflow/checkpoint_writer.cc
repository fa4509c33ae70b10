#include "jit/workflow/checkpoint_writer.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "jit/base/files.h"
#include "jit/base/status_macros.h"

namespace jit {

CheckpointWriter::CheckpointWriter(Store& store, const CheckpointSigner& signer,
                                   const Clock& clock,
                                   CheckpointSchedule schedule,
                                   std::string latest_path)
    : store_(store),
      signer_(signer),
      clock_(clock),
      schedule_(schedule),
      latest_path_(std::move(latest_path)),
      last_at_(clock.MonotonicNow()) {}

Status CheckpointWriter::Load() {
  if (latest_path_.empty()) return OkStatus();
  std::error_code ec;
  if (!std::filesystem::exists(latest_path_, ec)) return OkStatus();
  std::ifstream in(latest_path_);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return UnavailableError("cannot read " + latest_path_);
  StatusOr<Checkpoint> c = CheckpointFromJson(text.str());
  if (!c.ok())
    return InvalidArgumentError(latest_path_ + ": " + c.status().message());
  if (!signer_.public_key().Verify(*c)) {
    return InvalidArgumentError(
        latest_path_ + ": not signed by this jitd's audit key " +
        signer_.public_key().key_id() + " (moved from another server?)");
  }
  std::lock_guard lock(mu_);
  latest_ = *c;
  covered_through_ = c->seq;
  return OkStatus();
}

std::optional<Checkpoint> CheckpointWriter::Latest() const {
  std::lock_guard lock(mu_);
  return latest_;
}

StatusOr<Checkpoint> CheckpointWriter::SignEvent(int64_t seq) const {
  if (seq < 0) return InvalidArgumentError("seq must not be negative");
  if (seq == 0) return signer_.Sign(0, std::string(kGenesisHash), clock_.Now());
  JIT_ASSIGN_OR_RETURN(std::vector<AuditEvent> got,
                       store_.ReadAudit(seq - 1, 1));
  if (got.empty() || got[0].seq != seq)
    return NotFoundError("no audit event " + std::to_string(seq));
  return signer_.Sign(seq, got[0].hash, clock_.Now());
}

StatusOr<std::optional<Checkpoint>> CheckpointWriter::RunDue() {
  std::lock_guard lock(mu_);
  JIT_ASSIGN_OR_RETURN(AuditHead head, store_.GetAuditHead());
  const int64_t fresh = head.seq - covered_through_;
  if (fresh <= 0) return std::optional<Checkpoint>();
  const MonoTime now = clock_.MonotonicNow();
  if (fresh < schedule_.every_events && now - last_at_ < schedule_.every)
    return std::optional<Checkpoint>();
  // Signing a log that no longer holds what was signed before would bless
  // the removal or rewrite (and overwrite the file that proves it).
  if (latest_ && latest_->seq > 0) {
    JIT_ASSIGN_OR_RETURN(std::vector<AuditEvent> signed_event,
                         store_.ReadAudit(latest_->seq - 1, 1));
    if (signed_event.empty() || signed_event[0].seq != latest_->seq ||
        signed_event[0].hash != latest_->hash) {
      return FailedPreconditionError(
          "the audit log no longer holds event " +
          std::to_string(latest_->seq) +
          " as the latest checkpoint signed it; no further checkpoints until "
          "an operator looks (jit audit verify)");
    }
  }
  Checkpoint c = signer_.Sign(head.seq, head.hash, clock_.Now());
  ChangeSet cs;
  AuditEvent e;
  e.time = c.time;
  e.type = AuditType::kAuditCheckpoint;
  e.actor = "jitd";
  e.data = CheckpointToJson(c);
  cs.events.push_back(std::move(e));
  JIT_RETURN_IF_ERROR(store_.Commit(cs));
  covered_through_ = cs.events[0].seq;
  last_at_ = now;
  latest_ = c;
  // The event is in the log already; a file that could not be written
  // leaves the previous one, which still holds.
  if (Status s = SaveLatest(c); !s.ok())
    spdlog::error("audit checkpoint file: {}", s.ToString());
  return std::optional<Checkpoint>(c);
}

Status CheckpointWriter::SaveLatest(const Checkpoint& c) {
  if (latest_path_.empty()) return OkStatus();
  using std::filesystem::perms;
  return WriteFileAtomically(latest_path_, CheckpointToJson(c) + "\n",
                             perms::owner_read | perms::owner_write |
                                 perms::group_read | perms::others_read);
}

void CheckpointWriter::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    std::string last_error;  // logged once, not every second
    std::unique_lock lock(mu_);
    while (!stopping_) {
      wake_.wait_for(lock, std::chrono::seconds(1),
                     [this] { return stopping_; });
      if (stopping_) break;
      lock.unlock();
      auto written = RunDue();
      std::string error = written.ok() ? "" : written.status().ToString();
      if (!error.empty() && error != last_error)
        spdlog::error("audit checkpoint: {}", error);
      last_error = error;
      lock.lock();
    }
  });
}

void CheckpointWriter::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace jit
