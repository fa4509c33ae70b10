#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "jit/base/clock.h"
#include "jit/domain/grant.h"

namespace jit {

// In-memory index of active grants for the `check` hot path; the database is
// never read there. A grant allows only while BOTH its wall-clock expiry and
// its monotonic deadline lie ahead, so a wall clock stepped backwards cannot
// stretch a grant past its duration (THREATS T13).
//
// Shape (a million grants fit in under 200 MB): each grant is one fixed-size
// slot; subject, entitlement, connector and account names are interned once
// however many grants share them; a grant id of jitd's own form is kept as
// its 16 raw bytes. Slots with the same (subject, entitlement) and the same
// (connector, account) are chained (both ways, so a grant leaves in O(1)),
// and two integer-keyed maps point at each chain's first slot and at its
// slot with the latest expiry. A check looks at that one slot, however many
// grants one subject holds of one entitlement; only a wall clock set back
// (the latest grant's monotonic deadline passed first) makes it walk the
// chain.
// Thread-safe: many concurrent Check()s, writers serialized.
class GrantIndex {
 public:
  struct Hit {
    std::string grant_id;
    SystemTime expires_at;
  };

  GrantIndex() = default;
  GrantIndex(const GrantIndex&) = delete;
  GrantIndex& operator=(const GrantIndex&) = delete;

  // Adds or replaces the grant. `mono_deadline` is the monotonic time at
  // which it stops allowing (now_mono + (expires_at - now_wall) at insert).
  // `target_user` (the account in the target system; empty = not indexed
  // by target) lets enforcement points ask by connector and account.
  void Put(const Grant& g, MonoTime mono_deadline,
           const std::string& target_user = "");
  void Remove(const std::string& grant_id);
  // Moves an indexed grant's expiry to `expires_at` and its monotonic
  // deadline later by `added`, so time the monotonic clock already counted
  // stays counted even if the wall clock was set back (THREATS T13, T15).
  // Returns false when the grant is not indexed.
  bool Lengthen(const std::string& grant_id, SystemTime expires_at,
                std::chrono::milliseconds added);
  void Clear();
  // Makes room for `grants` grants at once (a rebuild), so the tables are
  // not grown step by step.
  void Reserve(size_t grants);

  // The allowing grant of `subject` for `entitlement` with the latest
  // expiry, if any.
  std::optional<Hit> Check(const std::string& subject,
                           const std::string& entitlement, SystemTime now,
                           MonoTime mono_now) const;
  // The allowing grant on `connector` for target account `target_user`
  // with the latest expiry, if any (PAM asks this way).
  std::optional<Hit> CheckTarget(const std::string& connector,
                                 const std::string& target_user, SystemTime now,
                                 MonoTime mono_now) const;
  // Every allowing grant on `connector` for account `target_user`.
  std::vector<std::string> GrantsOfTarget(const std::string& connector,
                                          const std::string& target_user,
                                          SystemTime now,
                                          MonoTime mono_now) const;
  size_t size() const;

 private:
  static constexpr uint32_t kNoSlot = UINT32_MAX;
  static constexpr uint64_t kNoKey = UINT64_MAX;

  // Interned names with reference counts; a name no grant uses is forgotten.
  class Names {
   public:
    uint32_t Acquire(const std::string& name);
    void Release(uint32_t id);
    std::optional<uint32_t> Find(std::string_view name) const;
    void Clear();

   private:
    struct Name {
      std::string text;
      uint32_t refs = 0;
    };
    std::deque<Name> names_;  // never shrinks, so the views below stay put
    std::vector<uint32_t> free_;
    std::unordered_map<std::string_view, uint32_t> ids_;  // views of names_
  };

  // "grt_" + 32 lower-case hex digits, as NewId makes them.
  using PackedId = std::array<uint64_t, 2>;
  struct PackedIdHash {
    size_t operator()(const PackedId& id) const noexcept {
      return static_cast<size_t>(id[0] ^ (id[1] * 0x9e3779b97f4a7c15ULL));
    }
  };
  static std::optional<PackedId> Pack(std::string_view grant_id);
  static std::string Unpack(const PackedId& id);

  struct Slot {
    PackedId id{};
    std::unique_ptr<std::string> other_id;  // an id not of jitd's form
    SystemTime expires_at{};
    MonoTime mono_deadline{};
    uint64_t key = kNoKey;         // subject and entitlement name ids
    uint64_t target_key = kNoKey;  // connector and account name ids
    uint32_t next_by_key = kNoSlot;
    uint32_t prev_by_key = kNoSlot;
    uint32_t next_by_target = kNoSlot;  // also the free list's link
    uint32_t prev_by_target = kNoSlot;
  };
  // One chain: its first slot and its slot with the latest expires_at.
  struct Chain {
    uint32_t first = kNoSlot;
    uint32_t latest = kNoSlot;
  };
  using Heads = std::unordered_map<uint64_t, Chain>;
  // The next and previous links of one kind of chain.
  struct Links {
    uint32_t Slot::*next;
    uint32_t Slot::*prev;
  };
  static constexpr Links kByKey{&Slot::next_by_key, &Slot::prev_by_key};
  static constexpr Links kByTarget{&Slot::next_by_target,
                                   &Slot::prev_by_target};

  static uint64_t PairKey(uint32_t a, uint32_t b) {
    return (static_cast<uint64_t>(a) << 32) | b;
  }
  std::optional<uint64_t> FindKey(const std::string& a,
                                  const std::string& b) const;
  std::optional<uint32_t> FindSlot(const std::string& grant_id) const;
  std::string IdOf(const Slot& s) const;
  void Link(Heads& heads, uint64_t key, uint32_t slot, Links links);
  void Unlink(Heads& heads, uint64_t key, uint32_t slot, Links links);
  // The chain's slot with the latest expires_at (walks it).
  uint32_t Latest(uint32_t first, Links links) const;
  // After `slot`'s expires_at changed (`earlier`: moved back): the chain's
  // latest again.
  void Relink(Heads& heads, uint64_t key, uint32_t slot, Links links,
              bool earlier);
  void RemoveSlot(uint32_t slot);
  std::optional<Hit> Best(const Heads& heads, uint64_t key, Links links,
                          SystemTime now, MonoTime mono_now) const;

  mutable std::shared_mutex mu_;
  // All below guarded by mu_.
  std::deque<Slot> slots_;
  uint32_t free_head_ = kNoSlot;
  Names names_;
  Heads by_key_;     // subject, entitlement -> chain
  Heads by_target_;  // connector, account -> chain
  std::unordered_map<PackedId, uint32_t, PackedIdHash> packed_ids_;
  std::unordered_map<std::string, uint32_t> other_ids_;
};

// The monotonic deadline equivalent to wall time `expires_at` seen at
// (`now`, `mono_now`). Past expiries map to `mono_now`.
MonoTime MonoDeadline(SystemTime expires_at, SystemTime now, MonoTime mono_now);

}  // namespace jit
