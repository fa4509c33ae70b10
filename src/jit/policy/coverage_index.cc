#include "jit/policy/coverage_index.h"

#include <algorithm>

#include "jit/policy/policy_model.h"

namespace jit::policy_internal {
namespace {

using Positions = std::vector<size_t>;

// Appends `position` unless it is already last: positions come in
// ascending order, so this keeps each list ascending without repeats.
void AddPosition(Positions& list, size_t position) {
  if (list.empty() || list.back() != position) list.push_back(position);
}

bool InAny(size_t position, const std::vector<const Positions*>& lists) {
  return std::any_of(lists.begin(), lists.end(), [&](const Positions* list) {
    return std::binary_search(list->begin(), list->end(), position);
  });
}

// The members of `candidates` (ascending) found in one of `lists`, in the
// order of `candidates`.
Positions Filter(const Positions& candidates,
                 const std::vector<const Positions*>& lists) {
  Positions out;
  for (size_t position : candidates) {
    if (InAny(position, lists)) out.push_back(position);
  }
  return out;
}

// Every position in `lists`, ascending, each once.
Positions Union(const std::vector<const Positions*>& lists) {
  Positions out;
  for (const Positions* list : lists) {
    out.insert(out.end(), list->begin(), list->end());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

CoverageIndex CoverageIndex::Build(const PolicySet::Impl& impl) {
  CoverageIndex index;
  index.by_entitlement_.resize(impl.entitlements.size());
  for (size_t i = 0; i < impl.policies.size(); ++i) {
    const PolicyDef& p = impl.policies[i];
    for (const std::string& name : p.entitlements) {
      auto it = impl.entitlement_index.find(name);
      if (it == impl.entitlement_index.end()) continue;
      AddPosition(index.by_entitlement_[it->second], i);
    }
    for (const std::string& user : p.subject_users) {
      AddPosition(index.by_user_[user], i);
    }
    for (const std::string& token : p.subject_tokens) {
      AddPosition(index.by_token_[token], i);
    }
    for (const std::string& group : p.subject_groups) {
      AddPosition(index.by_group_[group], i);
    }
  }
  return index;
}

std::vector<const Positions*> CoverageIndex::SubjectLists(
    const Subject& subject) const {
  std::vector<const Positions*> lists;
  const auto& by_name = subject.machine ? by_token_ : by_user_;
  if (auto it = by_name.find(subject.name); it != by_name.end()) {
    lists.push_back(&it->second);
  }
  for (const std::string& group : subject.groups) {
    if (auto it = by_group_.find(group); it != by_group_.end()) {
      lists.push_back(&it->second);
    }
  }
  return lists;
}

std::vector<size_t> CoverageIndex::Covering(size_t entitlement,
                                            const Subject& subject) const {
  if (entitlement >= by_entitlement_.size()) return {};
  const Positions& listing = by_entitlement_[entitlement];
  if (listing.empty()) return {};
  std::vector<const Positions*> naming = SubjectLists(subject);
  size_t naming_total = 0;
  for (const Positions* list : naming) naming_total += list->size();
  // Walk the shorter side, looking each position up in the other: an
  // entitlement listed by every policy costs only the subject's few, and a
  // group in every policy costs only the entitlement's few.
  if (listing.size() <= naming_total) return Filter(listing, naming);
  return Filter(Union(naming), {&listing});
}

}  // namespace jit::policy_internal
