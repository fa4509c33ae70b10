#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "jit/audit/event.h"

namespace jit {

struct VerifyResult {
  bool ok = true;
  int64_t events = 0;
  std::string head;  // hash of the last good event
  std::optional<int64_t> first_bad_seq;
  std::string reason;
};

// Checks a chain fed event by event in seq order: seq numbers consecutive
// from the first one seen, each prev_hash equal to the previous hash, each
// hash recomputed. Stops judging at the first bad event and names it.
// Not thread-safe; one instance per verification.
class ChainVerifier {
 public:
  // `expected_prev` is the hash before the first event fed (genesis for a
  // full chain, a checkpoint's head for a slice). `first_seq` likewise.
  explicit ChainVerifier(std::string expected_prev = std::string(kGenesisHash),
                         int64_t first_seq = 1);
  // Returns false once the chain is broken (further events are ignored).
  bool Add(const AuditEvent& e);
  VerifyResult Result() const { return result_; }

 private:
  std::string prev_;
  int64_t next_seq_;
  VerifyResult result_;
};

}  // namespace jit
