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
  struct Entry {
    std::string grant_id;
    SystemTime expires_at;
    MonoTime mono_deadline;
  };
  using Buckets = std::unordered_map<std::string, std::vector<Entry>>;
  struct Keys {
    std::string key;
    std::string target_key;  // empty when not indexed by target
  };
  static std::string Key(const std::string& a, const std::string& b);
  static std::optional<Hit> Best(const Buckets& buckets, const std::string& key,
                                 SystemTime now, MonoTime mono_now);

  mutable std::shared_mutex mu_;
  // subject '\0' entitlement -> entries; guarded by mu_
  Buckets by_key_;
  // connector '\0' target user -> entries; guarded by mu_
  Buckets by_target_;
  // grant id -> its keys; guarded by mu_
  std::unordered_map<std::string, Keys> key_of_;
};

// The monotonic deadline equivalent to wall time `expires_at` seen at
// (`now`, `mono_now`). Past expiries map to `mono_now`.
MonoTime MonoDeadline(SystemTime expires_at, SystemTime now, MonoTime mono_now);

}  // namespace jit
