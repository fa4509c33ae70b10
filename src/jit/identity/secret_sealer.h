#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "jit/base/status.h"

namespace jit {

// Encrypts small secrets jitd must read back (TOTP seeds) before they go
// into the store, so that a database dump alone does not reveal them.
// AES-256-GCM (OpenSSL EVP) with a random 96-bit nonce per seal; the key is
// 32 random bytes in a file of its own (mode 0600) beside the database.
// `context` is authenticated but not stored: a sealed value opens only
// under the context it was sealed for (e.g. the subject it belongs to), so
// sealed values cannot be swapped between rows. Thread-safe; immutable.
class SecretSealer {
 public:
  // Reads the key at `path`, or makes one there (mode 0600) when the file
  // does not exist. kInvalidArgument: the file is readable by group or
  // others, or does not hold exactly 32 bytes; kUnavailable: cannot read
  // or write it.
  static StatusOr<std::unique_ptr<SecretSealer>> OpenOrCreate(
      const std::string& path);
  // A key that lives only in memory (memory store: nothing is kept).
  static StatusOr<std::unique_ptr<SecretSealer>> Ephemeral();

  // "v1." + base64url(nonce | ciphertext | tag). kInternal: OpenSSL failed.
  StatusOr<std::string> Seal(std::string_view plaintext,
                             std::string_view context) const;
  // The plaintext of a Seal() output. kInternal when `sealed` is
  // malformed, was changed, was sealed under another key or another
  // `context` (the stored data is not what jitd wrote).
  StatusOr<std::string> Open(std::string_view sealed,
                             std::string_view context) const;

 private:
  explicit SecretSealer(std::string key) : key_(std::move(key)) {}
  const std::string key_;  // 32 bytes
};

}  // namespace jit
