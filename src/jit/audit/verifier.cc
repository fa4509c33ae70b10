#include "jit/audit/verifier.h"

#include <utility>

namespace jit {

ChainVerifier::ChainVerifier(std::string expected_prev, int64_t first_seq)
    : prev_(std::move(expected_prev)), next_seq_(first_seq) {
  result_.head = prev_;
}

bool ChainVerifier::Add(const AuditEvent& e) {
  if (!result_.ok) return false;
  auto fail = [&](std::string why) {
    result_.ok = false;
    // The first position where the chain stops being what was written.
    result_.first_bad_seq = next_seq_;
    result_.reason = std::move(why);
    return false;
  };
  if (e.seq != next_seq_) {
    return fail("expected seq " + std::to_string(next_seq_) + ", found " +
                std::to_string(e.seq) + " (event missing or reordered)");
  }
  if (e.prev_hash != prev_) {
    return fail("prev_hash does not match the hash of the event before");
  }
  if (ComputeEventHash(e) != e.hash) {
    return fail("hash does not match the event's content (edited)");
  }
  prev_ = e.hash;
  ++next_seq_;
  ++result_.events;
  result_.head = e.hash;
  return true;
}

}  // namespace jit
