// The evidence pack for auditors, made by the real jit from the real jitd
// over ten days of activity (jitd's wall clock moved a day at a time with
// libfaketime): it verifies, says which events answer each control, and
// renders in a real browser when Debian chromium is installed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "jit/base/duration.h"
#include "tests/integration/fixture.h"

namespace jit::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kLibFaketime[] =
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
constexpr char kChromium[] = "/usr/bin/chromium";
constexpr int kDays = 10;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

class EvidenceTest : public ::testing::Test {
 protected:
  ProgramResult Jit(const std::string& token, std::vector<std::string> args) {
    args.insert(args.begin(), JIT_BIN);
    return RunProgram(args, {{"JIT_SERVER", jitd_->url()},
                             {"JIT_TOKEN", token},
                             {"HOME", tmp_.path()}});
  }
  TempDir tmp_;
  std::unique_ptr<JitdProcess> jitd_;
};

TEST_F(EvidenceTest, TenDaysOfActivityMakeAVerifiedReadablePack) {
  if (!std::filesystem::exists(kLibFaketime))
    GTEST_SKIP() << "libfaketime not installed";
  std::string target = tmp_.path() + "/target";
  std::filesystem::create_directories(target + "/held");
  const std::string offset_file = tmp_.path() + "/faketime";
  std::ofstream(offset_file) << "-" << kDays << "d\n";
  jitd_ = std::make_unique<JitdProcess>(tmp_.path(), TestConfig(target));
  jitd_->SetEnv({{"LD_PRELOAD", kLibFaketime},
                 {"FAKETIME_TIMESTAMP_FILE", offset_file},
                 {"FAKETIME_NO_CACHE", "1"},
                 {"FAKETIME_DONT_FAKE_MONOTONIC", "1"},
                 {"DONT_FAKE_MONOTONIC", "1"}});
  ASSERT_TRUE(jitd_->Start().ok()) << jitd_->log();

  const SystemTime first_day =
      std::chrono::system_clock::now() - std::chrono::hours(24 * kDays);
  int granted = 0;
  for (int day = kDays; day >= 1; --day) {
    std::ofstream(offset_file, std::ios::trunc) << "-" << day << "d\n";
    for (int i = 0; i <= day % 3; ++i) {
      Reply r = jitd_->Post("/v1/requests", kAlice,
                            {{"entitlement", "read"},
                             {"duration", "5m"},
                             {"justification", "check replication lag"}});
      ASSERT_EQ(r.status, 201) << r.raw;
      ++granted;
    }
    if (day % 2 == 0) {
      Reply asked = jitd_->Post(
          "/v1/requests", kAlice,
          {{"entitlement", "admin"},
           {"duration", "10m"},
           {"justification", "rotate keys <script>alert(1)</script>"},
           {"ticket", "OPS-" + std::to_string(day)}});
      ASSERT_EQ(asked.status, 201) << asked.raw;
      Reply ok = jitd_->Post(
          "/v1/requests/" + asked.body["id"].get<std::string>() + "/approve",
          kBob, {{"comment", "ok"}});
      ASSERT_EQ(ok.status, 200) << ok.raw;
      ++granted;
    }
    if (day % 4 == 1) {  // refused by policy: too long
      jitd_->Post("/v1/requests", kAlice,
                  {{"entitlement", "read"},
                   {"duration", "5h"},
                   {"justification", "check replication lag"}});
    }
  }
  std::ofstream(offset_file, std::ios::trunc) << "+0\n";

  const std::string out = tmp_.path() + "/pack";
  ProgramResult made = Jit(
      kAuditor,
      {"report", "evidence", "--out", out, "--from",
       FormatTime(first_day - std::chrono::hours(1)), "--to",
       FormatTime(std::chrono::system_clock::now() + std::chrono::hours(1))});
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err << jitd_->log();
  EXPECT_THAT(made.out, HasSubstr("verified"));
  for (const char* file : {"index.html", "audit.jsonl", "checkpoints.jsonl",
                           "audit-pubkey.pem", "report.json"}) {
    EXPECT_TRUE(std::filesystem::exists(out + "/" + file)) << file;
  }

  const std::string html = ReadFile(out + "/index.html");
  EXPECT_THAT(html, HasSubstr("Audit record verified."));
  EXPECT_THAT(html, HasSubstr("SOC 2 CC6.3"));
  EXPECT_THAT(html, HasSubstr("HIPAA 164.312(b)"));
  EXPECT_THAT(html, HasSubstr("OPS-4"));
  EXPECT_THAT(html, HasSubstr("rotate keys &lt;script&gt;"));
  EXPECT_THAT(html, ::testing::Not(HasSubstr("<script>")));
  // One column per day in the requests-per-day chart, one row per grant.
  EXPECT_EQ(Count(html, "<title>"), static_cast<size_t>(kDays) + 1);
  EXPECT_EQ(Count(html, "<tr><td class=\"m\">req_"),
            static_cast<size_t>(granted));

  ProgramResult verified =
      Jit("", {"audit", "verify", "--offline", out + "/audit.jsonl", "--pubkey",
               out + "/audit-pubkey.pem"});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;

  if (!std::filesystem::exists(kChromium)) {
    std::cout << "chromium not installed: the pack was not rendered\n";
    return;
  }
  const std::string png = tmp_.path() + "/pack.png";
  ProgramResult shot =
      RunProgram({kChromium, "--headless", "--no-sandbox", "--disable-gpu",
                  "--hide-scrollbars", "--window-size=1280,2400",
                  "--screenshot=" + png, "file://" + out + "/index.html"},
                 {{"HOME", tmp_.path()}});
  ASSERT_EQ(shot.exit_code, 0) << shot.err;
  ASSERT_TRUE(std::filesystem::exists(png));
  EXPECT_GT(std::filesystem::file_size(png), 50'000u);  // more than blank
}

}  // namespace
}  // namespace jit::testing
