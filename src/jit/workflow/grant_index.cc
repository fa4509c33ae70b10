#include "jit/workflow/grant_index.h"

#include <fmt/format.h>

namespace jit {
namespace {

constexpr std::string_view kGrantIdPrefix = "grt_";
constexpr size_t kHexDigits = 32;

std::optional<uint64_t> ParseHex64(std::string_view digits) {
  uint64_t v = 0;
  for (char c : digits) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return std::nullopt;  // upper case too: it would not print back the same
    }
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

}  // namespace

MonoTime MonoDeadline(SystemTime expires_at, SystemTime now,
                      MonoTime mono_now) {
  if (expires_at <= now) return mono_now;
  return mono_now +
         std::chrono::duration_cast<MonoTime::duration>(expires_at - now);
}

uint32_t GrantIndex::Names::Acquire(const std::string& name) {
  if (auto it = ids_.find(name); it != ids_.end()) {
    ++names_[it->second].refs;
    return it->second;
  }
  uint32_t id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = static_cast<uint32_t>(names_.size());
    names_.emplace_back();
  }
  names_[id].text = name;
  names_[id].refs = 1;
  ids_.emplace(names_[id].text, id);
  return id;
}

void GrantIndex::Names::Release(uint32_t id) {
  Name& n = names_[id];
  if (--n.refs > 0) return;
  ids_.erase(n.text);
  n.text = std::string();  // gives the heap buffer of a long name back
  free_.push_back(id);
}

