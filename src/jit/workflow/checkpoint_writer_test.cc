#include "jit/workflow/checkpoint_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "jit/base/duration.h"
#include "jit/base/ids.h"
#include "jit/storage/memory/memory_store.h"
#include "jit/workflow/audit_query.h"

namespace jit {
namespace {

using ::testing::HasSubstr;

const SystemTime kStart = ParseTime("2026-11-24T09:00:00Z").value();
const Principal kAuditor{Subject{"carol", "carol", {"audit"}}, false, true};

class CheckpointWriterTest : public testing::Test {
 protected:
  CheckpointWriterTest()
      : dir_(std::filesystem::path(testing::TempDir()) /
             ("jitd-cpw-" + RandomHex(6))),
        clock_(kStart),
        signer_(std::move(CheckpointSigner::Ephemeral()).value()) {
    std::filesystem::create_directories(dir_);
  }
  ~CheckpointWriterTest() override { std::filesystem::remove_all(dir_); }

  std::string LatestPath() const { return (dir_ / "latest.json").string(); }

  std::unique_ptr<CheckpointWriter> Writer(Store& store,
                                           CheckpointSchedule schedule = {
                                               5, std::chrono::minutes(1)}) {
    auto w = std::make_unique<CheckpointWriter>(store, *signer_, clock_,
                                                schedule, LatestPath());
    EXPECT_TRUE(w->Load().ok());
    return w;
  }

  // Appends `n` ordinary events to `store`.
  static void Append(Store& store, int n, const std::string& who = "alice") {
    for (int i = 0; i < n; ++i) {
      ChangeSet cs;
      AuditEvent e;
      e.time = kStart;
      e.type = AuditType::kRequestCreated;
      e.actor = who;
      e.subject = who;
      e.data = R"({"i":)" + std::to_string(i) + "}";
      cs.events.push_back(e);
      ASSERT_TRUE(store.Commit(cs).ok());
    }
  }

  std::vector<AuditEvent> Events(Store& store) {
    return store.ReadAudit(0, 1000).value();
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  std::unique_ptr<CheckpointSigner> signer_;
  Metrics metrics_;
};

TEST_F(CheckpointWriterTest, AnIdleLogGetsNoCheckpoint) {
  MemoryStore store;
  auto w = Writer(store);
  clock_.Advance(std::chrono::hours(1));
  EXPECT_FALSE(w->RunDue().value().has_value());
  EXPECT_TRUE(Events(store).empty());
}

TEST_F(CheckpointWriterTest, SignsAfterEnoughEventsOrEnoughTime) {
  MemoryStore store;
  auto w = Writer(store);
  Append(store, 4);
  EXPECT_FALSE(w->RunDue().value().has_value());  // 4 < 5, 0 s
  Append(store, 1);
  std::optional<Checkpoint> c = w->RunDue().value();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->seq, 5);
  std::vector<AuditEvent> events = Events(store);
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[5].type, AuditType::kAuditCheckpoint);
  EXPECT_EQ(events[5].actor, "jitd");
  EXPECT_EQ(c->hash, events[4].hash);
  EXPECT_TRUE(signer_->public_key().Verify(*c));

  Append(store, 1);
  EXPECT_FALSE(w->RunDue().value().has_value());  // 1 event, 0 s since
  clock_.Advance(std::chrono::seconds(59));
  EXPECT_FALSE(w->RunDue().value().has_value());
  clock_.Advance(std::chrono::seconds(1));
  c = w->RunDue().value();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->seq, 7);

  // A checkpoint's own event does not make the next one due.
  clock_.Advance(std::chrono::minutes(5));
  EXPECT_FALSE(w->RunDue().value().has_value());
}

TEST_F(CheckpointWriterTest, TheLatestIsKeptInAFileAndLoadedAgain) {
  MemoryStore store;
  auto w = Writer(store);
  Append(store, 5);
  Checkpoint c = w->RunDue().value().value();
  auto again = Writer(store);
  ASSERT_TRUE(again->Latest().has_value());
  EXPECT_EQ(again->Latest()->seq, c.seq);
  EXPECT_EQ(again->Latest()->signature, c.signature);
}

