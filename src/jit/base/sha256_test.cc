#include "jit/base/sha256.h"

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace jit {
namespace {

// FIPS 180-2 test vectors.
TEST(Sha256HexTest, MatchesStandardVectors) {
  EXPECT_EQ(
      Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string(1'000'000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256HexTest, SameDigestsFromManyThreadsAtOnce) {
  // Every thread hashes the same inputs; the digest fetched on first use is
  // shared by all of them.
  std::vector<std::string> inputs;
  for (int i = 0; i < 200; ++i) inputs.push_back(std::string(i, 'x'));
  std::vector<std::string> want;
  for (const std::string& in : inputs) want.push_back(Sha256Hex(in));
  constexpr int kThreads = 8;
  std::vector<std::vector<std::string>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        for (const std::string& in : inputs) got[t].push_back(Sha256Hex(in));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(got[t].size(), want.size() * 20);
    for (size_t i = 0; i < got[t].size(); ++i) {
      ASSERT_EQ(got[t][i], want[i % want.size()]) << "thread " << t;
    }
  }
}

}  // namespace
}  // namespace jit
