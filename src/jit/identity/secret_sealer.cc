#include "jit/identity/secret_sealer.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "jit/base/files.h"
#include "jit/identity/base64url.h"

namespace jit {
namespace {

constexpr size_t kKeyBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr std::string_view kVersion = "v1.";
// Sealed secrets are small (a TOTP seed is 20 bytes); a cap keeps a
// corrupted row from asking for a large buffer.
constexpr size_t kMaxPlaintext = 4096;

using CipherCtx =
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

Status Tampered() {
  return InternalError(
      "sealed secret does not open: changed, or sealed under another key");
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

StatusOr<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                 static_cast<int>(n)) != 1) {
    return InternalError("the random number generator failed");
  }
  return out;
}

StatusOr<std::string> ReadKeyFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return UnavailableError("cannot read " + path + ": " +
                            std::strerror(errno));
  if ((st.st_mode & 077) != 0)
    return InvalidArgumentError(path + " is readable by others; chmod 600 it");
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  if (!in) return UnavailableError("cannot read " + path);
  std::string key = bytes.str();
  if (key.size() != kKeyBytes)
    return InvalidArgumentError(path + " does not hold a 32-byte key");
  return key;
}

}  // namespace

StatusOr<std::unique_ptr<SecretSealer>> SecretSealer::OpenOrCreate(
    const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (ec)
      return UnavailableError("cannot read " + path + ": " + ec.message());
    auto key = RandomBytes(kKeyBytes);
    if (!key.ok()) return key.status();
    Status written =
        WriteFileAtomically(path, *key,
                            std::filesystem::perms::owner_read |
                                std::filesystem::perms::owner_write);
    if (!written.ok()) return written;
    return std::unique_ptr<SecretSealer>(new SecretSealer(*std::move(key)));
  }
  auto key = ReadKeyFile(path);
  if (!key.ok()) return key.status();
  return std::unique_ptr<SecretSealer>(new SecretSealer(*std::move(key)));
}

StatusOr<std::unique_ptr<SecretSealer>> SecretSealer::Ephemeral() {
  auto key = RandomBytes(kKeyBytes);
  if (!key.ok()) return key.status();
  return std::unique_ptr<SecretSealer>(new SecretSealer(*std::move(key)));
}

StatusOr<std::string> SecretSealer::Seal(std::string_view plaintext,
                                         std::string_view context) const {
  if (plaintext.size() > kMaxPlaintext)
    return InvalidArgumentError("secret too large to seal");
  auto nonce = RandomBytes(kNonceBytes);
  if (!nonce.ok()) return nonce.status();
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  std::string out = *nonce;
  out.resize(kNonceBytes + plaintext.size() + kTagBytes);
  auto* cipher = reinterpret_cast<unsigned char*>(out.data()) + kNonceBytes;
  int len = 0;
  bool ok = ctx != nullptr &&
            EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                               Bytes(key_), Bytes(*nonce)) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(context),
                              static_cast<int>(context.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), cipher, &len, Bytes(plaintext),
                              static_cast<int>(plaintext.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx.get(), cipher + len, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                                cipher + plaintext.size()) == 1;
  if (!ok) return InternalError("AES-256-GCM sealing failed");
  return std::string(kVersion) + Base64UrlEncode(out);
}

StatusOr<std::string> SecretSealer::Open(std::string_view sealed,
                                         std::string_view context) const {
  if (sealed.substr(0, kVersion.size()) != kVersion) return Tampered();
  auto raw = Base64UrlDecode(sealed.substr(kVersion.size()));
  if (!raw.ok() || raw->size() < kNonceBytes + kTagBytes ||
      raw->size() > kNonceBytes + kTagBytes + kMaxPlaintext) {
    return Tampered();
  }
  std::string_view all(*raw);
  std::string_view nonce = all.substr(0, kNonceBytes);
  std::string_view cipher =
      all.substr(kNonceBytes, all.size() - kNonceBytes - kTagBytes);
  std::string tag(all.substr(all.size() - kTagBytes));
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  std::string plain(cipher.size(), '\0');
  auto* out = reinterpret_cast<unsigned char*>(plain.data());
  int len = 0;
  bool ok = ctx != nullptr &&
            EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                               Bytes(key_), Bytes(nonce)) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(context),
                              static_cast<int>(context.size())) == 1 &&
            EVP_DecryptUpdate(ctx.get(), out, &len, Bytes(cipher),
                              static_cast<int>(cipher.size())) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes,
                                tag.data()) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), out + len, &len) == 1;
  if (!ok) return Tampered();
  return plain;
}

}  // namespace jit