std::optional<uint32_t> GrantIndex::Names::Find(std::string_view name) const {
  auto it = ids_.find(name);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

void GrantIndex::Names::Clear() {
  ids_.clear();
  free_.clear();
  names_.clear();
}

std::optional<GrantIndex::PackedId> GrantIndex::Pack(
    std::string_view grant_id) {
  if (grant_id.size() != kGrantIdPrefix.size() + kHexDigits ||
      !grant_id.starts_with(kGrantIdPrefix)) {
    return std::nullopt;
  }
  std::string_view hex = grant_id.substr(kGrantIdPrefix.size());
  auto hi = ParseHex64(hex.substr(0, 16));
  auto lo = ParseHex64(hex.substr(16));
  if (!hi || !lo) return std::nullopt;
  return PackedId{*hi, *lo};
}

std::string GrantIndex::Unpack(const PackedId& id) {
  return fmt::format("{}{:016x}{:016x}", kGrantIdPrefix, id[0], id[1]);
}

std::string GrantIndex::IdOf(const Slot& s) const {
  return s.other_id ? *s.other_id : Unpack(s.id);
}

std::optional<uint32_t> GrantIndex::FindSlot(
    const std::string& grant_id) const {
  if (auto packed = Pack(grant_id)) {
    auto it = packed_ids_.find(*packed);
    if (it == packed_ids_.end()) return std::nullopt;
    return it->second;
  }
  auto it = other_ids_.find(grant_id);
  if (it == other_ids_.end()) return std::nullopt;
  return it->second;
}

std::optional<uint64_t> GrantIndex::FindKey(const std::string& a,
                                            const std::string& b) const {
  auto first = names_.Find(a);
  if (!first) return std::nullopt;
  auto second = names_.Find(b);
  if (!second) return std::nullopt;
  return PairKey(*first, *second);
}

void GrantIndex::Link(Heads& heads, uint64_t key, uint32_t slot, Links links) {
  Slot& s = slots_[slot];
  s.*links.prev = kNoSlot;
  auto [chain, added] = heads.try_emplace(key, Chain{slot, slot});
  if (added) {
    s.*links.next = kNoSlot;
    return;
  }
  Chain& c = chain->second;
  s.*links.next = c.first;
  slots_[c.first].*links.prev = slot;
  c.first = slot;
  if (s.expires_at > slots_[c.latest].expires_at) c.latest = slot;
}

void GrantIndex::Unlink(Heads& heads, uint64_t key, uint32_t slot,
                        Links links) {
  auto chain = heads.find(key);
  if (chain == heads.end()) return;
  Chain& c = chain->second;
  Slot& s = slots_[slot];
  uint32_t next = s.*links.next;
  uint32_t prev = s.*links.prev;
  if (prev != kNoSlot) {
    slots_[prev].*links.next = next;
  } else if (c.first == slot) {
    c.first = next;
  } else {
    return;  // not in this chain
  }
  if (next != kNoSlot) slots_[next].*links.prev = prev;
  s.*links.next = kNoSlot;
  s.*links.prev = kNoSlot;
  if (c.first == kNoSlot) {
    heads.erase(chain);
  } else if (c.latest == slot) {
    c.latest = Latest(c.first, links);
  }
}

uint32_t GrantIndex::Latest(uint32_t first, Links links) const {
  uint32_t latest = first;
  for (uint32_t i = first; i != kNoSlot; i = slots_[i].*links.next) {
    if (slots_[i].expires_at > slots_[latest].expires_at) latest = i;
  }
  return latest;
}

void GrantIndex::Relink(Heads& heads, uint64_t key, uint32_t slot, Links links,
                        bool earlier) {
  auto chain = heads.find(key);
  if (chain == heads.end()) return;
  Chain& c = chain->second;
  if (c.latest == slot) {
    // A later expiry keeps it the latest; only an earlier one may not.
    if (earlier) c.latest = Latest(c.first, links);
  } else if (slots_[slot].expires_at > slots_[c.latest].expires_at) {
    c.latest = slot;
  }
}

void GrantIndex::RemoveSlot(uint32_t slot) {
  Slot& s = slots_[slot];
  Unlink(by_key_, s.key, slot, kByKey);
  names_.Release(static_cast<uint32_t>(s.key >> 32));
  names_.Release(static_cast<uint32_t>(s.key));
  if (s.target_key != kNoKey) {
    Unlink(by_target_, s.target_key, slot, kByTarget);
    names_.Release(static_cast<uint32_t>(s.target_key >> 32));
    names_.Release(static_cast<uint32_t>(s.target_key));
  }
  if (s.other_id) {
    other_ids_.erase(*s.other_id);
  } else {
    packed_ids_.erase(s.id);
  }
  s = Slot{};
  s.next_by_target = free_head_;
  free_head_ = slot;
}

void GrantIndex::Put(const Grant& g, MonoTime mono_deadline,
                     const std::string& target_user) {
  std::optional<PackedId> packed = Pack(g.id);
  std::unique_lock lock(mu_);
  if (auto old = FindSlot(g.id)) RemoveSlot(*old);
  uint32_t slot;
  if (free_head_ != kNoSlot) {
    slot = free_head_;
    free_head_ = slots_[slot].next_by_target;
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[slot];
  s = Slot{};
  if (packed) {
    s.id = *packed;
    packed_ids_.emplace(*packed, slot);
  } else {
    s.other_id = std::make_unique<std::string>(g.id);
    other_ids_.emplace(g.id, slot);
  }
  s.expires_at = g.expires_at;
  s.mono_deadline = mono_deadline;
  s.key = PairKey(names_.Acquire(g.subject), names_.Acquire(g.entitlement));
  Link(by_key_, s.key, slot, kByKey);
  if (!target_user.empty()) {
    s.target_key =
        PairKey(names_.Acquire(g.connector), names_.Acquire(target_user));
    Link(by_target_, s.target_key, slot, kByTarget);
  }
}

void GrantIndex::Remove(const std::string& grant_id) {
  std::unique_lock lock(mu_);
  if (auto slot = FindSlot(grant_id)) RemoveSlot(*slot);
}

bool GrantIndex::Lengthen(const std::string& grant_id, SystemTime expires_at,
                          std::chrono::milliseconds added) {
  std::unique_lock lock(mu_);
  auto slot = FindSlot(grant_id);
  if (!slot) return false;
  Slot& s = slots_[*slot];
  const bool earlier = expires_at < s.expires_at;
  s.expires_at = expires_at;
  s.mono_deadline += added;
  Relink(by_key_, s.key, *slot, kByKey, earlier);
  if (s.target_key != kNoKey)
    Relink(by_target_, s.target_key, *slot, kByTarget, earlier);
  return true;
}

void GrantIndex::Clear() {
  std::unique_lock lock(mu_);
  by_key_.clear();
  by_target_.clear();
  packed_ids_.clear();
  other_ids_.clear();
  names_.Clear();
  slots_.clear();
  free_head_ = kNoSlot;
}

void GrantIndex::Reserve(size_t grants) {
  std::unique_lock lock(mu_);
  packed_ids_.reserve(grants);
  by_key_.reserve(grants);
}

std::optional<GrantIndex::Hit> GrantIndex::Best(const Heads& heads,
                                                uint64_t key, Links links,
                                                SystemTime now,
                                                MonoTime mono_now) const {
  auto chain = heads.find(key);
  if (chain == heads.end()) return std::nullopt;
  const Slot& latest = slots_[chain->second.latest];
  // No grant of the chain expires later: if this one has, all have.
  if (now >= latest.expires_at) return std::nullopt;
  if (mono_now < latest.mono_deadline)
    return Hit{IdOf(latest), latest.expires_at};
  // Its monotonic deadline passed first (the wall clock was set back since
  // it was put): another grant may still allow.
  const Slot* best = nullptr;
  for (uint32_t i = chain->second.first; i != kNoSlot;
       i = slots_[i].*links.next) {
    const Slot& s = slots_[i];
    if (now >= s.expires_at || mono_now >= s.mono_deadline) continue;
    if (best == nullptr || s.expires_at > best->expires_at) best = &s;
  }
  if (best == nullptr) return std::nullopt;
  return Hit{IdOf(*best), best->expires_at};
}

std::optional<GrantIndex::Hit> GrantIndex::Check(const std::string& subject,
                                                 const std::string& entitlement,
                                                 SystemTime now,
                                                 MonoTime mono_now) const {
  std::shared_lock lock(mu_);
  auto key = FindKey(subject, entitlement);
  if (!key) return std::nullopt;
  return Best(by_key_, *key, kByKey, now, mono_now);
}

std::optional<GrantIndex::Hit> GrantIndex::CheckTarget(
    const std::string& connector, const std::string& target_user,
    SystemTime now, MonoTime mono_now) const {
  if (target_user.empty()) return std::nullopt;
  std::shared_lock lock(mu_);
  auto key = FindKey(connector, target_user);
  if (!key) return std::nullopt;
  return Best(by_target_, *key, kByTarget, now, mono_now);
}

std::vector<std::string> GrantIndex::GrantsOfTarget(
    const std::string& connector, const std::string& target_user,
    SystemTime now, MonoTime mono_now) const {
  std::vector<std::string> out;
  if (target_user.empty()) return out;
  std::shared_lock lock(mu_);
  auto key = FindKey(connector, target_user);
  if (!key) return out;
  auto head = by_target_.find(*key);
  if (head == by_target_.end()) return out;
  for (uint32_t i = head->second.first; i != kNoSlot;
       i = slots_[i].next_by_target) {
    const Slot& s = slots_[i];
    if (now < s.expires_at && mono_now < s.mono_deadline)
      out.push_back(IdOf(s));
  }
  return out;
}

size_t GrantIndex::size() const {
  std::shared_lock lock(mu_);
  return packed_ids_.size() + other_ids_.size();
}

}  // namespace jit
