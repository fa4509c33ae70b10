#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "jit/base/clock.h"
#include "jit/base/status.h"
#include "jit/identity/oidc_config.h"
#include "jit/policy/policy.h"

namespace jit {

// Who a verified token says the caller is.
struct OidcIdentity {
  Subject subject;  // name from `subject_claim`, groups mapped
  // For the MFA step-up: how and when the user authenticated at the IdP.
  std::vector<std::string> amr;
  std::string acr;
  std::optional<SystemTime> auth_time;
};

// Maps verified claims to an identity: the subject name from
// `config.subject_claim` (a non-empty string of at most 256 characters
// without control characters), groups from `config.groups_claim` (a list
// of strings; missing or null = no groups) through `config.group_map`
// (unmapped groups kept unless `only_mapped_groups`; no duplicates), and
// `amr` (list of strings), `acr` (string), `auth_time` (NumericDate) when
// present. kUnauthenticated naming the claim when one has the wrong shape.
// Pure.
StatusOr<OidcIdentity> MapClaims(const nlohmann::json& claims,
                                 const OidcConfig& config);

}  // namespace jit
