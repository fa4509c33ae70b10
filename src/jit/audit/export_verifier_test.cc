#include "jit/audit/export_verifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "jit/audit/event.h"
#include "jit/base/duration.h"

namespace jit {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

const SystemTime kT0 = ParseTime("2026-11-24T10:00:00Z").value();

// An export of `n` events (with a checkpoint event at seq `checkpoint_at`
// when > 0), written the way `jit audit export` writes one.
class ExportBuilder {
 public:
  explicit ExportBuilder(const CheckpointSigner& signer) : signer_(signer) {}

  std::vector<std::string> Build(int n, int checkpoint_at = 0) {
    std::vector<AuditEvent> events;
    std::string prev(kGenesisHash);
    for (int i = 1; i <= n; ++i) {
      AuditEvent e;
      e.seq = i;
      e.time = kT0 + std::chrono::seconds(i);
      e.type = AuditType::kGrantActivated;
      e.actor = "policy";
      e.subject = "alice";
      e.request_id = "req_" + std::to_string(i);
      e.grant_id = i % 2 ? "grt_" + std::to_string(i) : "";
      e.data = R"({"entitlement":"db","note":"ünïcode"})";
      if (i == checkpoint_at) {
        e.type = AuditType::kAuditCheckpoint;
        e.actor = "jitd";
        e.request_id = e.grant_id = "";
        e.data =
            CheckpointToJson(signer_.Sign(i - 1, events.back().hash, e.time));
      }
      e.prev_hash = prev;
      e.hash = ComputeEventHash(e);
      prev = e.hash;
      events.push_back(e);
    }
    std::vector<std::string> lines;
    lines.push_back(Json{{"jitd_audit_export", 1},
                         {"from", nullptr},
                         {"to", nullptr},
                         {"anchor", Json::parse(CheckpointToJson(signer_.Sign(
                                        0, std::string(kGenesisHash), kT0,
                                        ExportScope("start", "", ""))))}}
                        .dump());
    for (const AuditEvent& e : events) lines.push_back(Line(e));
    lines.push_back(
        Json{{"jitd_audit_export_end",
              {{"events", n},
               {"checkpoint",
                Json::parse(CheckpointToJson(signer_.Sign(
                    n, n ? events.back().hash : std::string(kGenesisHash), kT0,
                    ExportScope("end", "", ""))))}}}}
            .dump());
    return lines;
  }

  static std::string Line(const AuditEvent& e) {
    return Json{
        {"seq", e.seq},
        {"time", FormatTime(e.time)},
        {"type", ToString(e.type)},
        {"actor", e.actor},
        {"subject", e.subject},
        {"request_id", e.request_id.empty() ? Json() : Json(e.request_id)},
        {"grant_id", e.grant_id.empty() ? Json() : Json(e.grant_id)},
        {"data", Json::parse(e.data)},
        {"prev_hash", e.prev_hash},
        {"hash", e.hash}}
        .dump();
  }

 private:
  const CheckpointSigner& signer_;
};

class ExportVerifierTest : public testing::Test {
 protected:
  ExportVerifierTest()
      : signer_(std::move(CheckpointSigner::Ephemeral()).value()),
        builder_(*signer_) {}

  ExportVerdict Verify(const std::vector<std::string>& lines) {
    ExportVerifier v(signer_->public_key());
    for (const std::string& line : lines) {
      if (!v.AddLine(line)) break;
    }
    return v.Finish();
  }

  std::unique_ptr<CheckpointSigner> signer_;
  ExportBuilder builder_;
};

TEST_F(ExportVerifierTest, AnIntactExportChecksOut) {
  ExportVerdict v = Verify(builder_.Build(10, /*checkpoint_at=*/6));
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.events, 10);
  EXPECT_EQ(v.first_seq, 1);
  EXPECT_EQ(v.last_seq, 10);
  EXPECT_EQ(v.checkpoints, 1);
}

