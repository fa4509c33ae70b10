#include "jit/base/sha256.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace jit {

std::string HexEncode(const unsigned char* data, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0xf]);
  }
  return out;
}

namespace {

// OpenSSL 3 looks EVP_sha256() up in the provider store on every
// EVP_Digest call, which costs about as much as hashing a whole audit
// event; an explicitly fetched digest skips that. Fetched once (a
// function-local static is initialised exactly once, thread-safely) and
// never changed or freed: other threads may still hash while the process
// exits.
const EVP_MD* FetchedSha256() {
  static const EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return kSha256;
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  // The fetch fails only without the default provider, and SHA-256 over an
  // in-memory buffer only when allocation fails; a hash that silently came
  // out empty would break the audit chain.
  const EVP_MD* md = FetchedSha256();
  if (md == nullptr ||
      EVP_Digest(data.data(), data.size(), digest, &size, md, nullptr) != 1) {
    std::abort();
  }
  return HexEncode(digest, size);
}

}  // namespace jit
