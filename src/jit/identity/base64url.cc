#include "jit/identity/base64url.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace jit {
namespace {

bool IsUrlAlphabet(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

}  // namespace

StatusOr<std::string> Base64UrlDecode(std::string_view text) {
  if (!std::all_of(text.begin(), text.end(), IsUrlAlphabet)) {
    return InvalidArgumentError(
        "bad base64url: character outside [A-Za-z0-9_-]");
  }
  if (text.size() % 4 == 1) {
    return InvalidArgumentError("bad base64url: impossible length");
  }
  // OpenSSL decodes the standard alphabet with padding.
  std::string standard(text);
  std::replace(standard.begin(), standard.end(), '-', '+');
  std::replace(standard.begin(), standard.end(), '_', '/');
  size_t pad = (4 - standard.size() % 4) % 4;
  standard.append(pad, '=');
  std::string out(standard.size() / 4 * 3, '\0');
  int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(standard.data()),
                      static_cast<int>(standard.size()));
  if (n < 0) return InvalidArgumentError("bad base64url");
  out.resize(static_cast<size_t>(n) - pad);
  // Unused low bits must be zero, or two texts would decode the same.
  if (Base64UrlEncode(out) != text) {
    return InvalidArgumentError("bad base64url: non-canonical encoding");
  }
  return out;
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  std::replace(out.begin(), out.end(), '+', '-');
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

}  // namespace jit