TEST_F(ExportVerifierTest, AnEmptyRangeChecksOut) {
  ExportVerdict v = Verify(builder_.Build(0));
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.events, 0);
}

TEST_F(ExportVerifierTest, TheHashIsRecomputedLikeTheWritersHash) {
  std::vector<std::string> lines = builder_.Build(3);
  for (int i = 1; i <= 3; ++i) {
    StatusOr<std::string> h = ExportedEventHash(lines[i]);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    EXPECT_EQ(*h, Json::parse(lines[i])["hash"]);
  }
}

TEST_F(ExportVerifierTest, AnEditedEventIsNamed) {
  std::vector<std::string> lines = builder_.Build(10);
  Json e = Json::parse(lines[4]);
  e["data"]["entitlement"] = "prod-db";
  lines[4] = e.dump();
  ExportVerdict v = Verify(lines);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 4);
  EXPECT_EQ(v.bad_line, 5);
  EXPECT_THAT(v.reason, HasSubstr("edited"));
}

TEST_F(ExportVerifierTest, ADeletedEventIsNamed) {
  std::vector<std::string> lines = builder_.Build(10);
  lines.erase(lines.begin() + 5);  // seq 5
  ExportVerdict v = Verify(lines);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 5);
  EXPECT_THAT(v.reason, HasSubstr("missing or reordered"));
}

TEST_F(ExportVerifierTest, ReorderedEventsAreNamed) {
  std::vector<std::string> lines = builder_.Build(10);
  std::swap(lines[3], lines[7]);  // seq 3 and 7
  ExportVerdict v = Verify(lines);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 3);
}

TEST_F(ExportVerifierTest, ACutOffEndIsCaughtWithOrWithoutTheEndLine) {
  std::vector<std::string> lines = builder_.Build(10);
  std::vector<std::string> no_end(lines.begin(), lines.end() - 3);
  ExportVerdict v = Verify(no_end);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 9);
  EXPECT_THAT(v.reason, HasSubstr("truncated"));

  std::vector<std::string> kept_end = lines;
  kept_end.erase(kept_end.end() - 3, kept_end.end() - 1);  // seq 9, 10
  v = Verify(kept_end);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 9);
  EXPECT_THAT(v.reason, HasSubstr("missing at the end"));
}

TEST_F(ExportVerifierTest, ACutOffStartIsCaught) {
  std::vector<std::string> lines = builder_.Build(10);
  lines.erase(lines.begin() + 1, lines.begin() + 3);  // seq 1, 2
  ExportVerdict v = Verify(lines);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 1);
}

TEST_F(ExportVerifierTest, ARewrittenChainWithFreshHashesIsCaught) {
  // Someone without the key edits seq 2 and recomputes every later hash:
  // the chain holds, the signed end does not.
  std::vector<std::string> lines = builder_.Build(5);
  std::string prev = Json::parse(lines[1])["hash"];
  for (int i = 2; i <= 5; ++i) {
    Json e = Json::parse(lines[i]);
    if (i == 2) e["actor"] = "mallory";
    AuditEvent a;
    a.seq = i;
    a.time = ParseTime(e["time"].get<std::string>()).value();
    a.type = ParseAuditType(e["type"].get<std::string>()).value();
    a.actor = e["actor"];
    a.subject = e["subject"];
    a.request_id = e["request_id"].is_null() ? "" : e["request_id"];
    a.grant_id = e["grant_id"].is_null() ? "" : e["grant_id"];
    a.data = e["data"].dump();
    a.prev_hash = prev;
    e["prev_hash"] = prev;
    e["hash"] = prev = ComputeEventHash(a);
    lines[i] = e.dump();
  }
  ExportVerdict v = Verify(lines);
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.reason, HasSubstr("signed end"));
  EXPECT_EQ(v.first_bad_seq, 1);  // nothing after the anchor is proven
}

