#include "jit/audit/verifier.h"

#include <algorithm>
#include <utility>

namespace jit {
namespace {

constexpr size_t kRecentHashes = 4096;

}  // namespace

ChainVerifier::ChainVerifier(std::string expected_prev, int64_t first_seq,
                             const CheckpointKey* key)
    : prev_(std::move(expected_prev)), next_seq_(first_seq), key_(key) {
  result_.head = prev_;
  result_.proven_through = first_seq - 1;
}

bool ChainVerifier::Fail(int64_t seq, std::string why) {
  result_.ok = false;
  result_.first_bad_seq = seq;
  result_.reason = std::move(why);
  return false;
}

bool ChainVerifier::Add(const AuditEvent& e) {
  if (!result_.ok) return false;
  // The first position where the chain stops being what was written.
  if (e.seq != next_seq_) {
    return Fail(next_seq_, "expected seq " + std::to_string(next_seq_) +
                               ", found " + std::to_string(e.seq) +
                               " (event missing or reordered)");
  }
  if (e.prev_hash != prev_) {
    return Fail(next_seq_,
                "prev_hash does not match the hash of the event before");
  }
  if (ComputeEventHash(e) != e.hash) {
    return Fail(next_seq_, "hash does not match the event's content (edited)");
  }
  if (e.type == AuditType::kAuditCheckpoint && key_ != nullptr &&
      !CheckCheckpoint(e)) {
    return false;
  }
  recent_.emplace_back(e.seq, e.hash);
  if (recent_.size() > kRecentHashes) recent_.pop_front();
  prev_ = e.hash;
  ++next_seq_;
  ++result_.events;
  result_.head = e.hash;
  return true;
}

bool ChainVerifier::CheckCheckpoint(const AuditEvent& e) {
  StatusOr<Checkpoint> c = CheckpointFromJson(e.data);
  if (!c.ok()) return Fail(e.seq, "checkpoint: " + c.status().message());
  // One signing key per log: a checkpoint naming another key is a forgery
  // or a relabelled one (its key_id is inside the hashed data).
  if (!c->scope.empty() || c->key_id != key_->key_id() || !key_->Verify(*c))
    return Fail(e.seq, "checkpoint signature does not check out with key " +
                           key_->key_id());
  for (const auto& [seq, hash] : recent_) {
    if (seq != c->seq) continue;
    if (hash != c->hash) {
      const int64_t proven = result_.proven_through;
      return Fail(proven + 1,
                  "event " + std::to_string(seq) +
                      " differs from what the checkpoint at seq " +
                      std::to_string(e.seq) +
                      " signed (rewritten); nothing after seq " +
                      std::to_string(proven) +
                      ", the last signed checkpoint that holds, is proven");
    }
    result_.proven_through = std::max(result_.proven_through, seq);
  }
  ++result_.checkpoints;
  return true;
}

}  // namespace jit
