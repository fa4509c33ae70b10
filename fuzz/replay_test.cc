// Runs every file of fuzz/corpus/<harness> and fuzz/regressions/<harness>
// through the harness, as libFuzzer would: a broken property aborts the test
// binary (the last "replaying" line on stderr names the input).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <string>
#include <vector>

#include "harness.h"

namespace jit::fuzz {

// Test names and failure messages show the harness by name.
void PrintTo(const Harness& h, std::ostream* os) { *os << h.name; }

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> FilesIn(const fs::path& dir) {
  std::vector<fs::path> files;
  if (!fs::is_directory(dir)) return files;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<uint8_t> ReadBytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in),
                              std::istreambuf_iterator<char>());
}

class FuzzReplayTest : public testing::TestWithParam<Harness> {};

TEST_P(FuzzReplayTest, EveryCorpusAndRegressionInputHoldsItsProperties) {
  const Harness& h = GetParam();
  const fs::path root(JIT_FUZZ_DIR);
  std::vector<fs::path> corpus = FilesIn(root / "corpus" / h.name);
  ASSERT_FALSE(corpus.empty()) << "no seed corpus for " << h.name;
  std::vector<fs::path> regressions = FilesIn(root / "regressions" / h.name);
  corpus.insert(corpus.end(), regressions.begin(), regressions.end());
  for (const fs::path& file : corpus) {
    std::fprintf(stderr, "replaying %s\n", file.c_str());
    std::vector<uint8_t> bytes = ReadBytes(file);
    h.run(bytes);
  }
}

INSTANTIATE_TEST_SUITE_P(Harnesses, FuzzReplayTest,
                         testing::ValuesIn(kHarnesses),
                         [](const testing::TestParamInfo<Harness>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace jit::fuzz
