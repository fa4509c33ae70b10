#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

#include "jit/policy/policy.h"

namespace jit::policy_internal {

// Which policies cover an ask, found without visiting every policy: at
// 10 000 policies a scan of all of them is the whole cost of Evaluate.
// Built once at load from the loaded policies, read-only afterwards, so it
// is thread-safe like the PolicySet that holds it.
class CoverageIndex {
 public:
  // Empty: covers nothing.
  CoverageIndex() = default;
  // Indexes `impl.policies`, whose entitlements must all be in
  // `impl.entitlement_index` (names missing there are never matched).
  static CoverageIndex Build(const PolicySet::Impl& impl);

  // Positions in the policy list, ascending (file order), of exactly the
  // policies that list entitlement number `entitlement` (its position in
  // the entitlement list) and cover `subject`: `subject.name` in
  // subjects.users or one of `subject.groups` in subjects.groups. The same
  // set as a scan with PolicyDef::Lists and PolicyDef::Covers.
  std::vector<size_t> Covering(size_t entitlement,
                               const Subject& subject) const;

 private:
  using Positions = std::vector<size_t>;  // ascending, no repeats

  // The lists of policies naming `subject` by name or through a group.
  std::vector<const Positions*> SubjectLists(const Subject& subject) const;

  std::vector<Positions> by_entitlement_;  // by entitlement position
  std::unordered_map<std::string, Positions> by_user_;
  std::unordered_map<std::string, Positions> by_token_;
  std::unordered_map<std::string, Positions> by_group_;
};

}  // namespace jit::policy_internal
