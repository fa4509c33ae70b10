#include "jit/api/authenticator.h"

#include <unistd.h>

#include <algorithm>
#include <array>

namespace jit {
namespace {

bool InAny(const std::vector<std::string>& groups,
           const std::vector<std::string>& wanted) {
  return std::any_of(groups.begin(), groups.end(), [&](const std::string& g) {
    return std::find(wanted.begin(), wanted.end(), g) != wanted.end();
  });
}

}  // namespace

Authenticator::Authenticator(std::vector<TokenEntry> tokens, RoleGroups roles) {
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
  if (token.size() > 4096) return UnauthenticatedError("token too long");
  std::shared_ptr<const Table> table;
  {
    std::lock_guard lock(mu_);
    table = table_;
  }
  auto it = table->by_hash.find(Sha256Hex(token));
  if (it == table->by_hash.end()) return UnauthenticatedError("unknown token");
  Principal p;
  p.subject = it->second;
  if (p.subject.person.empty()) p.subject.person = p.subject.name;
  p.admin = InAny(p.subject.groups, table->roles.admin);
  p.auditor = InAny(p.subject.groups, table->roles.auditor);
  p.enforcer = InAny(p.subject.groups, table->roles.enforcer);
  return p;
}

}  // namespace jit
