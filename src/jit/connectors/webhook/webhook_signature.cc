#include "jit/connectors/webhook/webhook_signature.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>

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

}  // namespace jit
