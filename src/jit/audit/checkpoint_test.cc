#include "jit/audit/checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "jit/base/duration.h"
#include "jit/base/ids.h"

namespace jit {
namespace {

using ::testing::HasSubstr;

const SystemTime kT = ParseTime("2026-11-24T10:00:00.123Z").value();
const std::string kHash(64, 'a');

class TempDir {
 public:
  TempDir()
      : path_(std::filesystem::path(testing::TempDir()) /
              ("jitd-cp-" + RandomHex(6))) {}
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

std::unique_ptr<CheckpointSigner> NewSigner() {
  auto s = CheckpointSigner::Ephemeral();
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(s).value();
}

TEST(CheckpointTest, ASignatureChecksOutOnlyOverTheSameFields) {
  auto signer = NewSigner();
  Checkpoint c = signer->Sign(42, kHash, kT);
  EXPECT_EQ(c.key_id, signer->public_key().key_id());
  EXPECT_EQ(c.key_id.size(), 16u);
  EXPECT_EQ(c.signature.size(), 128u);
  EXPECT_TRUE(signer->public_key().Verify(c));

  Checkpoint seq = c;
  seq.seq = 43;
  Checkpoint hash = c;
  hash.hash[0] = 'b';
  Checkpoint time = c;
  time.time += std::chrono::milliseconds(1);
  Checkpoint sig = c;
  sig.signature[10] = sig.signature[10] == '0' ? '1' : '0';
  Checkpoint not_hex = c;
  not_hex.signature[0] = 'z';
  for (const Checkpoint& bad : {seq, hash, time, sig, not_hex}) {
    EXPECT_FALSE(signer->public_key().Verify(bad));
  }
}

TEST(CheckpointTest, AnotherKeyDoesNotVerify) {
  auto a = NewSigner();
  auto b = NewSigner();
  Checkpoint c = a->Sign(1, kHash, kT);
  EXPECT_FALSE(b->public_key().Verify(c));
  c.key_id = b->public_key().key_id();      // claiming the other key changes
  EXPECT_FALSE(b->public_key().Verify(c));  // nothing
}

TEST(CheckpointTest, JsonRoundTrips) {
  auto signer = NewSigner();
  Checkpoint c = signer->Sign(7, kHash, kT);
  StatusOr<Checkpoint> back = CheckpointFromJson(CheckpointToJson(c));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->seq, 7);
  EXPECT_EQ(back->hash, kHash);
  EXPECT_EQ(back->time, kT);
  EXPECT_TRUE(signer->public_key().Verify(*back));
}

TEST(CheckpointTest, BadJsonIsInvalidArgument) {
  for (const char* text :
       {"", "[]", "{}", R"({"seq":"1","hash":"a","time":"2026-11-24T10:00:00Z",
          "key_id":"k","signature":"s"})",
        R"({"seq":1,"hash":"a","time":"yesterday","key_id":"k",
          "signature":"s"})"}) {
    EXPECT_EQ(CheckpointFromJson(text).status().code(),
              StatusCode::kInvalidArgument)
        << text;
  }
}

TEST(CheckpointTest, PublicKeyPemRoundTrips) {
  auto signer = NewSigner();
  StatusOr<CheckpointKey> key =
      CheckpointKey::FromPem(signer->public_key().pem());
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->key_id(), signer->public_key().key_id());
  EXPECT_TRUE(key->Verify(signer->Sign(3, kHash, kT)));
  EXPECT_EQ(CheckpointKey::FromPem("not a key").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(CheckpointTest, OpenOrCreateMakesAPrivateKeyAndReopensIt) {
  TempDir dir;
  auto first = CheckpointSigner::OpenOrCreate(dir.str() + "/audit");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat((dir.str() + "/audit/audit_signing_key.pem").c_str(), &st),
            0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = CheckpointSigner::OpenOrCreate(dir.str() + "/audit");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->public_key().key_id(), (*first)->public_key().key_id());
  EXPECT_TRUE((*again)->public_key().Verify((*first)->Sign(1, kHash, kT)));
}

TEST(CheckpointTest, AKeyFileOthersCanReadOrThatHoldsNoKeyIsRefused) {
  TempDir dir;
  ASSERT_TRUE(CheckpointSigner::OpenOrCreate(dir.str()).ok());
  const std::string path = dir.str() + "/audit_signing_key.pem";
  ::chmod(path.c_str(), 0640);
  auto open = CheckpointSigner::OpenOrCreate(dir.str());
  EXPECT_EQ(open.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(open.status().message(), HasSubstr("chmod 600"));

  std::ofstream(path, std::ios::trunc) << "garbage\n";
  ::chmod(path.c_str(), 0600);
  open = CheckpointSigner::OpenOrCreate(dir.str());
  EXPECT_EQ(open.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(open.status().message(), HasSubstr("no PEM private key"));
}

}  // namespace
}  // namespace jit
