#include "jit/connectors/webhook/webhook_signature.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "jit/base/sha256.h"

namespace jit {

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  // Only fails on allocation failure or a broken OpenSSL; a delivery signed
  // with garbage would be refused anyway, but an unsigned one must never go.
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(),
           mac, &mac_size) == nullptr) {
    std::abort();
  }
  return HexEncode(mac, mac_size);
}

std::string WebhookSignature(std::string_view secret,
                             std::string_view timestamp,
                             std::string_view body) {
  std::string signed_text;
  signed_text.reserve(timestamp.size() + 1 + body.size());
  signed_text.append(timestamp).append(".").append(body);
  return "v1=" + HmacSha256Hex(secret, signed_text);
}

StatusOr<std::string> ReadWebhookSecretFile(const std::string& path) {
  constexpr size_t kMinSecretBytes = 16;
  constexpr off_t kMaxSecretFileBytes = 4096;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return InvalidArgumentError(fmt::format("cannot read secret_file {}: {}",
                                            path, std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode))
    return InvalidArgumentError("secret_file " + path +
                                " is not a regular file");
  if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
    return InvalidArgumentError(fmt::format(
        "secret_file {} is readable or writable by others (chmod 600 it)",
        path));
  }
  if (st.st_size > kMaxSecretFileBytes)
    return InvalidArgumentError("secret_file " + path + " is over 4 KiB");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) return InvalidArgumentError("cannot read secret_file " + path);
  std::string secret = text.str();
  while (!secret.empty() &&
         std::isspace(static_cast<unsigned char>(secret.back()))) {
    secret.pop_back();
  }
  if (secret.size() < kMinSecretBytes) {
    return InvalidArgumentError(fmt::format(
        "secret_file {} holds fewer than {} bytes", path, kMinSecretBytes));
  }
  return secret;
}

}  // namespace jit
