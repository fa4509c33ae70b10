#include "jit/identity/secret_sealer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace jit {
namespace {

using testing::StartsWith;

std::string TempPath(const std::string& tag) {
  const testing::TestInfo* info =
      testing::UnitTest::GetInstance()->current_test_info();
  std::filesystem::path dir =
      std::filesystem::path(testing::TempDir()) /
      ("sealer_" + std::string(info->name()) + "_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return (dir / tag).string();
}

std::unique_ptr<SecretSealer> MustEphemeral() {
  auto s = SecretSealer::Ephemeral();
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *std::move(s) : nullptr;
}

TEST(SecretSealerTest, RoundTripsUnderTheSameContext) {
  auto sealer = MustEphemeral();
  ASSERT_NE(sealer, nullptr);
  std::string secret("\x00\x01seed\xff", 7);
  StatusOr<std::string> sealed = sealer->Seal(secret, "alice");
  ASSERT_TRUE(sealed.ok());
  EXPECT_THAT(*sealed, StartsWith("v1."));
  EXPECT_EQ(sealed->find("seed"), std::string::npos);
  StatusOr<std::string> opened = sealer->Open(*sealed, "alice");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, secret);
}

TEST(SecretSealerTest, SealingTwiceGivesDifferentText) {
  auto sealer = MustEphemeral();
  ASSERT_NE(sealer, nullptr);
  EXPECT_NE(*sealer->Seal("seed", "alice"), *sealer->Seal("seed", "alice"));
}

TEST(SecretSealerTest, AnotherContextDoesNotOpen) {
  auto sealer = MustEphemeral();
  ASSERT_NE(sealer, nullptr);
  std::string sealed = *sealer->Seal("seed", "alice");
  StatusOr<std::string> opened = sealer->Open(sealed, "mallory");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kInternal);
}

TEST(SecretSealerTest, AnyChangedCharacterIsDetected) {
  auto sealer = MustEphemeral();
  ASSERT_NE(sealer, nullptr);
  const std::string sealed = *sealer->Seal("seed-of-twenty-bytes", "alice");
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string changed = sealed;
    changed[i] = changed[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(sealer->Open(changed, "alice").ok()) << "position " << i;
  }
  EXPECT_FALSE(sealer->Open(sealed.substr(0, sealed.size() - 1), "alice").ok());
  EXPECT_FALSE(sealer->Open("v1.", "alice").ok());
  EXPECT_FALSE(sealer->Open("", "alice").ok());
  EXPECT_FALSE(sealer->Open("v2." + sealed.substr(3), "alice").ok());
}

TEST(SecretSealerTest, AnotherKeyDoesNotOpen) {
  auto a = MustEphemeral();
  auto b = MustEphemeral();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_FALSE(b->Open(*a->Seal("seed", "alice"), "alice").ok());
}

TEST(SecretSealerTest, KeyFileIsMadeOwnerOnlyAndReusedAfterRestart) {
  const std::string path = TempPath("mfa.key");
  std::string sealed;
  {
    auto first = SecretSealer::OpenOrCreate(path);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    sealed = *(*first)->Seal("seed", "alice");
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  auto again = SecretSealer::OpenOrCreate(path);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*(*again)->Open(sealed, "alice"), "seed");
}

TEST(SecretSealerTest, LooseOrBrokenKeyFilesAreRefused) {
  const std::string path = TempPath("mfa.key");
  ASSERT_TRUE(SecretSealer::OpenOrCreate(path).ok());
  std::filesystem::permissions(path, std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  auto loose = SecretSealer::OpenOrCreate(path);
  ASSERT_FALSE(loose.ok());
  EXPECT_EQ(loose.status().code(), StatusCode::kInvalidArgument);

  std::ofstream(path, std::ios::trunc) << "short";
  std::filesystem::permissions(
      path,
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
      std::filesystem::perm_options::replace);
  auto short_key = SecretSealer::OpenOrCreate(path);
  ASSERT_FALSE(short_key.ok());
  EXPECT_EQ(short_key.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace jit
