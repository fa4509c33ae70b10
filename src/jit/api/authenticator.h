#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "jit/api/http.h"
#include "jit/base/sha256.h"
#include "jit/base/status.h"
#include "jit/identity/oidc_verifier.h"
#include "jit/workflow/principal.h"
#include "jit/workflow/seen_subjects.h"
#include "jit/workflow/token_service.h"

namespace jit {

// One configured static bearer token (config `auth.tokens`).
struct TokenEntry {
  Subject subject;
  std::string token_sha256;  // hex; the token itself is never kept
};

// Role name -> groups holding it (config `roles`).
struct RoleGroups {
  std::vector<std::string> admin;
  std::vector<std::string> auditor;
  std::vector<std::string> enforcer;
};

// Turns `Authorization: Bearer <token>` into a Principal. Tokens are looked
// up by their SHA-256, so comparing never touches the secret directly.
// Thread-safe; Replace() swaps the token table at once (reload).
class Authenticator {
 public:
  // With `oidc` (config auth.oidc; borrowed, outlives this), a bearer token
  // that is no static token but looks like a JWT is verified by it; roles
  // then apply to its mapped groups as to a static token's.
  // `seen` (borrowed, may be null) records every subject an OIDC token
  // proved, with its groups, for the activation re-check (SeenSubjects).
  // With `machine` (borrowed, may be null), a bearer token with the
  // machine-token prefix is checked by it on every call, so a revoked or
  // expired token fails at once; roles apply to the token's groups.
  Authenticator(std::vector<TokenEntry> tokens, RoleGroups roles,
                const OidcVerifier* oidc = nullptr,
                SeenSubjects* seen = nullptr,
                const MachineTokenVerifier* machine = nullptr);
  // kUnauthenticated: header missing, malformed, or token unknown, or a JWT
  // refused (the message names why, never the token).
  // A Unix-socket peer without a token is the local enforcer (PAM) when it
  // runs as root or as jitd's own user.
  StatusOr<Principal> Authenticate(const HttpRequest& request) const;
  void Replace(std::vector<TokenEntry> tokens, RoleGroups roles);

 private:
  static StatusOr<Principal> LocalEnforcer(uint32_t uid);
  StatusOr<Principal> FromOidc(std::string_view token,
                               const RoleGroups& roles) const;
  StatusOr<Principal> FromMachineToken(std::string_view token,
                                       const RoleGroups& roles) const;
  const OidcVerifier* const oidc_;  // null: no auth.oidc
  // Null: no machine tokens.
  const MachineTokenVerifier* const machine_;
  SeenSubjects* const seen_;  // null: nothing recorded
  struct Table {
    std::map<std::string, Subject> by_hash;
    RoleGroups roles;
  };
  mutable std::mutex mu_;
  std::shared_ptr<const Table> table_;  // guarded by mu_
};

}  // namespace jit
