#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "jit/base/clock.h"
#include "jit/domain/grant.h"

namespace jit {

// In-memory index of active grants for the `check` hot path; the database is
// never read there. A grant allows only while BOTH its wall-clock expiry and
// its monotonic deadline lie ahead, so a wall clock stepped backwards cannot
// stretch a grant past its duration (THREATS T13).
// Thread-safe: many concurrent Check()s, writers serialized.
class GrantIndex {
 public:
  struct Hit {
    std::string grant_id;
    SystemTime expires_at;
  };

  // Adds or replaces the grant. `mono_deadline` is the monotonic time at
  // which it stops allowing (now_mono + (expires_at - now_wall) at insert).
  void Put(const Grant& g, MonoTime mono_deadline);
  void Remove(const std::string& grant_id);
  // Moves an indexed grant's expiry to `expires_at` and its monotonic
  // deadline later by `added`, so time the monotonic clock already counted
  // stays counted even if the wall clock was set back (THREATS T13, T15).
  // Returns false when the grant is not indexed.
  bool Lengthen(const std::string& grant_id, SystemTime expires_at,
                std::chrono::milliseconds added);
  void Clear();

  // The allowing grant of `subject` for `entitlement` with the latest
  // expiry, if any.
  std::optional<Hit> Check(const std::string& subject,
                           const std::string& entitlement, SystemTime now,
                           MonoTime mono_now) const;
  size_t size() const;

 private:
  struct Entry {
    std::string grant_id;
    SystemTime expires_at;
    MonoTime mono_deadline;
  };
  static std::string Key(const std::string& subject,
                         const std::string& entitlement);

  mutable std::shared_mutex mu_;
  // subject '\0' entitlement -> entries; guarded by mu_
  std::unordered_map<std::string, std::vector<Entry>> by_key_;
  // grant id -> key; guarded by mu_
  std::unordered_map<std::string, std::string> key_of_;
};

// The monotonic deadline equivalent to wall time `expires_at` seen at
// (`now`, `mono_now`). Past expiries map to `mono_now`.
MonoTime MonoDeadline(SystemTime expires_at, SystemTime now, MonoTime mono_now);

}  // namespace jit