TEST_F(CheckpointWriterTest, AFileSignedByAnotherKeyIsRefused) {
  auto other = std::move(CheckpointSigner::Ephemeral()).value();
  std::ofstream(LatestPath())
      << CheckpointToJson(other->Sign(3, std::string(64, 'a'), kStart));
  MemoryStore store;
  CheckpointWriter w(store, *signer_, clock_, {5, std::chrono::minutes(1)},
                     LatestPath());
  Status s = w.Load();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("not signed by this jitd"));
  // jitd goes on (revokes must), but signs nothing and says why.
  Append(store, 5);
  EXPECT_EQ(w.RunDue().status().code(), StatusCode::kFailedPrecondition);
  AuditQuery audit(store, metrics_);
  audit.UseCheckpoints(&w);
  VerifyResult r = audit.Verify(kAuditor).value();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.reason, HasSubstr("not trusted"));
}

TEST_F(CheckpointWriterTest, ARemovedCheckpointFileIsReported) {
  MemoryStore store;
  auto w = Writer(store);
  Append(store, 5);
  ASSERT_TRUE(w->RunDue().value().has_value());
  std::filesystem::remove(LatestPath());
  auto reopened = Writer(store);
  AuditQuery audit(store, metrics_);
  audit.UseCheckpoints(reopened.get());
  VerifyResult r = audit.Verify(kAuditor).value();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.reason, HasSubstr("file is gone"));
}

