#include "jit/workflow/checkpoint_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "jit/base/crash_point.h"
#include "jit/base/duration.h"
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

// A file that cannot be trusted does not stop jitd (revokes must go on):
// it is left as it is, checkpoints stop, and Verify reports why.
Status CheckpointWriter::Load() {
  if (latest_path_.empty()) return OkStatus();
  std::error_code ec;
  if (!std::filesystem::exists(latest_path_, ec)) return OkStatus();
  std::ifstream in(latest_path_);
  std::stringstream text;
  text << in.rdbuf();
  StatusOr<Checkpoint> c = in ? CheckpointFromJson(text.str())
                              : StatusOr<Checkpoint>(UnavailableError(
                                    "cannot read " + latest_path_));
  std::lock_guard lock(mu_);
  if (!c.ok()) {
    load_problem_ = latest_path_ + ": " + c.status().message();
    return InvalidArgumentError(load_problem_);
  }
  if (!signer_.public_key().Verify(*c)) {
    load_problem_ = latest_path_ + ": not signed by this jitd's audit key " +
                    signer_.public_key().key_id() +
                    " (replaced, or the key was lost)";
    return InvalidArgumentError(load_problem_);
  }
  latest_ = *c;
  covered_through_ = c->seq;
  return OkStatus();
}

std::string CheckpointWriter::load_problem() const {
  std::lock_guard lock(mu_);
  return load_problem_;
}

std::optional<Checkpoint> CheckpointWriter::Latest() const {
  std::lock_guard lock(mu_);
  return latest_;
}

Status CheckpointWriter::CheckLatestHolds() const {
  if (!load_problem_.empty()) return FailedPreconditionError(load_problem_);
  if (!latest_ || latest_->seq == 0) return OkStatus();
  JIT_ASSIGN_OR_RETURN(std::vector<AuditEvent> signed_event,
                       store_.ReadAudit(latest_->seq - 1, 1));
  if (signed_event.empty() || signed_event[0].seq != latest_->seq ||
      signed_event[0].hash != latest_->hash) {
    return FailedPreconditionError(
        "the audit log no longer holds event " + std::to_string(latest_->seq) +
        " as the latest checkpoint signed it; nothing more is signed until "
        "an operator looks (jit audit verify)");
  }
  return OkStatus();
}

StatusOr<Checkpoint> CheckpointWriter::SignExportBoundary(
    int64_t seq, const std::string& which, const std::string& from,
    const std::string& to) const {
  if (seq < 0) return InvalidArgumentError("seq must not be negative");
  if (which != "start" && which != "end")
    return InvalidArgumentError("boundary must be start or end");
  std::optional<SystemTime> from_time, to_time;
  for (auto [text, out] : {std::pair{&from, &from_time}, {&to, &to_time}}) {
    if (text->empty()) continue;
    JIT_ASSIGN_OR_RETURN(SystemTime t, ParseTime(*text));
    *out = t;
  }
  {
    std::lock_guard lock(mu_);
    JIT_RETURN_IF_ERROR(CheckLatestHolds());
  }
  // Event `seq` and the one after it, when they exist.
  JIT_ASSIGN_OR_RETURN(std::vector<AuditEvent> around,
                       store_.ReadAudit(std::max<int64_t>(seq - 1, 0), 2));
  const AuditEvent* at = nullptr;
  const AuditEvent* next = nullptr;
  for (const AuditEvent& e : around) {
    if (e.seq == seq) at = &e;
    if (e.seq == seq + 1) next = &e;
  }
  if (seq > 0 && at == nullptr)
    return NotFoundError("no audit event " + std::to_string(seq));
  const std::string hash = seq == 0 ? std::string(kGenesisHash) : at->hash;
  auto not_boundary = [&] {
    return FailedPreconditionError("event " + std::to_string(seq) +
                                   " is not the " + which +
                                   " of the range from " + from + " to " + to);
  };
  if (which == "start") {
    if (from_time && at != nullptr && at->time >= *from_time)
      return not_boundary();
    if (from_time && next != nullptr && next->time < *from_time)
      return not_boundary();
  } else {
    if (next != nullptr && (!to_time || next->time < *to_time))
      return not_boundary();
  }
  return signer_.Sign(seq, hash, clock_.Now(), ExportScope(which, from, to));
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
  JIT_RETURN_IF_ERROR(CheckLatestHolds());
  Checkpoint c = signer_.Sign(head.seq, head.hash, clock_.Now());
  ChangeSet cs;
  AuditEvent e;
  e.time = c.time;
  e.type = AuditType::kAuditCheckpoint;
  e.actor = "jitd";
  e.data = CheckpointToJson(c);
  cs.events.push_back(std::move(e));
  CrashPoint("checkpoint.before_file");
  // The file before the event: a crash between the two leaves a file whose
  // checkpoint the log holds (it signs an event already there), never a
  // checkpoint event without its file, which Verify must report as a
  // removed file. A file that cannot be written leaves the previous one,
  // which still holds.
  if (Status s = SaveLatest(c); !s.ok()) {
    spdlog::error("audit checkpoint file: {}", s.ToString());
  } else {
    latest_ = c;
  }
  CrashPoint("checkpoint.after_file");
  JIT_RETURN_IF_ERROR(store_.Commit(cs));
  CrashPoint("checkpoint.after_commit");
  covered_through_ = cs.events[0].seq;
  last_at_ = now;
  latest_ = c;
  return std::optional<Checkpoint>(c);
}

Status CheckpointWriter::SaveLatest(const Checkpoint& c) {
  if (latest_path_.empty()) return OkStatus();
  using std::filesystem::perms;
  return WriteFileAtomically(latest_path_, CheckpointToJson(c) + "\n",
                             perms::owner_read | perms::owner_write |
                                 perms::group_read | perms::others_read);
}

void CheckpointWriter::RunDueAndReport() {
  auto written = RunDue();
  std::string error = written.ok() ? "" : written.status().ToString();
  std::lock_guard lock(report_mu_);
  if (!error.empty() && error != last_error_) {
    spdlog::error("audit checkpoint: {}", error);
    if (on_failure_ &&
        written.status().code() == StatusCode::kFailedPrecondition)
      on_failure_(written.status());
  }
  last_error_ = error;
}

void CheckpointWriter::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      wake_.wait_for(lock, std::chrono::seconds(1),
                     [this] { return stopping_; });
      if (stopping_) break;
      lock.unlock();
      RunDueAndReport();
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
