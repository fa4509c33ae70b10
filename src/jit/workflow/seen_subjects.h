#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "jit/base/clock.h"
#include "jit/policy/policy.h"

namespace jit {

// Subjects that signed in through the identity provider, with the groups
// their latest token carried and when. Activation re-checks eligibility
// when the requester is not the caller (THREATS T7); for a static-token
// subject the config's directory answers, for an IdP subject this does:
// the freshest groups jitd has seen. An entry older than `max_age` counts as
// unknown, so a person the IdP dropped cannot have a request activated on
// what they held days ago; nothing is kept across a restart (then the
// person's next call fills it again, and until then activation refuses).
// Bounded: past `max_entries` the oldest entry goes. Thread-safe.
class SeenSubjects {
 public:
  // `clock` outlives this.
  explicit SeenSubjects(const Clock& clock,
                        Duration max_age = std::chrono::hours(24),
                        size_t max_entries = 100'000)
      : clock_(clock), max_age_(max_age), max_entries_(max_entries) {}

  void Record(const Subject& subject);
  // The subject as last seen, if seen within max_age.
  std::optional<Subject> Find(const std::string& name) const;
  size_t size() const;

 private:
  struct Entry {
    Subject subject;
    SystemTime seen;
  };
  const Clock& clock_;
  const Duration max_age_;
  const size_t max_entries_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> by_name_;           // guarded by mu_
  std::multimap<SystemTime, std::string> by_age_;  // guarded by mu_
};

}  // namespace jit
