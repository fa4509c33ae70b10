#pragma once

#include <string>
#include <string_view>

#include "jit/base/status.h"
#include "jit/connectors/connector.h"

namespace jit {

// Checks of everything that reaches ssh-keygen, a KRL spec or a certificate
// from outside (THREATS T23, invariant 8). Pure functions; thread-safe.
// Every error is kInvalidArgument.

// A grant id usable as certificate key id and KRL `id:` line: 1-128 of
// [A-Za-z0-9_.-], not starting with '-'.
Status ValidateKeyId(std::string_view id);

// A user's OpenSSH public key: one line "TYPE BASE64 [comment]" of a known
// plain key type (certificates, authorized_keys options, several lines,
// control characters and anything over 16 KiB are refused). Returns
// "TYPE BASE64\n" without the comment. OpenSSH itself parses it later
// (SshKeygen::CheckPublicKey).
StatusOr<std::string> NormalizeUserPublicKey(std::string_view text);

// One certificate principal: 1-64 of [A-Za-z0-9._@-], not starting with
// '-' (no commas: ssh-keygen -n reads a comma-separated list).
Status ValidatePrincipal(std::string_view principal);

// An sshd source-address list: comma-separated IPv4/IPv6 addresses or
// CIDR blocks, [0-9A-Fa-f.:/] only, at most 1 KiB.
Status ValidateSourceAddress(std::string_view list);

// What the entitlement params allow one certificate of grant `g`.
struct CertificatePolicy {
  std::string principal;  // params.principal, {placeholders} expanded
  bool permit_port_forwarding = false;   // params.allow_port_forwarding
  bool permit_agent_forwarding = false;  // params.allow_agent_forwarding
  bool permit_x11_forwarding = false;    // params.allow_x11_forwarding
  // params.source_address when set (the entitlement's restriction wins),
  // else `requested_source` (may be empty).
  std::string source_address;
};

// Reads and checks the params of `g`: `principal` is required (a string
// template, see ExpandTemplate); the allow_* params must be JSON booleans;
// `source_address` a string. Unknown params are left alone (jitd passes
// every entitlement param).
StatusOr<CertificatePolicy> ReadCertificatePolicy(
    const GrantSpec& g, std::string_view requested_source);

}  // namespace jit