TEST_F(CheckpointWriterTest, SignsOnlyTheRealBoundariesOfAnExport) {
  MemoryStore store;
  auto w = Writer(store);
  Append(store, 3);  // all at kStart
  const std::string from = FormatTime(kStart);
  const std::string later = FormatTime(kStart + std::chrono::hours(1));
  // [kStart, +1h) holds events 1..3: start after 0, end at 3.
  Checkpoint start = w->SignExportBoundary(0, "start", from, later).value();
  EXPECT_EQ(start.hash, std::string(kGenesisHash));
  EXPECT_EQ(start.scope, ExportScope("start", from, later));
  EXPECT_TRUE(signer_->public_key().Verify(start));
  Checkpoint end = w->SignExportBoundary(3, "end", from, later).value();
  EXPECT_EQ(end.hash, Events(store)[2].hash);
  // Not the boundaries of that range: refused.
  EXPECT_EQ(w->SignExportBoundary(1, "start", from, later).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(w->SignExportBoundary(2, "end", from, later).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(w->SignExportBoundary(2, "end", "", "").status().code(),
            StatusCode::kFailedPrecondition);  // open end: only the head
  EXPECT_TRUE(w->SignExportBoundary(3, "end", "", "").ok());
  EXPECT_EQ(w->SignExportBoundary(4, "end", "", "").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(w->SignExportBoundary(-1, "end", "", "").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(w->SignExportBoundary(1, "middle", "", "").status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(CheckpointWriterTest, NothingIsSignedForAnExportOfAChangedLog) {
  MemoryStore full;
  auto w = Writer(full);
  Append(full, 10);
  ASSERT_TRUE(w->RunDue().value().has_value());  // covers seq 10
  MemoryStore cut;
  Append(cut, 7);
  auto on_cut = Writer(cut);
  EXPECT_EQ(on_cut->SignExportBoundary(7, "end", "", "").status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(CheckpointWriterTest, VerifyCountsCheckpointsOfAnIntactLog) {
  MemoryStore store;
  auto w = Writer(store);
  AuditQuery audit(store, metrics_);
  audit.UseCheckpoints(w.get());
  for (int round = 0; round < 3; ++round) {
    Append(store, 5);
    ASSERT_TRUE(w->RunDue().value().has_value());
  }
  VerifyResult r = audit.Verify(kAuditor).value();
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.events, 18);
  EXPECT_EQ(r.checkpoints, 3);
}

// A log that lost its end (or was rebuilt shorter) no longer holds the
// event the latest checkpoint signed.
TEST_F(CheckpointWriterTest, VerifyCatchesALogCutShorterThanItsCheckpoint) {
  MemoryStore full;
  auto w = Writer(full);
  Append(full, 10);
  ASSERT_TRUE(w->RunDue().value().has_value());  // covers seq 10

  MemoryStore cut;  // the same first 7 events, nothing after
  Append(cut, 7);
  auto on_cut = Writer(cut);  // loads the checkpoint file
  AuditQuery audit(cut, metrics_);
  audit.UseCheckpoints(on_cut.get());
  VerifyResult r = audit.Verify(kAuditor).value();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 1);  // no checkpoint in the cut log holds
  EXPECT_THAT(r.reason, HasSubstr("events removed"));

  // Nor is the cut log signed over: that would bless the removal.
  Append(cut, 10);
  auto refused = on_cut->RunDue();
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(on_cut->Latest()->seq, 10);
  auto reloaded = Writer(cut);
  EXPECT_EQ(reloaded->Latest()->seq, 10);  // the file still says so
}

TEST_F(CheckpointWriterTest, FirstBadSeqFollowsTheLastCheckpointThatHolds) {
  MemoryStore original;
  auto w = Writer(original);
  Append(original, 5);
  ASSERT_TRUE(w->RunDue().value().has_value());  // seq 6 covers 5
  Append(original, 5);
  ASSERT_TRUE(w->RunDue().value().has_value());  // seq 12 covers 11

  MemoryStore cut;  // the same first 8 events (checkpoint 6 included)
  for (const AuditEvent& e : Events(original)) {
    if (e.seq > 8) break;
    ChangeSet cs;
    cs.events.push_back(e);
    ASSERT_TRUE(cut.Commit(cs).ok());
  }
  auto on_cut = Writer(cut);
  AuditQuery audit(cut, metrics_);
  audit.UseCheckpoints(on_cut.get());
  VerifyResult r = audit.Verify(kAuditor).value();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.proven_through, 5);
  EXPECT_EQ(r.first_bad_seq, 6);
}

TEST_F(CheckpointWriterTest, VerifyCatchesARewriteWithFreshHashes) {
  MemoryStore original;
  auto w = Writer(original);
  Append(original, 5);
  ASSERT_TRUE(w->RunDue().value().has_value());  // covers seq 5

  MemoryStore rewritten;  // seq 3 changed, every hash consistent again
  Append(rewritten, 2);
  Append(rewritten, 1, "mallory");
  Append(rewritten, 2);
  auto on_rewritten = Writer(rewritten);
  AuditQuery audit(rewritten, metrics_);
  audit.UseCheckpoints(on_rewritten.get());
  VerifyResult r = audit.Verify(kAuditor).value();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 1);  // no checkpoint in the log vouches
  EXPECT_THAT(r.reason, HasSubstr("rewritten"));
}

TEST_F(CheckpointWriterTest, VerifyCatchesACheckpointEventOverADifferentHash) {
  MemoryStore store;
  auto w = Writer(store);
  Append(store, 2);
  ChangeSet cs;  // a checkpoint event that signs another hash for seq 2
  AuditEvent e;
  e.time = kStart;
  e.type = AuditType::kAuditCheckpoint;
  e.actor = "jitd";
  e.data = CheckpointToJson(signer_->Sign(2, std::string(64, 'e'), kStart));
  cs.events.push_back(e);
  ASSERT_TRUE(store.Commit(cs).ok());
  AuditQuery audit(store, metrics_);
  audit.UseCheckpoints(w.get());
  VerifyResult r = audit.Verify(kAuditor).value();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 1);
  EXPECT_THAT(r.reason, HasSubstr("rewritten"));
}

// The alarm behind audit.verify_failed hears of failures from both places
// that find them: the writer's own loop and every Verify.
TEST_F(CheckpointWriterTest, IntegrityFailuresReachTheirListeners) {
  MemoryStore full;
  auto w = Writer(full);
  Append(full, 10);
  ASSERT_TRUE(w->RunDue().value().has_value());
  MemoryStore cut;
  Append(cut, 7);
  auto on_cut = Writer(cut);
  AuditQuery audit(cut, metrics_);
  audit.UseCheckpoints(on_cut.get());
  std::vector<VerifyResult> heard;
  audit.OnVerified([&](const VerifyResult& r) { heard.push_back(r); });
  ASSERT_TRUE(audit.Verify(kAuditor).ok());
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_FALSE(heard[0].ok);

  std::mutex mu;
  std::vector<StatusCode> failures;
  on_cut->OnIntegrityFailure([&](const Status& s) {
    std::lock_guard lock(mu);
    failures.push_back(s.code());
  });
  Append(cut, 10);  // due: the writer tries to sign over the cut log
  on_cut->RunDueAndReport();
  clock_.Advance(std::chrono::minutes(2));
  on_cut->RunDueAndReport();  // the same failure again: told once
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0], StatusCode::kFailedPrecondition);
}

TEST_F(CheckpointWriterTest, StartAndStopAreQuick) {
  MemoryStore store;
  auto w = Writer(store);
  w->Start();
  w->Stop();
  w->Stop();
}

}  // namespace
}  // namespace jit
