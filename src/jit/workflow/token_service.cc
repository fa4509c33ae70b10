#include "jit/workflow/token_service.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "jit/base/duration.h"
#include "jit/base/ids.h"
#include "jit/base/sha256.h"
#include "jit/base/status_macros.h"

namespace jit {
namespace {

using nlohmann::json;

constexpr size_t kMaxNameBytes = 64;
constexpr size_t kMaxGroups = 32;
constexpr size_t kMaxGroupBytes = 128;
constexpr size_t kMaxNoteBytes = 1024;
constexpr size_t kTokenSecretBytes = 32;  // 256 bits
constexpr size_t kMaxTokenBytes = 256;

bool SafeNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// Lower-case letters, digits, '-', '_', '.'; starts with a letter or digit.
Status ValidateName(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameBytes) {
    return InvalidArgumentError("token name must be 1 to 64 characters");
  }
  bool first_ok =
      (name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9');
  if (!first_ok || !std::all_of(name.begin(), name.end(), SafeNameChar)) {
    return InvalidArgumentError(
        "token name may hold only a-z, 0-9, '-', '_', '.' and must start "
        "with a letter or digit");
  }
  return OkStatus();
}

Status ValidateGroups(const std::vector<std::string>& groups) {
  if (groups.size() > kMaxGroups) {
    return InvalidArgumentError("at most 32 groups");
  }
  for (const std::string& g : groups) {
    if (g.empty() || g.size() > kMaxGroupBytes) {
      return InvalidArgumentError("a group name must be 1 to 128 bytes");
    }
  }
  return OkStatus();
}

Status RequireAdmin(const Principal& who) {
  if (who.admin) return OkStatus();
  return PermissionDeniedError("machine tokens are managed by admins",
                               "forbidden");
}

AuditEvent TokenEvent(AuditType type, const Principal& who, const Credential& c,
                      SystemTime now, json data) {
  AuditEvent e;
  e.time = now;
  e.type = type;
  e.actor = who.name();
  e.subject = c.id;
  data["name"] = c.id;
  data["groups"] = c.groups;
  if (c.expires_at) data["expires_at"] = FormatTime(*c.expires_at);
  e.data = data.dump();
  return e;
}

}  // namespace

Subject MachineSubject(const Credential& c) {
  return Subject{c.id, std::string(kMachinePersonPrefix) + c.id, c.groups,
                 /*machine=*/true};
}

std::optional<Subject> LiveMachineSubject(Store& store, const std::string& name,
                                          SystemTime now) {
  StatusOr<Credential> c =
      store.GetCredential(CredentialKind::kMachineToken, name);
  if (!c.ok() || c->ended_at) return std::nullopt;
  if (c->expires_at && now >= *c->expires_at) return std::nullopt;
  return MachineSubject(*c);
}

Status TokenService::CheckNewName(const std::string& name) const {
  JIT_RETURN_IF_ERROR(ValidateName(name));
  auto snap = deps_.policies.Get();
  // A static token subject of the same name would share requests, grants
  // and audit trail with the machine.
  if (snap->directory.count(name) > 0) {
    return AlreadyExistsError("a configured subject is called " + name);
  }
  return OkStatus();
}

StatusOr<IssuedToken> TokenService::Create(const Principal& who,
                                           const CreateTokenInput& in) {
  JIT_RETURN_IF_ERROR(RequireAdmin(who));
  JIT_RETURN_IF_ERROR(CheckNewName(in.name));
  JIT_RETURN_IF_ERROR(ValidateGroups(in.groups));
  if (in.note.size() > kMaxNoteBytes) {
    return InvalidArgumentError("note is longer than 1024 bytes");
  }
  if (in.ttl < std::chrono::seconds(1)) {
    return InvalidArgumentError("ttl must be at least 1s");
  }
  if (in.ttl > max_ttl_) {
    return InvalidArgumentError("ttl is above the maximum of " +
                                FormatDuration(max_ttl_));
  }
  SystemTime now = TruncateToMillis(deps_.clock.Now());
  IssuedToken out;
  out.token = std::string(kMachineTokenPrefix) + RandomHex(kTokenSecretBytes);
  Credential& c = out.credential;
  c.kind = CredentialKind::kMachineToken;
  c.id = in.name;
  c.secret_sha256 = Sha256Hex(out.token);
  c.groups = in.groups;
  c.created_by = who.name();
  c.created_at = now;
  c.expires_at = TruncateToMillis(now + in.ttl);
  c.note = in.note;
  ChangeSet cs;
  cs.credentials.push_back({c, CredentialOp::kInsert});
  cs.events.push_back(TokenEvent(AuditType::kTokenCreated, who, c, now,
                                 {{"ttl", FormatDuration(in.ttl)}}));
  Status committed = deps_.Commit(cs);
  if (committed.code() == StatusCode::kAlreadyExists) {
    return AlreadyExistsError("a machine token called " + in.name +
                              " exists (also when revoked)");
  }
  JIT_RETURN_IF_ERROR(committed);
  return out;
}

StatusOr<std::vector<Credential>> TokenService::List(const Principal& who) {
  JIT_RETURN_IF_ERROR(RequireAdmin(who));
  return deps_.store.ListCredentials(CredentialKind::kMachineToken);
}

StatusOr<Credential> TokenService::Revoke(const Principal& who,
                                          const std::string& name) {
  JIT_RETURN_IF_ERROR(RequireAdmin(who));
  JIT_ASSIGN_OR_RETURN(Credential c, deps_.store.GetCredential(
                                         CredentialKind::kMachineToken, name));
  if (c.ended_at) {
    return AbortedError("machine token " + name + " is already revoked");
  }
  SystemTime now = TruncateToMillis(deps_.clock.Now());
  c.ended_at = now;
  c.ended_by = who.name();
  ChangeSet cs;
  cs.credentials.push_back({c, CredentialOp::kEnd});
  cs.events.push_back(
      TokenEvent(AuditType::kTokenRevoked, who, c, now, json::object()));
  Status committed = deps_.Commit(cs);
  if (committed.code() == StatusCode::kAborted) {
    return AbortedError("machine token " + name + " is already revoked");
  }
  JIT_RETURN_IF_ERROR(committed);
  return c;
}

StatusOr<Subject> TokenService::VerifyMachineToken(
    std::string_view token) const {
  if (!token.starts_with(kMachineTokenPrefix) || token.size() > kMaxTokenBytes)
    return UnauthenticatedError("unknown token");
  StatusOr<Credential> c = deps_.store.FindCredentialBySecret(Sha256Hex(token));
  if (c.status().code() == StatusCode::kNotFound ||
      (c.ok() && c->kind != CredentialKind::kMachineToken)) {
    return UnauthenticatedError("unknown token");
  }
  JIT_RETURN_IF_ERROR(c.status());
  if (c->ended_at) return UnauthenticatedError("machine token was revoked");
  if (c->expires_at && deps_.clock.Now() >= *c->expires_at) {
    return UnauthenticatedError("machine token has expired");
  }
  return MachineSubject(*c);
}

StatusOr<bool> TokenService::IsMachineName(const std::string& name) const {
  StatusOr<Credential> c =
      deps_.store.GetCredential(CredentialKind::kMachineToken, name);
  if (c.status().code() == StatusCode::kNotFound) return false;
  JIT_RETURN_IF_ERROR(c.status());
  return true;
}

}  // namespace jit
