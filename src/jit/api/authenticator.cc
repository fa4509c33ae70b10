#include "jit/api/authenticator.h"

#include <unistd.h>

#include <algorithm>
#include <array>

#include "jit/base/status_macros.h"

namespace jit {
namespace {

bool InAny(const std::vector<std::string>& groups,
           const std::vector<std::string>& wanted) {
  return std::any_of(groups.begin(), groups.end(), [&](const std::string& g) {
    return std::find(wanted.begin(), wanted.end(), g) != wanted.end();
  });
}

}  // namespace

Authenticator::Authenticator(std::vector<TokenEntry> tokens, RoleGroups roles,
                             const OidcVerifier* oidc, SeenSubjects* seen,
                             const MachineTokenVerifier* machine)
    : oidc_(oidc), machine_(machine), seen_(seen) {
  Replace(std::move(tokens), std::move(roles));
}

void Authenticator::Replace(std::vector<TokenEntry> tokens, RoleGroups roles) {
  auto table = std::make_shared<Table>();
  for (TokenEntry& t : tokens)
    table->by_hash[t.token_sha256] = std::move(t.subject);
  table->roles = std::move(roles);
  std::lock_guard lock(mu_);
  table_ = std::move(table);
}

StatusOr<Principal> Authenticator::LocalEnforcer(uint32_t uid) {
  if (uid != 0 && uid != static_cast<uint32_t>(geteuid())) {
    return UnauthenticatedError("local peer uid " + std::to_string(uid) +
                                " is neither root nor jitd's own user");
  }
  Principal p;
  p.subject.name = "local:uid=" + std::to_string(uid);
  p.subject.person = p.subject.name;
  p.enforcer = true;
  return p;
}

StatusOr<Principal> Authenticator::FromOidc(std::string_view token,
                                            const RoleGroups& roles) const {
  JIT_ASSIGN_OR_RETURN(OidcIdentity id, oidc_->Verify(token));
  // Requests, grants and checks go by subject name: an IdP account named
  // like a machine token would share the machine's grants.
  if (machine_ != nullptr) {
    JIT_ASSIGN_OR_RETURN(bool taken, machine_->IsMachineName(id.subject.name));
    if (taken) {
      return UnauthenticatedError("subject " + id.subject.name.substr(0, 80) +
                                  " is the name of a machine token");
    }
  }
  Principal p;
  p.subject = std::move(id.subject);
  p.amr = std::move(id.amr);
  p.acr = std::move(id.acr);
  p.auth_time = id.auth_time;
  p.admin = InAny(p.subject.groups, roles.admin);
  p.auditor = InAny(p.subject.groups, roles.auditor);
  p.enforcer = InAny(p.subject.groups, roles.enforcer);
  if (seen_ != nullptr) seen_->Record(p.subject);
  return p;
}

StatusOr<Principal> Authenticator::FromMachineToken(
    std::string_view token, const RoleGroups& roles) const {
  JIT_ASSIGN_OR_RETURN(Subject subject, machine_->VerifyMachineToken(token));
  Principal p;
  p.subject = std::move(subject);
  p.admin = InAny(p.subject.groups, roles.admin);
  p.auditor = InAny(p.subject.groups, roles.auditor);
  p.enforcer = InAny(p.subject.groups, roles.enforcer);
  return p;
}

StatusOr<Principal> Authenticator::Authenticate(
    const HttpRequest& request) const {
  std::optional<std::string> header = request.Header("authorization");
  if (!header && request.peer_uid) return LocalEnforcer(*request.peer_uid);
  if (!header)
    return UnauthenticatedError("missing Authorization: Bearer token");
  constexpr std::string_view kPrefix = "Bearer ";
  if (header->size() <= kPrefix.size() ||
      header->compare(0, kPrefix.size(), kPrefix) != 0) {
    return UnauthenticatedError(
        "Authorization header must be \"Bearer <token>\"");
  }
  std::string_view token = std::string_view(*header).substr(kPrefix.size());
  std::shared_ptr<const Table> table;
  {
    std::lock_guard lock(mu_);
    table = table_;
  }
  // Static tokens first: they work while the IdP is down.
  auto it = token.size() > 4096 ? table->by_hash.end()
                                : table->by_hash.find(Sha256Hex(token));
  if (it == table->by_hash.end()) {
    if (machine_ != nullptr && token.starts_with(kMachineTokenPrefix))
      return FromMachineToken(token, table->roles);
    if (oidc_ != nullptr && JwtVerifier::LooksLikeJwt(token))
      return FromOidc(token, table->roles);
    if (token.size() > 4096) return UnauthenticatedError("token too long");
    return UnauthenticatedError("unknown token");
  }
  Principal p;
  p.subject = it->second;
  if (p.subject.person.empty()) p.subject.person = p.subject.name;
  p.admin = InAny(p.subject.groups, table->roles.admin);
  p.auditor = InAny(p.subject.groups, table->roles.auditor);
  p.enforcer = InAny(p.subject.groups, table->roles.enforcer);
  return p;
}

}  // namespace jit
