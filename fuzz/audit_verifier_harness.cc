// Builds a valid hash chain from the first input bytes, applies the edits
// the rest of the input describes (change, flip, swap, drop, duplicate,
// truncate, re-hash) and feeds the result to ChainVerifier. Properties: the
// untouched chain verifies in full; a changed chain is never accepted as the
// original (same length and head); without re-hashing, the verifier accepts
// exactly the unchanged prefixes and names the first changed position.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "harness.h"
#include "jit/audit/event.h"
#include "jit/audit/verifier.h"

namespace jit::fuzz {
namespace {

constexpr int kMaxEvents = 12;
constexpr int kMaxEdits = 8;

// Reads the input front to back; past the end it yields zeros.
class Bytes {
 public:
  explicit Bytes(std::span<const uint8_t> data) : data_(data) {}
  uint8_t Next() { return pos_ < data_.size() ? data_[pos_++] : 0; }
  bool Done() const { return pos_ >= data_.size(); }
  std::string Text() {
    size_t n = std::min<size_t>(Next() % 24, data_.size() - pos_);
    std::string out(reinterpret_cast<const char*>(data_.data() + pos_), n);
    pos_ += n;
    return out;
  }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

// A known AuditType chosen by `b`. Values outside the enum all hash as
// "unknown", so only known ones are used.
AuditType TypeFrom(uint8_t b) {
  std::vector<AuditType> known;
  for (int i = 0; i < 64; ++i) {
    if (ToString(static_cast<AuditType>(i)) != "unknown") {
      known.push_back(static_cast<AuditType>(i));
    }
  }
  return known[b % known.size()];
}

bool Same(const AuditEvent& a, const AuditEvent& b) {
  return a.seq == b.seq && a.time == b.time && a.type == b.type &&
         a.actor == b.actor && a.subject == b.subject &&
         a.request_id == b.request_id && a.grant_id == b.grant_id &&
         a.data == b.data && a.prev_hash == b.prev_hash && a.hash == b.hash;
}

bool Same(const std::vector<AuditEvent>& a, const std::vector<AuditEvent>& b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(),
                    [](const auto& x, const auto& y) { return Same(x, y); });
}

std::vector<AuditEvent> MakeChain(Bytes& in, const std::string& genesis,
                                  int64_t first_seq) {
  int n = 1 + in.Next() % kMaxEvents;
  std::vector<AuditEvent> chain;
  std::string prev = genesis;
  for (int i = 0; i < n; ++i) {
    AuditEvent e;
    e.seq = first_seq + i;
    e.time = SystemTime(
        std::chrono::milliseconds(1'700'000'000'000 + i * 60'000 + in.Next()));
    e.type = TypeFrom(in.Next());
    e.actor = in.Next() % 2 ? "alice" : "jitd";
    e.subject = "alice";
    e.request_id = "req_" + std::to_string(i);
    e.grant_id = in.Next() % 2 ? "grt_" + std::to_string(i) : "";
    e.data = "{\"n\":" + std::to_string(i) + "}";
    e.prev_hash = prev;
    e.hash = ComputeEventHash(e);
    prev = e.hash;
    chain.push_back(e);
  }
  return chain;
}

std::string* TextField(AuditEvent& e, uint8_t which) {
  switch (which % 7) {
    case 0:
      return &e.actor;
    case 1:
      return &e.subject;
    case 2:
      return &e.request_id;
    case 3:
      return &e.grant_id;
    case 4:
      return &e.data;
    case 5:
      return &e.prev_hash;
    default:
      return &e.hash;
  }
}

// Applies one edit; returns true when it re-hashed an event.
bool Edit(Bytes& in, std::vector<AuditEvent>& chain) {
  uint8_t op = in.Next() % 8;
  if (chain.empty()) return false;
  size_t i = in.Next() % chain.size();
  AuditEvent& e = chain[i];
  switch (op) {
    case 0:
      *TextField(e, in.Next()) = in.Text();
      return false;
    case 1: {
      std::string* field = TextField(e, in.Next());
      if (!field->empty()) {
        (*field)[in.Next() % field->size()] ^=
            static_cast<char>(1 << (in.Next() % 8));
      }
      return false;
    }
    case 2:
      e.seq += static_cast<int8_t>(in.Next());
      return false;
    case 3:
      e.time += std::chrono::milliseconds(static_cast<int8_t>(in.Next()));
      e.type = TypeFrom(in.Next());
      return false;
    case 4:
      std::swap(e, chain[in.Next() % chain.size()]);
      return false;
    case 5:
      chain.erase(chain.begin() + static_cast<std::ptrdiff_t>(i));
      return false;
    case 6:
      chain.insert(chain.begin() + in.Next() % (chain.size() + 1),
                   AuditEvent(e));
      return false;
    default:
      e.hash = ComputeEventHash(e);
      return true;
  }
}

VerifyResult Verify(const std::vector<AuditEvent>& chain,
                    const std::string& genesis, int64_t first_seq) {
  ChainVerifier verifier(genesis, first_seq);
  for (const AuditEvent& e : chain) verifier.Add(e);
  return verifier.Result();
}

// Without re-hashing, a chain verifies exactly as far as it is unchanged.
void CheckExactPosition(const std::vector<AuditEvent>& original,
                        const std::vector<AuditEvent>& changed,
                        const VerifyResult& r, int64_t first_seq) {
  size_t same = 0;
  while (same < original.size() && same < changed.size() &&
         Same(original[same], changed[same])) {
    ++same;
  }
  if (same == changed.size()) {
    Check(r.ok, "an unchanged prefix of a chain failed to verify");
    Check(r.events == static_cast<int64_t>(same), "prefix count is wrong");
    return;
  }
  Check(!r.ok, "a changed event passed without re-hashing");
  Check(r.first_bad_seq == first_seq + static_cast<int64_t>(same),
        "the verifier named the wrong first bad event");
  Check(r.events == static_cast<int64_t>(same), "good-event count is wrong");
}

}  // namespace

void FuzzAuditVerifier(std::span<const uint8_t> data) {
  Bytes in(data);
  uint8_t start = in.Next() % 3;
  int64_t first_seq = 1 + start;
  // A slice after a checkpoint starts from that checkpoint's head.
  std::string genesis = start == 0 ? std::string(kGenesisHash)
                                   : std::string(64, "0123456789abcdef"[start]);
  const std::vector<AuditEvent> original = MakeChain(in, genesis, first_seq);

  VerifyResult clean = Verify(original, genesis, first_seq);
  Check(clean.ok && !clean.first_bad_seq, "an untouched chain failed");
  Check(clean.events == static_cast<int64_t>(original.size()),
        "an untouched chain verified partly");
  Check(clean.head == original.back().hash, "head is not the last hash");

  std::vector<AuditEvent> changed = original;
  bool rehashed = false;
  for (int k = 0; k < kMaxEdits && !in.Done(); ++k) {
    rehashed = Edit(in, changed) || rehashed;
  }
  VerifyResult r = Verify(changed, genesis, first_seq);
  if (Same(changed, original)) {
    Check(r.ok && r.events == clean.events, "the same chain verified apart");
    return;
  }
  Check(!(r.ok && r.events == clean.events && r.head == clean.head),
        "a changed chain was accepted as the original");
  if (r.ok) {
    Check(r.events == static_cast<int64_t>(changed.size()),
          "accepted without counting every event");
  } else {
    Check(r.first_bad_seq.has_value() && !r.reason.empty(),
          "a failure without position or reason");
  }
  if (!rehashed) CheckExactPosition(original, changed, r, first_seq);
}

}  // namespace jit::fuzz