TEST_F(ExportVerifierTest, AnotherKeysAnchorOrEndIsRefused) {
  auto other = std::move(CheckpointSigner::Ephemeral()).value();
  ExportBuilder forged(*other);
  ExportVerdict v = Verify(forged.Build(3));
  EXPECT_FALSE(v.ok);
  EXPECT_FALSE(v.first_bad_seq.has_value());
  EXPECT_THAT(v.reason, HasSubstr("anchor"));

  std::vector<std::string> lines = builder_.Build(3);
  lines.back() = forged.Build(3).back();
  v = Verify(lines);
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.reason, HasSubstr("end line"));
}

TEST_F(ExportVerifierTest, AnInLogCheckpointCannotStandInForTheEnd) {
  // Cut the export after seq 5 and end it with the checkpoint event at seq
  // 6 (which signs seq 5): the scope tells the two uses apart.
  std::vector<std::string> lines = builder_.Build(10, /*checkpoint_at=*/6);
  Json in_log = Json::parse(lines[6])["data"];
  std::vector<std::string> cut(lines.begin(), lines.begin() + 6);
  cut.push_back(
      Json{{"jitd_audit_export_end", {{"events", 5}, {"checkpoint", in_log}}}}
          .dump());
  ExportVerdict v = Verify(cut);
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.reason, HasSubstr("not this export's end"));
}

TEST_F(ExportVerifierTest, AnEndForAnotherRangeIsRefused) {
  std::vector<std::string> lines = builder_.Build(3);
  Json end = Json::parse(lines.back());
  end["jitd_audit_export_end"]["checkpoint"] = Json::parse(CheckpointToJson(
      signer_->Sign(3, Json::parse(lines[3])["hash"], kT0,
                    ExportScope("end", "", "2026-11-25T00:00:00Z"))));
  lines.back() = end.dump();
  EXPECT_FALSE(Verify(lines).ok);
}

TEST_F(ExportVerifierTest, DeepOrHugeLinesAreRefusedNotFollowed) {
  std::vector<std::string> lines = builder_.Build(2);
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  lines[2] = R"({"seq":2,"data":)" + deep + "}";
  ExportVerdict v = Verify(lines);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 2);
  lines = builder_.Build(2);
  lines[2] = std::string(2 << 20, ' ') + lines[2];
  EXPECT_FALSE(Verify(lines).ok);
}

TEST_F(ExportVerifierTest, ABadCheckpointInsideTheLogIsNamed) {
  std::vector<std::string> lines = builder_.Build(8, /*checkpoint_at=*/5);
  // Recompute the checkpoint event's hash so only its signature is wrong:
  // a forged checkpoint over a rewritten event.
  Json e = Json::parse(lines[5]);
  Json data = e["data"];
  data["hash"] = std::string(64, 'f');
  e["data"] = data;
  AuditEvent a;
  a.seq = 5;
  a.time = ParseTime(e["time"].get<std::string>()).value();
  a.type = AuditType::kAuditCheckpoint;
  a.actor = "jitd";
  a.subject = e["subject"];
  a.data = data.dump();
  a.prev_hash = e["prev_hash"];
  e["hash"] = ComputeEventHash(a);
  lines[5] = e.dump();
  ExportVerdict v = Verify(lines);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 5);
  EXPECT_THAT(v.reason, HasSubstr("checkpoint signature"));
}

TEST_F(ExportVerifierTest, GarbageAndExtraLinesAreRefused) {
  EXPECT_FALSE(Verify({}).ok);
  EXPECT_FALSE(Verify({"not json"}).ok);
  EXPECT_FALSE(Verify({R"({"jitd_audit_export":"1"})"}).ok);
  std::vector<std::string> lines = builder_.Build(2);
  lines.insert(lines.begin() + 2, "{\"seq\":");
  EXPECT_EQ(Verify(lines).first_bad_seq, 2);
  lines = builder_.Build(2);
  lines.push_back(lines[1]);
  ExportVerdict v = Verify(lines);
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.reason, HasSubstr("after the end"));
}

}  // namespace
}  // namespace jit
