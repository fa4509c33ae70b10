// Properties: YAML text of any bytes either fails to parse (yaml-cpp's
// exception, caught here as the config loader does) or goes through
// PolicySet::Load without anything escaping. A loaded set is deterministic
// (loading the same document again gives the same version hash), finds every
// entitlement it lists, and answers Evaluate consistently: an allow stays
// within the cap it reports and names its policy, a deny gives reasons, an
// unknown entitlement is never allowed.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <string>

#include "harness.h"
#include "jit/policy/policy.h"

namespace jit::fuzz {
namespace {

constexpr char kPath[] = "fuzz.yaml";
// A Wednesday, 10:00 UTC: inside most office-hours windows.
constexpr SystemTime kNow{std::chrono::milliseconds(1772618400000)};

bool IsLowerHex(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

void CheckDecision(const PolicySet& set, const AccessAsk& ask) {
  Decision d = set.Evaluate(ask, kNow);
  if (!d.allow) {
    Check(!d.reasons.empty(), "a deny without reasons");
    return;
  }
  Check(set.FindEntitlement(ask.entitlement) != nullptr,
        "allowed an unknown entitlement");
  Check(!d.policy.empty(), "an allow names no policy");
  Check(ask.duration <= d.max_duration, "allowed above the cap it reports");
  Check(d.max_duration <= set.FindEntitlement(ask.entitlement)->max_duration,
        "cap above the entitlement's max_duration");
  Check(d.needs_approval == (d.approvals_required > 0),
        "needs_approval disagrees with approvals_required");
}

void CheckLoaded(const PolicySet& set, const YAML::Node& root) {
  Check(set.version_hash().size() == 64 && IsLowerHex(set.version_hash()),
        "version hash is not 64 hex digits");
  StatusOr<std::shared_ptr<const PolicySet>> again =
      PolicySet::Load(root, kPath);
  Check(again.ok(), "the same document loaded once and failed once");
  Check((*again)->version_hash() == set.version_hash(),
        "the same document loaded with two version hashes");
  (void)set.Warnings();
  Subject alice{"alice", "alice", {"dev", "ops"}};
  for (const Entitlement& e : set.entitlements()) {
    const Entitlement* found = set.FindEntitlement(e.name);
    Check(found != nullptr && found->name == e.name,
          "FindEntitlement misses a listed entitlement");
    Check(e.max_duration.count() > 0, "entitlement without a positive cap");
    (void)set.PoliciesFor(e.name);
    for (Emergency emergency : {Emergency::kNo, Emergency::kYes}) {
      AccessAsk ask{alice,
                    e.name,
                    std::chrono::hours(1),
                    "fixing the nightly import job",
                    "INC-1234",
                    emergency,
                    std::nullopt};
      CheckDecision(set, ask);
    }
  }
  for (const Requestable& r : set.RequestableBy(alice)) {
    Check(set.FindEntitlement(r.entitlement) != nullptr,
          "RequestableBy lists an unknown entitlement");
  }
  AccessAsk unknown{alice, "no such entitlement \n", std::chrono::hours(1), "x",
                    "",    Emergency::kNo,           std::nullopt};
  Check(!set.Evaluate(unknown, kNow).allow, "allowed an unknown entitlement");
}

}  // namespace

void FuzzPolicyLoader(std::span<const uint8_t> data) {
  std::string text(reinterpret_cast<const char*>(data.data()), data.size());
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception&) {
    return;  // a syntax error: reported with a line by LoadYamlFile
  }
  try {
    StatusOr<std::shared_ptr<const PolicySet>> set =
        PolicySet::Load(root, kPath);
    if (!set.ok()) {
      Check(set.status().code() == StatusCode::kInvalidArgument,
            "a policy error is not kInvalidArgument");
      Check(set.status().message().rfind(kPath, 0) == 0,
            "a policy error does not start with the file name");
      return;
    }
    CheckLoaded(**set, root);
  } catch (const std::exception& e) {
    Check(false, std::string("an exception escaped PolicySet: ") + e.what());
  }
}

}  // namespace jit::fuzz
