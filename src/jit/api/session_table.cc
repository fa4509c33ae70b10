#include "jit/api/session_table.h"

#include <algorithm>

#include "jit/base/ids.h"
#include "jit/base/sha256.h"

namespace jit {
namespace {

constexpr size_t kIdBytes = 32;

}  // namespace

SessionTable::SessionTable(const Clock& clock, std::chrono::seconds max_age,
                           size_t max_sessions)
    : clock_(clock),
      max_age_(max_age),
      max_sessions_(std::max<size_t>(max_sessions, 1)) {}

std::string SessionTable::Start(std::string credential) {
  std::string id = RandomHex(kIdBytes);
  SystemTime now = clock_.Now();
  std::lock_guard lock(mu_);
  for (auto it = by_hash_.begin(); it != by_hash_.end();) {
    it = it->second.ends_at <= now ? by_hash_.erase(it) : std::next(it);
  }
  if (by_hash_.size() >= max_sessions_) EvictOneLocked();
  by_hash_[Sha256Hex(id)] = Entry{std::move(credential), now + max_age_};
  return id;
}

StatusOr<std::string> SessionTable::Credential(std::string_view id) {
  if (id.size() != 2 * kIdBytes) return UnauthenticatedError("no session");
  std::string key = Sha256Hex(id);
  std::lock_guard lock(mu_);
  auto it = by_hash_.find(key);
  if (it == by_hash_.end()) return UnauthenticatedError("no session");
  if (it->second.ends_at <= clock_.Now()) {
    by_hash_.erase(it);
    return UnauthenticatedError("session expired; sign in again");
  }
  return it->second.credential;
}

void SessionTable::End(std::string_view id) {
  std::string key = Sha256Hex(id);
  std::lock_guard lock(mu_);
  by_hash_.erase(key);
}

size_t SessionTable::size() const {
  std::lock_guard lock(mu_);
  return by_hash_.size();
}

void SessionTable::EvictOneLocked() {
  auto oldest = std::min_element(by_hash_.begin(), by_hash_.end(),
                                 [](const auto& a, const auto& b) {
                                   return a.second.ends_at < b.second.ends_at;
                                 });
  if (oldest != by_hash_.end()) by_hash_.erase(oldest);
}

}  // namespace jit
