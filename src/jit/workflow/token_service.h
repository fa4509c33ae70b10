#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jit/base/clock.h"
#include "jit/base/status.h"
#include "jit/storage/store.h"
#include "jit/workflow/deps.h"
#include "jit/workflow/principal.h"

namespace jit {

// Every machine token starts with this, so a leaked one is recognisable
// (secret scanners, log reviews) and never mistaken for a JWT.
inline constexpr std::string_view kMachineTokenPrefix = "jit_m_";
// The `person` of a machine subject: "token:" + name. No person alias can
// equal it, so separation of duties keeps a token and its creator apart.
inline constexpr std::string_view kMachinePersonPrefix = "token:";
inline constexpr Duration kDefaultMaxTokenTtl = std::chrono::hours(24 * 90);

// Turns a presented bearer token into the machine subject it names.
// Thread-safe.
class MachineTokenVerifier {
 public:
  virtual ~MachineTokenVerifier() = default;
  // kUnauthenticated: unknown, expired or revoked (the message says which,
  // never the token); kUnavailable: the store cannot be read.
  virtual StatusOr<Subject> VerifyMachineToken(
      std::string_view token) const = 0;
  // True when a machine token was ever issued under `name` (revoked ones
  // too: names are never reused). kUnavailable: the store cannot be read.
  virtual StatusOr<bool> IsMachineName(const std::string& name) const = 0;
};

struct CreateTokenInput {
  std::string name;
  std::vector<std::string> groups;
  Duration ttl{0};
  std::string note;
};

// A machine token just issued: `token` is shown once and never again.
struct IssuedToken {
  Credential credential;
  std::string token;
};

// The subject of machine token `c` (name, "token:" person, its groups).
Subject MachineSubject(const Credential& c);

// The machine subject `name` while its token is live (not revoked, not
// expired at `now`); nullopt otherwise or when the store cannot say.
// Activation re-checks eligibility with it (THREATS T7).
std::optional<Subject> LiveMachineSubject(Store& store, const std::string& name,
                                          SystemTime now);

// Machine identities: tokens for CI jobs and agents, issued and revoked by
// admins, stored only as SHA-256 (like static tokens). Each change is one
// store transaction with its audit event (token.created, token.revoked),
// which never carries the secret. Thread-safe.
//
// Errors: kPermissionDenied (reason forbidden) when the caller is no admin;
// kInvalidArgument (bad name, groups, ttl above the maximum);
// kAlreadyExists (409 conflict) for a name in use, also by a configured
// static token subject; kNotFound; kAborted (already revoked);
// kUnavailable (store or audit log down: nothing changed).
class TokenService final : public MachineTokenVerifier {
 public:
  TokenService(const WorkflowDeps& deps, Duration max_ttl)
      : deps_(deps), max_ttl_(max_ttl) {}

  StatusOr<IssuedToken> Create(const Principal& who,
                               const CreateTokenInput& in);
  // Oldest first; no secrets in them.
  StatusOr<std::vector<Credential>> List(const Principal& who);
  // Takes effect on the next call made with the token.
  StatusOr<Credential> Revoke(const Principal& who, const std::string& name);

  StatusOr<Subject> VerifyMachineToken(std::string_view token) const override;
  StatusOr<bool> IsMachineName(const std::string& name) const override;

 private:
  Status CheckNewName(const std::string& name) const;

  const WorkflowDeps& deps_;
  const Duration max_ttl_;
};

}  // namespace jit
