#include "jit/base/ids.h"

#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "jit/base/sha256.h"

namespace jit {

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
    std::fputs("jitd: CSPRNG failure\n", stderr);
    std::abort();
  }
  return HexEncode(buf.data(), buf.size());
}

std::string NewId(std::string_view prefix) {
  return std::string(prefix) + RandomHex(16);
}

bool LooksLikeId(std::string_view text, std::string_view prefix) {
  if (text.size() != prefix.size() + 32) return false;
  if (text.substr(0, prefix.size()) != prefix) return false;
  for (char c : text.substr(prefix.size())) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (!hex) return false;
  }
  return true;
}

}  // namespace jit
