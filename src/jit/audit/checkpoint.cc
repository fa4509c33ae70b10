#include "jit/audit/checkpoint.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "jit/base/duration.h"
#include "jit/base/files.h"
#include "jit/base/sha256.h"

namespace jit {
namespace {

constexpr std::string_view kKeyFile = "audit_signing_key.pem";
constexpr size_t kEd25519SignatureSize = 64;

std::shared_ptr<void> Own(EVP_PKEY* key) {
  return std::shared_ptr<void>(
      key, [](void* k) { EVP_PKEY_free(static_cast<EVP_PKEY*>(k)); });
}

EVP_PKEY* Raw(const std::shared_ptr<void>& key) {
  return static_cast<EVP_PKEY*>(key.get());
}

std::string KeyIdOf(EVP_PKEY* key) {
  unsigned char raw[64];
  size_t size = sizeof(raw);
  if (EVP_PKEY_get_raw_public_key(key, raw, &size) != 1) return "";
  return Sha256Hex(std::string_view(reinterpret_cast<char*>(raw), size))
      .substr(0, 16);
}

std::string PublicPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return "";
  std::string out;
  if (PEM_write_bio_PUBKEY(bio, key) == 1) {
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    out.assign(data, static_cast<size_t>(size));
  }
  BIO_free(bio);
  return out;
}

std::string PrivatePem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return "";
  std::string out;
  if (PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr,
                               nullptr) == 1) {
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    out.assign(data, static_cast<size_t>(size));
  }
  BIO_free(bio);
  return out;
}

bool IsHex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::string FromHex(std::string_view hex) {
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(
        std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

}  // namespace

std::string ExportScope(std::string_view which, std::string_view from,
                        std::string_view to) {
  std::string scope = "export-";
  scope += which;
  scope += " from=";
  scope += from;
  scope += " to=";
  scope += to;
  return scope;
}

std::string CheckpointMessage(const Checkpoint& c) {
  std::string m = c.scope.empty() ? "jitd-audit-checkpoint/1\n"
                                  : "jitd-audit-export/1\n" + c.scope + "\n";
  m += std::to_string(c.seq);
  m += '\n';
  m += c.hash;
  m += '\n';
  m += FormatTime(c.time);
  m += '\n';
  return m;
}

std::string CheckpointToJson(const Checkpoint& c) {
  nlohmann::json j = {{"seq", c.seq},
                      {"hash", c.hash},
                      {"time", FormatTime(c.time)},
                      {"key_id", c.key_id},
                      {"signature", c.signature}};
  if (!c.scope.empty()) j["scope"] = c.scope;
  return j.dump();
}

StatusOr<Checkpoint> CheckpointFromJson(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return InvalidArgumentError("checkpoint: not an object");
  auto text_field = [&j](const char* name) -> const std::string* {
    auto it = j.find(name);
    if (it == j.end() || !it->is_string()) return nullptr;
    return it->get_ptr<const std::string*>();
  };
  auto seq = j.find("seq");
  const std::string* hash = text_field("hash");
  const std::string* time = text_field("time");
  const std::string* key_id = text_field("key_id");
  const std::string* signature = text_field("signature");
  if (seq == j.end() || !seq->is_number_integer() ||
      (seq->is_number_unsigned() &&
       seq->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) ||
      hash == nullptr || time == nullptr || key_id == nullptr ||
      signature == nullptr) {
    return InvalidArgumentError(
        "checkpoint: needs seq, hash, time, key_id and signature");
  }
  const std::string* scope = text_field("scope");
  if (j.contains("scope") && scope == nullptr)
    return InvalidArgumentError("checkpoint: scope must be text");
  auto t = ParseTime(*time);
  if (!t.ok()) return t.status();
  return Checkpoint{seq->get<int64_t>(), *hash, *t, *key_id, *signature,
                    scope ? *scope : ""};
}

StatusOr<CheckpointKey> CheckpointKey::FromPem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return InternalError("out of memory");
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) return InvalidArgumentError("not a PEM public key");
  std::shared_ptr<void> owned = Own(key);
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519)
    return InvalidArgumentError("the public key is not Ed25519");
  return CheckpointKey(owned, KeyIdOf(key), PublicPem(key));
}

bool CheckpointKey::Verify(const Checkpoint& c) const {
  if (c.key_id != key_id_ || c.signature.size() != 2 * kEd25519SignatureSize ||
      !IsHex(c.signature)) {
    return false;
  }
  const std::string sig = FromHex(c.signature);
  const std::string msg = CheckpointMessage(c);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return false;
  bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, Raw(key_)) == 1 &&
      EVP_DigestVerify(
          ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
          reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

StatusOr<std::unique_ptr<CheckpointSigner>> CheckpointSigner::FromPrivateKey(
    std::shared_ptr<void> key) {
  StatusOr<CheckpointKey> pub = CheckpointKey::FromPem(PublicPem(Raw(key)));
  if (!pub.ok()) return pub.status();
  return std::unique_ptr<CheckpointSigner>(
      new CheckpointSigner(std::move(key), *std::move(pub)));
}

StatusOr<std::unique_ptr<CheckpointSigner>> CheckpointSigner::Ephemeral() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (key == nullptr) return InternalError("cannot make an Ed25519 key");
  return FromPrivateKey(Own(key));
}

StatusOr<std::unique_ptr<CheckpointSigner>> CheckpointSigner::OpenOrCreate(
    const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!ec)
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
  if (ec) return UnavailableError("cannot create " + dir + ": " + ec.message());
  const std::string path = dir + "/" + std::string(kKeyFile);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT)
      return UnavailableError("cannot read " + path + ": " +
                              std::strerror(errno));
    auto made = Ephemeral();
    if (!made.ok()) return made.status();
    Status written =
        WriteFileAtomically(path, PrivatePem(Raw((*made)->key_)),
                            std::filesystem::perms::owner_read |
                                std::filesystem::perms::owner_write);
    if (!written.ok()) return written;
    return made;
  }
  if ((st.st_mode & 077) != 0)
    return InvalidArgumentError(path + " is readable by others; chmod 600 it");
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return UnavailableError("cannot read " + path);
  const std::string pem = text.str();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return InternalError("out of memory");
  // A callback that gives no passphrase: an encrypted key is refused here
  // instead of OpenSSL prompting on a terminal.
  EVP_PKEY* key = PEM_read_bio_PrivateKey(
      bio, nullptr, [](char*, int, int, void*) { return 0; }, nullptr);
  BIO_free(bio);
  if (key == nullptr)
    return InvalidArgumentError(path + " holds no PEM private key");
  std::shared_ptr<void> owned = Own(key);
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519)
    return InvalidArgumentError(path + " is not an Ed25519 key");
  return FromPrivateKey(std::move(owned));
}

Checkpoint CheckpointSigner::Sign(int64_t seq, std::string hash,
                                  SystemTime time, std::string scope) const {
  Checkpoint c{
      seq, std::move(hash), TruncateToMillis(time), public_key_.key_id(),
      "",  std::move(scope)};
  const std::string msg = CheckpointMessage(c);
  unsigned char sig[kEd25519SignatureSize];
  size_t size = sizeof(sig);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  // Ed25519 signing in memory fails only when allocation fails; a
  // checkpoint without a valid signature would be worse than none.
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, Raw(key_)) != 1 ||
      EVP_DigestSign(ctx, sig, &size,
                     reinterpret_cast<const unsigned char*>(msg.data()),
                     msg.size()) != 1) {
    std::abort();
  }
  EVP_MD_CTX_free(ctx);
  c.signature = HexEncode(sig, size);
  return c;
}

}  // namespace jit
