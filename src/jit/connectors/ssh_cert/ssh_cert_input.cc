#include "jit/connectors/ssh_cert/ssh_cert_input.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <nlohmann/json.hpp>

#include "jit/base/status_macros.h"
#include "jit/connectors/common/params.h"

namespace jit {
namespace {

constexpr size_t kMaxKeyIdChars = 128;
constexpr size_t kMaxPublicKeyBytes = 16 * 1024;
constexpr size_t kMaxPrincipalChars = 64;
constexpr size_t kMaxSourceAddressChars = 1024;

// Plain (non-certificate) key types OpenSSH 9 signs for users.
constexpr std::array<std::string_view, 8> kKeyTypes = {
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-dss",
};

bool IsAsciiAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

bool AllOf(std::string_view s, std::string_view extra) {
  return std::all_of(s.begin(), s.end(), [extra](char c) {
    return IsAsciiAlnum(c) || extra.find(c) != std::string_view::npos;
  });
}

bool IsBase64(std::string_view s) {
  size_t body = s.find_first_of('=');
  if (body == std::string_view::npos) body = s.size();
  if (s.size() - body > 2 || s.size() % 4 != 0) return false;
  if (s.find_first_not_of('=', body) != std::string_view::npos) return false;
  return AllOf(s.substr(0, body), "+/");
}

// "ADDRESS" or "ADDRESS/BITS", IPv4 or IPv6.
bool IsCidr(std::string_view item) {
  size_t slash = item.find('/');
  std::string address(item.substr(0, slash));
  unsigned char buf[sizeof(in6_addr)];
  int max_bits = 0;
  if (inet_pton(AF_INET, address.c_str(), buf) == 1) {
    max_bits = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), buf) == 1) {
    max_bits = 128;
  } else {
    return false;
  }
  if (slash == std::string_view::npos) return true;
  std::string_view bits = item.substr(slash + 1);
  int n = 0;
  auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), n);
  return ec == std::errc() && end == bits.data() + bits.size() &&
         !bits.empty() && bits.front() != '+' && n >= 0 && n <= max_bits;
}

StatusOr<bool> BoolParam(const GrantSpec& g, std::string_view name) {
  auto it = g.params_json.find(std::string(name));
  if (it == g.params_json.end()) return false;
  nlohmann::json value = nlohmann::json::parse(it->second, nullptr,
                                               /*allow_exceptions=*/false);
  if (!value.is_boolean()) {
    return InvalidArgumentError(
        fmt::format("param \"{}\" of entitlement \"{}\" must be true or false",
                    name, g.entitlement));
  }
  return value.get<bool>();
}

}  // namespace

Status ValidateKeyId(std::string_view id) {
  if (id.empty() || id.size() > kMaxKeyIdChars || id.front() == '-' ||
      !AllOf(id, "_.-")) {
    return InvalidArgumentError(
        "grant id is not usable as certificate key id (1-128 of "
        "[A-Za-z0-9_.-])");
  }
  return OkStatus();
}

StatusOr<std::string> NormalizeUserPublicKey(std::string_view text) {
  if (text.size() > kMaxPublicKeyBytes) {
    return InvalidArgumentError("public key is larger than 16 KiB");
  }
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  if (std::any_of(text.begin(), text.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
      })) {
    return InvalidArgumentError(
        "public key must be one line without control characters");
  }
  size_t sp = text.find(' ');
  std::string_view type = text.substr(0, sp);
  if (type.find("-cert-") != std::string_view::npos) {
    return InvalidArgumentError(
        "a certificate cannot be signed again; send the plain public key");
  }
  if (std::find(kKeyTypes.begin(), kKeyTypes.end(), type) == kKeyTypes.end()) {
    return InvalidArgumentError(fmt::format(
        "public key must start with a known key type (e.g. ssh-ed25519), not "
        "\"{}\"",
        type.substr(0, 40)));
  }
  if (sp == std::string_view::npos) {
    return InvalidArgumentError("public key has no key data");
  }
  std::string_view rest = text.substr(sp + 1);
  std::string_view blob = rest.substr(0, rest.find(' '));
  if (blob.empty() || !IsBase64(blob)) {
    return InvalidArgumentError("public key data is not base64");
  }
  return fmt::format("{} {}\n", type, blob);
}

Status ValidatePrincipal(std::string_view principal) {
  if (principal.empty() || principal.size() > kMaxPrincipalChars ||
      principal.front() == '-' || !AllOf(principal, "._@-")) {
    return InvalidArgumentError(fmt::format(
        "principal \"{}\" must be 1-64 of [A-Za-z0-9._@-], one name only",
        principal.substr(0, kMaxPrincipalChars + 1)));
  }
  return OkStatus();
}

Status ValidateSourceAddress(std::string_view list) {
  bool ok = !list.empty() && list.size() <= kMaxSourceAddressChars;
  while (ok) {
    size_t comma = list.find(',');
    ok = IsCidr(list.substr(0, comma));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  if (!ok) {
    return InvalidArgumentError(
        "source address must be a comma-separated list of IP addresses or "
        "CIDR blocks");
  }
  return OkStatus();
}

StatusOr<CertificatePolicy> ReadCertificatePolicy(
    const GrantSpec& g, std::string_view requested_source) {
  CertificatePolicy out;
  JIT_ASSIGN_OR_RETURN(std::string tmpl, GetStringParam(g, "principal"));
  JIT_ASSIGN_OR_RETURN(out.principal, ExpandTemplate(tmpl, g));
  JIT_RETURN_IF_ERROR(ValidatePrincipal(out.principal));
  JIT_ASSIGN_OR_RETURN(out.permit_port_forwarding,
                       BoolParam(g, "allow_port_forwarding"));
  JIT_ASSIGN_OR_RETURN(out.permit_agent_forwarding,
                       BoolParam(g, "allow_agent_forwarding"));
  JIT_ASSIGN_OR_RETURN(out.permit_x11_forwarding,
                       BoolParam(g, "allow_x11_forwarding"));
  if (HasParam(g, "source_address")) {
    JIT_ASSIGN_OR_RETURN(out.source_address,
                         GetStringParam(g, "source_address"));
  } else {
    out.source_address = std::string(requested_source);
  }
  if (!out.source_address.empty()) {
    JIT_RETURN_IF_ERROR(ValidateSourceAddress(out.source_address));
  }
  return out;
}

}  // namespace jit
