#pragma once

#include <optional>
#include <string>
#include <vector>

#include "jit/policy/policy.h"

namespace jit {

// Roles come from config (`roles: {admin: [groups], ...}`); a principal holds
// a role when one of its groups is listed for it.
enum class Role { kAdmin, kAuditor, kEnforcer };

// Where a caller acted from when not through the REST API with a credential
// of their own (a Slack button): recorded in the audit event of what they
// did, as data "via" and "via_user".
struct ActingVia {
  std::string channel;  // "slack"
  std::string user_id;  // the caller's id there, e.g. Slack's "U012ABC"
};

// An authenticated caller.
struct Principal {
  Subject subject;
  bool admin = false;
  bool auditor = false;
  bool enforcer = false;
  // How the caller signed in at the identity provider, from an OIDC token's
  // `amr`, `acr` and `auth_time` (empty for static tokens): for MFA step-up.
  // (Initialized here so that `Principal{subject, true}` stays warning-free.)
  std::vector<std::string> amr = {};
  std::string acr = {};
  std::optional<SystemTime> auth_time = std::nullopt;
  // Unset for REST API calls.
  std::optional<ActingVia> via = std::nullopt;

  bool Has(Role r) const {
    switch (r) {
      case Role::kAdmin:
        return admin;
      case Role::kAuditor:
        return auditor;
      case Role::kEnforcer:
        return enforcer;
    }
    return false;
  }
  // Whether the caller is the person a record names by `subject` and
  // `person` (the record's subject and the person behind it), under any of
  // the caller's aliases: for separation of duties (DESIGN invariant 7).
  bool IsPerson(const std::string& subject, const std::string& person) const {
    return name() == subject || this->subject.person == person ||
           name() == person || this->subject.person == subject;
  }
  // Auditors and admins read everything.
  bool ReadsAll() const { return admin || auditor; }
  const std::string& name() const { return subject.name; }
};

// The principal jitd itself acts as (expiry, timeouts).
inline constexpr const char* kSystemActor = "jitd";
// The actor of auto-approvals (DESIGN: `actor: "policy"`).
inline constexpr const char* kPolicyActor = "policy";

}  // namespace jit
