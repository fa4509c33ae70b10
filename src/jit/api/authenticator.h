#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "jit/api/http.h"
#include "jit/base/sha256.h"
#include "jit/base/status.h"
#include "jit/workflow/principal.h"

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
  Authenticator(std::vector<TokenEntry> tokens, RoleGroups roles);
  // kUnauthenticated: header missing, malformed, or token unknown.
  // A Unix-socket peer without a token is the local enforcer (PAM) when it
  // runs as root or as jitd's own user.
  StatusOr<Principal> Authenticate(const HttpRequest& request) const;
  void Replace(std::vector<TokenEntry> tokens, RoleGroups roles);

 private:
  static StatusOr<Principal> LocalEnforcer(uint32_t uid);
  struct Table {
    std::map<std::string, Subject> by_hash;
    RoleGroups roles;
  };
  mutable std::mutex mu_;
  std::shared_ptr<const Table> table_;  // guarded by mu_
};

}  // namespace jit
