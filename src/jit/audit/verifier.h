#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>

#include "jit/audit/checkpoint.h"
#include "jit/audit/event.h"

namespace jit {

struct VerifyResult {
  bool ok = true;
  int64_t events = 0;
  std::string head;  // hash of the last good event
  std::optional<int64_t> first_bad_seq;
  std::string reason;
  int64_t checkpoints = 0;  // audit.checkpoint events whose signature held
  // Events up to here are vouched for by a signed checkpoint that holds (0:
  // none); where a signature shows a rewrite, first_bad_seq is the event
  // after this one, as nothing later is proven.
  int64_t proven_through = 0;
};

// Checks a chain fed event by event in seq order: seq numbers consecutive
// from the first one seen, each prev_hash equal to the previous hash, each
// hash recomputed. With `key`, each audit.checkpoint event must carry a
// valid signature by that key over the hash its covered event has in the
// chain. Stops judging at
// the first bad event and names it. Not thread-safe; one instance per
// verification; `key` must outlive it.
class ChainVerifier {
 public:
  // `expected_prev` is the hash before the first event fed (genesis for a
  // full chain, a checkpoint's head for a slice). `first_seq` likewise.
  explicit ChainVerifier(std::string expected_prev = std::string(kGenesisHash),
                         int64_t first_seq = 1,
                         const CheckpointKey* key = nullptr);
  // Returns false once the chain is broken (further events are ignored).
  bool Add(const AuditEvent& e);
  VerifyResult Result() const { return result_; }

 private:
  bool Fail(int64_t seq, std::string why);
  bool CheckCheckpoint(const AuditEvent& e);

  std::string prev_;
  int64_t next_seq_;
  const CheckpointKey* key_;
  std::deque<std::pair<int64_t, std::string>> recent_;  // (seq, hash)
  VerifyResult result_;
};

}  // namespace jit
