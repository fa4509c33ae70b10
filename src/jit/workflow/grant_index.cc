#include "jit/workflow/grant_index.h"

#include <algorithm>

namespace jit {
namespace {

// Replaces the entry of the same grant in `entries`, or adds it.
template <class Entries, class Entry>
void Upsert(Entries& entries, const Entry& entry) {
  auto it = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) {
    return e.grant_id == entry.grant_id;
  });
  if (it != entries.end()) {
    *it = entry;
  } else {
    entries.push_back(entry);
  }
}

template <class Buckets>
void Erase(Buckets& buckets, const std::string& key,
           const std::string& grant_id) {
  auto bucket = buckets.find(key);
  if (bucket == buckets.end()) return;
  std::erase_if(bucket->second,
                [&](const auto& e) { return e.grant_id == grant_id; });
  if (bucket->second.empty()) buckets.erase(bucket);
}

}  // namespace

MonoTime MonoDeadline(SystemTime expires_at, SystemTime now,
                      MonoTime mono_now) {
  if (expires_at <= now) return mono_now;
  return mono_now +
         std::chrono::duration_cast<MonoTime::duration>(expires_at - now);
}

std::string GrantIndex::Key(const std::string& a, const std::string& b) {
  std::string key = a;
  key.push_back('\0');
  key += b;
  return key;
}

void GrantIndex::Put(const Grant& g, MonoTime mono_deadline,
                     const std::string& target_user) {
  Keys keys{Key(g.subject, g.entitlement),
            target_user.empty() ? "" : Key(g.connector, target_user)};
  Entry entry{g.id, g.expires_at, mono_deadline};
  std::unique_lock lock(mu_);
  auto old = key_of_.find(g.id);
  if (old != key_of_.end() && old->second.target_key != keys.target_key &&
      !old->second.target_key.empty()) {
    Erase(by_target_, old->second.target_key, g.id);
  }
  Upsert(by_key_[keys.key], entry);
  if (!keys.target_key.empty()) Upsert(by_target_[keys.target_key], entry);
  key_of_[g.id] = std::move(keys);
}

void GrantIndex::Remove(const std::string& grant_id) {
  std::unique_lock lock(mu_);
  auto k = key_of_.find(grant_id);
  if (k == key_of_.end()) return;
  Erase(by_key_, k->second.key, grant_id);
  if (!k->second.target_key.empty())
    Erase(by_target_, k->second.target_key, grant_id);
  key_of_.erase(k);
}

bool GrantIndex::Lengthen(const std::string& grant_id, SystemTime expires_at,
                          std::chrono::milliseconds added) {
  std::unique_lock lock(mu_);
  auto k = key_of_.find(grant_id);
  if (k == key_of_.end()) return false;
  bool found = false;
  auto lengthen = [&](Buckets& buckets, const std::string& key) {
    auto bucket = buckets.find(key);
    if (bucket == buckets.end()) return;
    for (Entry& e : bucket->second) {
      if (e.grant_id != grant_id) continue;
      e.expires_at = expires_at;
      e.mono_deadline += added;
      found = true;
    }
  };
  lengthen(by_key_, k->second.key);
  if (!k->second.target_key.empty()) lengthen(by_target_, k->second.target_key);
  return found;
}

void GrantIndex::Clear() {
  std::unique_lock lock(mu_);
  by_key_.clear();
  by_target_.clear();
  key_of_.clear();
}

std::optional<GrantIndex::Hit> GrantIndex::Best(const Buckets& buckets,
                                                const std::string& key,
                                                SystemTime now,
                                                MonoTime mono_now) {
  auto bucket = buckets.find(key);
  if (bucket == buckets.end()) return std::nullopt;
  std::optional<Hit> best;
  for (const Entry& e : bucket->second) {
    if (now >= e.expires_at || mono_now >= e.mono_deadline) continue;
    if (!best || e.expires_at > best->expires_at)
      best = Hit{e.grant_id, e.expires_at};
  }
  return best;
}

std::optional<GrantIndex::Hit> GrantIndex::Check(const std::string& subject,
                                                 const std::string& entitlement,
                                                 SystemTime now,
                                                 MonoTime mono_now) const {
  std::string key = Key(subject, entitlement);
  std::shared_lock lock(mu_);
  return Best(by_key_, key, now, mono_now);
}

std::optional<GrantIndex::Hit> GrantIndex::CheckTarget(
    const std::string& connector, const std::string& target_user,
    SystemTime now, MonoTime mono_now) const {
  if (target_user.empty()) return std::nullopt;
  std::string key = Key(connector, target_user);
  std::shared_lock lock(mu_);
  return Best(by_target_, key, now, mono_now);
}

std::vector<std::string> GrantIndex::GrantsOfTarget(
    const std::string& connector, const std::string& target_user,
    SystemTime now, MonoTime mono_now) const {
  std::vector<std::string> out;
  if (target_user.empty()) return out;
  std::string key = Key(connector, target_user);
  std::shared_lock lock(mu_);
  auto bucket = by_target_.find(key);
  if (bucket == by_target_.end()) return out;
  for (const Entry& e : bucket->second) {
    if (now < e.expires_at && mono_now < e.mono_deadline)
      out.push_back(e.grant_id);
  }
  return out;
}

size_t GrantIndex::size() const {
  std::shared_lock lock(mu_);
  return key_of_.size();
}

}  // namespace jit
