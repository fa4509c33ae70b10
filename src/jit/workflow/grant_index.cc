#include "jit/workflow/grant_index.h"

#include <algorithm>

namespace jit {

MonoTime MonoDeadline(SystemTime expires_at, SystemTime now,
                      MonoTime mono_now) {
  if (expires_at <= now) return mono_now;
  return mono_now +
         std::chrono::duration_cast<MonoTime::duration>(expires_at - now);
}

std::string GrantIndex::Key(const std::string& subject,
                            const std::string& entitlement) {
  std::string key = subject;
  key.push_back('\0');
  key += entitlement;
  return key;
}

void GrantIndex::Put(const Grant& g, MonoTime mono_deadline) {
  std::string key = Key(g.subject, g.entitlement);
  std::unique_lock lock(mu_);
  auto& entries = by_key_[key];
  auto it = std::find_if(entries.begin(), entries.end(),
                         [&](const Entry& e) { return e.grant_id == g.id; });
  if (it != entries.end()) {
    it->expires_at = g.expires_at;
    it->mono_deadline = mono_deadline;
    return;
  }
  entries.push_back(Entry{g.id, g.expires_at, mono_deadline});
  key_of_[g.id] = std::move(key);
}

void GrantIndex::Remove(const std::string& grant_id) {
  std::unique_lock lock(mu_);
  auto k = key_of_.find(grant_id);
  if (k == key_of_.end()) return;
  auto bucket = by_key_.find(k->second);
  if (bucket != by_key_.end()) {
    auto& entries = bucket->second;
    std::erase_if(entries,
                  [&](const Entry& e) { return e.grant_id == grant_id; });
    if (entries.empty()) by_key_.erase(bucket);
  }
  key_of_.erase(k);
}

bool GrantIndex::Lengthen(const std::string& grant_id, SystemTime expires_at,
                          std::chrono::milliseconds added) {
  std::unique_lock lock(mu_);
  auto k = key_of_.find(grant_id);
  if (k == key_of_.end()) return false;
  for (Entry& e : by_key_[k->second]) {
    if (e.grant_id != grant_id) continue;
    e.expires_at = expires_at;
    e.mono_deadline += added;
    return true;
  }
  return false;
}

void GrantIndex::Clear() {
  std::unique_lock lock(mu_);
  by_key_.clear();
  key_of_.clear();
}

std::optional<GrantIndex::Hit> GrantIndex::Check(const std::string& subject,
                                                 const std::string& entitlement,
                                                 SystemTime now,
                                                 MonoTime mono_now) const {
  std::string key = Key(subject, entitlement);
  std::shared_lock lock(mu_);
  auto bucket = by_key_.find(key);
  if (bucket == by_key_.end()) return std::nullopt;
  std::optional<Hit> best;
  for (const Entry& e : bucket->second) {
    if (now >= e.expires_at || mono_now >= e.mono_deadline) continue;
    if (!best || e.expires_at > best->expires_at)
      best = Hit{e.grant_id, e.expires_at};
  }
  return best;
}

size_t GrantIndex::size() const {
  std::shared_lock lock(mu_);
  return key_of_.size();
}

}  // namespace jit
