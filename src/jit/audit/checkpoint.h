#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "jit/base/clock.h"
#include "jit/base/status.h"

namespace jit {

// A signed statement: "event `seq` of the audit log has hash `hash`", made
// at `time` by the key `key_id`. seq 0 stands for the empty log (hash =
// genesis). docs/audit.md documents the signed bytes for outside verifiers.
struct Checkpoint {
  int64_t seq = 0;
  std::string hash;
  SystemTime time{};
  std::string key_id;     // 16 hex: start of SHA-256 of the raw public key
  std::string signature;  // hex Ed25519 signature of CheckpointMessage()
  // Empty for the log's own checkpoints; for the start and end of an
  // export, ExportScope(): a signature made for one use is never valid for
  // another (an in-log checkpoint cannot stand in for an export's end).
  std::string scope;
};

// The scope of an export's signed start ("start") or end ("end") for the
// range [from, to) as the export's header states it. Pure.
std::string ExportScope(std::string_view which, std::string_view from,
                        std::string_view to);

// The exact bytes signed for a checkpoint. Pure.
std::string CheckpointMessage(const Checkpoint& c);

// Checkpoint <-> the JSON object text used in `audit.checkpoint` event data,
// exports and the latest-checkpoint file. Parse: kInvalidArgument on a
// missing or mistyped field.
std::string CheckpointToJson(const Checkpoint& c);
StatusOr<Checkpoint> CheckpointFromJson(std::string_view text);

// An Ed25519 public key that checks checkpoints. Immutable, thread-safe.
class CheckpointKey {
 public:
  // From a PEM "PUBLIC KEY" block. kInvalidArgument when it is not an
  // Ed25519 public key.
  static StatusOr<CheckpointKey> FromPem(std::string_view pem);
  const std::string& key_id() const { return key_id_; }
  const std::string& pem() const { return pem_; }
  // True when `c` is signed by this key over its own fields (key_id too).
  bool Verify(const Checkpoint& c) const;

 private:
  CheckpointKey(std::shared_ptr<void> key, std::string key_id, std::string pem)
      : key_(std::move(key)),
        key_id_(std::move(key_id)),
        pem_(std::move(pem)) {}
  std::shared_ptr<void> key_;  // EVP_PKEY
  std::string key_id_;
  std::string pem_;
};

// Signs checkpoints with jitd's Ed25519 audit key. Immutable after creation,
// thread-safe.
class CheckpointSigner {
 public:
  // Loads `dir`/audit_signing_key.pem, or creates it (mode 0600, directory
  // created 0700) when it does not exist. kUnavailable when the file cannot
  // be read or written; kInvalidArgument when it holds no Ed25519 private
  // key or is readable by group/others.
  static StatusOr<std::unique_ptr<CheckpointSigner>> OpenOrCreate(
      const std::string& dir);
  // A fresh key kept only in memory (tests, the memory store).
  static StatusOr<std::unique_ptr<CheckpointSigner>> Ephemeral();

  Checkpoint Sign(int64_t seq, std::string hash, SystemTime time,
                  std::string scope = "") const;
  const CheckpointKey& public_key() const { return public_key_; }

 private:
  CheckpointSigner(std::shared_ptr<void> key, CheckpointKey pub)
      : key_(std::move(key)), public_key_(std::move(pub)) {}
  static StatusOr<std::unique_ptr<CheckpointSigner>> FromPrivateKey(
      std::shared_ptr<void> key);
  std::shared_ptr<void> key_;  // EVP_PKEY with the private half
  CheckpointKey public_key_;
};

}  // namespace jit
