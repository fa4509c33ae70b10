#include "jit/identity/totp.h"

#include <liboath/oath.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <memory>

namespace jit {
namespace {

Status WrongCode() {
  return PermissionDeniedError("the TOTP code is not valid", "mfa_failed");
}

// liboath asks for oath_init before use and oath_done after. Debian's
// build uses gnulib's own crypto, where both keep no global state, so each
// call brackets its own use and threads need no coordination.
class OathSession {
 public:
  OathSession() : ok_(oath_init() == OATH_OK) {}
  ~OathSession() {
    if (ok_) oath_done();
  }
  OathSession(const OathSession&) = delete;
  OathSession& operator=(const OathSession&) = delete;
  bool ok() const { return ok_; }

 private:
  bool ok_;
};

time_t UnixSeconds(SystemTime t) {
  return static_cast<time_t>(
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch())
          .count());
}

bool SixDigits(std::string_view code) {
  return code.size() == static_cast<size_t>(kTotpDigits) &&
         std::all_of(code.begin(), code.end(),
                     [](unsigned char c) { return std::isdigit(c); });
}

bool Unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (Unreserved(c)) {
      out.push_back(static_cast<char>(c));
      continue;
    }
    out.push_back('%');
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

}  // namespace

StatusOr<std::string> NewTotpSecret() {
  std::string secret(kTotpSecretBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()),
                 static_cast<int>(secret.size())) != 1) {
    return InternalError("the random number generator failed");
  }
  return secret;
}

StatusOr<std::string> TotpSecretBase32(std::string_view secret) {
  OathSession oath;
  if (!oath.ok()) return InternalError("liboath did not initialize");
  char* out = nullptr;
  size_t out_len = 0;
  if (oath_base32_encode(secret.data(), secret.size(), &out, &out_len) !=
      OATH_OK) {
    return InternalError("base32 encoding failed");
  }
  std::unique_ptr<char, decltype(&std::free)> owned(out, &std::free);
  std::string text(out, out_len);
  text.erase(std::remove(text.begin(), text.end(), '='), text.end());
  return text;
}

StatusOr<std::string> TotpSecretFromBase32(std::string_view text) {
  OathSession oath;
  if (!oath.ok()) return InternalError("liboath did not initialize");
  std::string padded(text);
  while (padded.size() % 8 != 0) padded.push_back('=');
  char* out = nullptr;
  size_t out_len = 0;
  if (oath_base32_decode(padded.data(), padded.size(), &out, &out_len) !=
      OATH_OK) {
    return InvalidArgumentError("the TOTP secret is not base32");
  }
  std::unique_ptr<char, decltype(&std::free)> owned(out, &std::free);
  return std::string(out, out_len);
}

std::string TotpUri(std::string_view issuer, std::string_view account,
                    std::string_view secret_base32) {
  std::string label = PercentEncode(issuer) + ":" + PercentEncode(account);
  return "otpauth://totp/" + label + "?secret=" + std::string(secret_base32) +
         "&issuer=" + PercentEncode(issuer);
}

StatusOr<std::string> TotpCode(std::string_view secret, SystemTime at) {
  OathSession oath;
  if (!oath.ok()) return InternalError("liboath did not initialize");
  char code[kTotpDigits + 1] = {};
  int rc = oath_totp_generate(secret.data(), secret.size(), UnixSeconds(at),
                              static_cast<unsigned>(kTotpStep.count()),
                              /*start_offset=*/0, kTotpDigits, code);
  if (rc != OATH_OK) return InternalError("TOTP generation failed");
  return std::string(code, kTotpDigits);
}

StatusOr<int64_t> MatchTotp(std::string_view secret, std::string_view code,
                            SystemTime now) {
  if (!SixDigits(code)) return WrongCode();
  OathSession oath;
  if (!oath.ok()) return InternalError("liboath did not initialize");
  std::string otp(code);
  uint64_t step = 0;
  int position = 0;
  int rc = oath_totp_validate3(secret.data(), secret.size(), UnixSeconds(now),
                               static_cast<unsigned>(kTotpStep.count()),
                               /*start_offset=*/0, /*window=*/1, &position,
                               &step, otp.c_str());
  if (rc < 0) return WrongCode();
  return static_cast<int64_t>(step);
}

}  // namespace jit
