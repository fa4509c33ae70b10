// THREATS T21 end to end, on the real jitd and jit binaries: the SQLite file
// and audit exports are tampered with in each way someone holding them could
// (edit, delete, reorder, truncate, rewrite with fresh hashes), and one
// grant is followed from request to expiry through its export alone.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "jit/audit/event.h"
#include "jit/audit/verifier.h"
#include "jit/base/duration.h"
#include "tests/integration/fixture.h"

namespace jit::testing {
namespace {

using Json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// A checkpoint after every three new events, so a few requests give several.
std::string AuditTestConfig(const std::string& target_dir) {
  return TestConfig(target_dir) + "audit: {checkpoint_events: 3}\n";
}

// An event's `data`: exported as an object, or as the stored text when
// that would not print back the same.
Json DataOf(const Json& event) {
  const Json& data = event.at("data");
  if (data.is_string())
    return Json::parse(data.get<std::string>(), nullptr, false);
  return data;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

void WriteLines(const std::string& path,
                const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::trunc | std::ios::binary);
  for (const std::string& line : lines) out << line << '\n';
}

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using SqliteDb = std::unique_ptr<sqlite3, SqliteCloser>;

struct SqliteStmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using SqliteStmt = std::unique_ptr<sqlite3_stmt, SqliteStmtFinalizer>;

std::string ColumnText(sqlite3_stmt* s, int col) {
  const unsigned char* text = sqlite3_column_text(s, col);
  return text == nullptr ? "" : reinterpret_cast<const char*>(text);
}

// Every row of the audit table, in seq order, through the SQLite C API.
StatusOr<std::vector<AuditEvent>> ReadAuditRows(sqlite3* db) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db,
                         "SELECT seq, time, type, actor, subject, request_id, "
                         "grant_id, data, prev_hash, hash FROM audit "
                         "ORDER BY seq",
                         -1, &raw, nullptr) != SQLITE_OK) {
    return InternalError(sqlite3_errmsg(db));
  }
  SqliteStmt stmt(raw);
  std::vector<AuditEvent> rows;
  for (int i = 0; i < 100000 && sqlite3_step(raw) == SQLITE_ROW; ++i) {
    AuditEvent e;
    e.seq = sqlite3_column_int64(raw, 0);
    e.time = FromUnixMillis(sqlite3_column_int64(raw, 1));
    StatusOr<AuditType> type = ParseAuditType(ColumnText(raw, 2));
    if (!type.ok()) return type.status();
    e.type = *type;
    e.actor = ColumnText(raw, 3);
    e.subject = ColumnText(raw, 4);
    e.request_id = ColumnText(raw, 5);
    e.grant_id = ColumnText(raw, 6);
    e.data = ColumnText(raw, 7);
    e.prev_hash = ColumnText(raw, 8);
    e.hash = ColumnText(raw, 9);
    rows.push_back(std::move(e));
  }
  return rows;
}

// What someone with the database file and the (public) hash recipe, but
// without the signing key, can do: change event `seq` and give it and every
// later event a fresh, consistent hash. Returns the rewritten chain.
StatusOr<std::vector<AuditEvent>> RewriteChainFrom(const std::string& path,
                                                   int64_t seq,
                                                   const std::string& actor) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open(path.c_str(), &raw);
  SqliteDb db(raw);
  if (rc != SQLITE_OK) return InternalError("cannot open " + path);
  sqlite3_busy_timeout(raw, 5000);
  if (sqlite3_exec(raw, "DROP TRIGGER IF EXISTS audit_no_update", nullptr,
                   nullptr, nullptr) != SQLITE_OK) {
    return InternalError(sqlite3_errmsg(raw));
  }
  StatusOr<std::vector<AuditEvent>> rows = ReadAuditRows(raw);
  if (!rows.ok()) return rows.status();
  sqlite3_stmt* update_raw = nullptr;
  if (sqlite3_prepare_v2(raw,
                         "UPDATE audit SET actor = ?1, prev_hash = ?2, "
                         "hash = ?3 WHERE seq = ?4",
                         -1, &update_raw, nullptr) != SQLITE_OK) {
    return InternalError(sqlite3_errmsg(raw));
  }
  SqliteStmt update(update_raw);
  std::string prev(kGenesisHash);
  for (AuditEvent& e : *rows) {
    if (e.seq < seq) {
      prev = e.hash;
      continue;
    }
    if (e.seq == seq) e.actor = actor;
    e.prev_hash = prev;
    e.hash = ComputeEventHash(e);
    prev = e.hash;
    sqlite3_reset(update_raw);
    sqlite3_bind_text(update_raw, 1, e.actor.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(update_raw, 2, e.prev_hash.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(update_raw, 3, e.hash.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(update_raw, 4, e.seq);
    if (sqlite3_step(update_raw) != SQLITE_DONE)
      return InternalError(sqlite3_errmsg(raw));
  }
  return rows;
}

// The seqs of a log: the checkpoint events and the event each one signs.
struct LogLayout {
  int64_t head = 0;
  std::vector<int64_t> checkpoint_seqs;  // seq of each audit.checkpoint event
  std::vector<int64_t> covered_seqs;     // the seq it signs
};

LogLayout LayoutOf(const Json& events) {
  LogLayout out;
  for (const Json& e : events) {
    out.head = e.at("seq").get<int64_t>();
    if (e["type"] != "audit.checkpoint") continue;
    out.checkpoint_seqs.push_back(out.head);
    out.covered_seqs.push_back(DataOf(e).at("seq").get<int64_t>());
  }
  return out;
}

class AuditTamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string target = tmp_.path() + "/target";
    std::filesystem::create_directories(target + "/held");
    jitd_ = std::make_unique<JitdProcess>(tmp_.path(), AuditTestConfig(target));
    Status s = jitd_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  ProgramResult Jit(const std::string& token, std::vector<std::string> args) {
    args.insert(args.begin(), JIT_BIN);
    return RunProgram(args, {{"JIT_SERVER", jitd_->url()},
                             {"JIT_TOKEN", token},
                             {"HOME", tmp_.path()}});
  }

  Json Events() {
    Reply r = jitd_->Get("/v1/audit?limit=1000", kAuditor);
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body.is_object() ? r.body["items"] : Json::array();
  }

  // True when an audit.checkpoint event signs event `seq` or a later one.
  bool CheckpointCovers(int64_t seq) {
    for (const Json& e : Events()) {
      if (e["type"] != "audit.checkpoint") continue;
      Json c = DataOf(e);
      if (c.is_object() && c["seq"].get<int64_t>() >= seq) return true;
    }
    return false;
  }

  // One auto-approved request (request.created, request.approved and
  // grant.activated in one commit), then waits until a checkpoint signs it.
  void RequestAndAwaitCheckpoint() {
    Reply r = jitd_->Post("/v1/requests", kAlice,
                          {{"entitlement", "read"},
                           {"duration", "5m"},
                           {"justification", "look at the slow query log"}});
    ASSERT_EQ(r.status, 201) << r.raw;
    Json events = Events();
    ASSERT_FALSE(events.empty());
    int64_t head = events.back()["seq"].get<int64_t>();
    ASSERT_TRUE(WaitUntil([&] { return CheckpointCovers(head); }, seconds(5)))
        << "no audit.checkpoint covering seq " << head << "\n"
        << jitd_->log();
  }

  // Three rounds of a request and the checkpoint that signs it:
  // 1 policy.loaded, 2-4 request, 5 checkpoint(4), 6-8, 9 checkpoint(8),
  // 10-12, 13 checkpoint(12). Tests read the real layout, not this sketch.
  LogLayout Seed() {
    for (int i = 0; i < 3; ++i) {
      RequestAndAwaitCheckpoint();
      if (HasFatalFailure()) return {};
    }
    LogLayout layout = LayoutOf(Events());
    Reply v = jitd_->Get("/v1/audit/verify", kAuditor);
    EXPECT_TRUE(v.body["ok"].get<bool>()) << v.raw;
    EXPECT_GE(v.body["checkpoints"].get<int64_t>(), 3) << v.raw;
    return layout;
  }

  // Stops jitd, runs `sql` on its database with the sqlite3 CLI (the
  // append-only triggers dropped first, as anyone with the file can).
  void TamperDb(const std::string& sql) {
    jitd_->Stop();
    std::string out = Sqlite(jitd_->db_path(),
                             "DROP TRIGGER IF EXISTS audit_no_update;"
                             "DROP TRIGGER IF EXISTS audit_no_delete;" +
                                 sql);
    ASSERT_EQ(out, "") << sql;
  }

  void Restart() {
    Status s = jitd_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // GET /v1/audit/verify and `jit audit verify` both say the log is broken
  // and name a first bad seq in [lo, hi] (lo == hi: exactly that one).
  void ExpectBroken(int64_t lo, int64_t hi) {
    Reply v = jitd_->Get("/v1/audit/verify", kAuditor);
    ASSERT_EQ(v.status, 200) << v.raw;
    EXPECT_FALSE(v.body["ok"].get<bool>()) << v.raw;
    ASSERT_TRUE(v.body.contains("first_bad_seq")) << v.raw;
    int64_t bad = v.body["first_bad_seq"].get<int64_t>();
    EXPECT_GE(bad, lo) << v.raw;
    EXPECT_LE(bad, hi) << v.raw;
    ProgramResult cli = Jit(kAuditor, {"audit", "verify"});
    EXPECT_EQ(cli.exit_code, 1) << cli.out << cli.err;
    EXPECT_NE(cli.out.find("BROKEN at seq " + std::to_string(bad) + ":"),
              std::string::npos)
        << cli.out << cli.err;
  }
  void ExpectBrokenAt(int64_t seq) { ExpectBroken(seq, seq); }

  TempDir tmp_;
  std::unique_ptr<JitdProcess> jitd_;
};

TEST_F(AuditTamperTest, EditedEventInTheDatabaseIsNamed) {
  LogLayout layout = Seed();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_GE(layout.checkpoint_seqs.size(), 3u);
  const int64_t edited = layout.checkpoint_seqs[0] + 1;  // request.created
  TamperDb(fmt::format(
      "UPDATE audit SET data = replace(data, 'slow query log', 'payroll') "
      "WHERE seq = {};",
      edited));
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_EQ(Sqlite(jitd_->db_path(),
                   fmt::format("SELECT instr(data, 'payroll') > 0 FROM audit "
                               "WHERE seq = {};",
                               edited)),
            "1\n");
  Restart();
  ASSERT_FALSE(HasFatalFailure());
  ExpectBrokenAt(edited);
}

TEST_F(AuditTamperTest, DeletedMiddleEventInTheDatabaseIsNamed) {
  LogLayout layout = Seed();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_GE(layout.checkpoint_seqs.size(), 3u);
  const int64_t deleted = layout.checkpoint_seqs[1] - 2;  // mid-log, signed
  TamperDb(fmt::format("DELETE FROM audit WHERE seq = {};", deleted));
  ASSERT_FALSE(HasFatalFailure());
  Restart();
  ASSERT_FALSE(HasFatalFailure());
  ExpectBrokenAt(deleted);
}

TEST_F(AuditTamperTest, ReorderedEventsInTheDatabaseAreNamed) {
  LogLayout layout = Seed();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_GE(layout.checkpoint_seqs.size(), 3u);
  // Two events trade places: every column but seq moves to the other slot.
  const int64_t a = layout.checkpoint_seqs[0] + 1;
  const int64_t b = a + 2;
  TamperDb(fmt::format(
      "CREATE TEMP TABLE swap AS SELECT * FROM audit WHERE seq IN ({0}, {1});"
      "UPDATE audit SET (time, type, actor, subject, request_id, grant_id, "
      "data, prev_hash, hash) = (SELECT time, type, actor, subject, "
      "request_id, grant_id, data, prev_hash, hash FROM swap "
      "WHERE swap.seq = {0} + {1} - audit.seq) WHERE seq IN ({0}, {1});",
      a, b));
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_EQ(Sqlite(jitd_->db_path(),
                   fmt::format("SELECT type FROM audit WHERE seq = {};", a)),
            "grant.activated\n");
  Restart();
  ASSERT_FALSE(HasFatalFailure());
  ExpectBrokenAt(a);
}

// The last events go, together with the checkpoint event that signed them;
// only the latest-checkpoint file beside the database still knows. jitd
// appends policy.loaded on start, so the first removed slot is taken by a
// new event: the first bad seq is that slot (or, at the earliest, the first
// seq no surviving signature vouches for).
TEST_F(AuditTamperTest, TruncatedTailInTheDatabaseIsNamed) {
  LogLayout layout = Seed();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_GE(layout.checkpoint_seqs.size(), 3u);
  ASSERT_EQ(layout.checkpoint_seqs.back(), layout.head);
  const int64_t keep_through =
      layout.checkpoint_seqs[layout.checkpoint_seqs.size() - 2];
  const int64_t last_proven =
      layout.covered_seqs[layout.covered_seqs.size() - 2];
  ASSERT_NE(ReadFile(tmp_.path() + "/data/audit/latest_checkpoint.json")
                .find("\"seq\":" + std::to_string(layout.covered_seqs.back())),
            std::string::npos);
  TamperDb(fmt::format("DELETE FROM audit WHERE seq > {};", keep_through));
  ASSERT_FALSE(HasFatalFailure());
  Restart();
  ASSERT_FALSE(HasFatalFailure());
  ExpectBroken(last_proven + 1, keep_through + 1);
}

// jitd goes on writing after a truncation (DESIGN: a broken chain does not
// stop it). New events, and the checkpoint they are due, must not sign the
// shortened log over: the removal stays detected.
TEST_F(AuditTamperTest, TruncatedTailStaysDetectedAfterNewActivity) {
  LogLayout layout = Seed();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_GE(layout.checkpoint_seqs.size(), 3u);
  const int64_t keep_through =
      layout.checkpoint_seqs[layout.checkpoint_seqs.size() - 2];
  const int64_t last_proven =
      layout.covered_seqs[layout.covered_seqs.size() - 2];
  TamperDb(fmt::format("DELETE FROM audit WHERE seq > {};", keep_through));
  ASSERT_FALSE(HasFatalFailure());
  Restart();
  ASSERT_FALSE(HasFatalFailure());
  for (int i = 0; i < 2; ++i) {
    Reply r = jitd_->Post("/v1/requests", kAlice,
                          {{"entitlement", "read"},
                           {"duration", "5m"},
                           {"justification", "look at the slow query log"}});
    ASSERT_EQ(r.status, 201) << r.raw;
  }
  // Give the checkpoint writer (1 s tick) the chance to sign the new head.
  const int64_t head = LayoutOf(Events()).head;
  WaitUntil([&] { return CheckpointCovers(head); }, seconds(3));
  ExpectBroken(last_proven + 1, keep_through + 1);
}

// The chain alone cannot catch this: only the signed checkpoints can. The
// edited event and everything after the last checkpoint that still holds
// is unproven; verify must not vouch for the edited event.
TEST_F(AuditTamperTest, RewrittenChainWithFreshHashesIsCaughtBySignatures) {
  LogLayout layout = Seed();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_GE(layout.checkpoint_seqs.size(), 3u);
  jitd_->Stop();
  const int64_t edited = layout.checkpoint_seqs[0] + 1;  // request.created
  StatusOr<std::vector<AuditEvent>> rewritten =
      RewriteChainFrom(jitd_->db_path(), edited, "mallory");
  ASSERT_TRUE(rewritten.ok()) << rewritten.status().ToString();
  // The rewrite is internally consistent: an unkeyed chain check passes.
  ChainVerifier unkeyed;
  for (const AuditEvent& e : *rewritten) unkeyed.Add(e);
  ASSERT_TRUE(unkeyed.Result().ok) << unkeyed.Result().reason;
  Restart();
  ASSERT_FALSE(HasFatalFailure());
  ExpectBroken(layout.covered_seqs[0] + 1, edited);
}

class AuditExportTest : public AuditTamperTest {
 protected:
  // `jit audit verify --offline FILE --pubkey KEY [--json]`, with no server
  // or token in its environment.
  ProgramResult Offline(const std::string& file, const std::string& format) {
    std::vector<std::string> args = {JIT_BIN, "audit",    "verify", "--offline",
                                     file,    "--pubkey", key_path_};
    if (!format.empty()) args.push_back(format);
    return RunProgram(args, {{"HOME", tmp_.path()}});
  }
  std::pair<int, Json> VerifyOffline(const std::string& file) {
    ProgramResult r = Offline(file, "--json");
    return {r.exit_code, Json::parse(r.out, nullptr, false)};
  }

  void ExportWithCli() {
    ProgramResult key = Jit(kAuditor, {"audit", "pubkey"});
    ASSERT_EQ(key.exit_code, 0) << key.err;
    ASSERT_NE(key.out.find("BEGIN PUBLIC KEY"), std::string::npos) << key.out;
    key_path_ = tmp_.path() + "/key.pem";
    WriteLines(key_path_, {key.out});
    ProgramResult out = Jit(kAuditor, {"audit", "export"});
    ASSERT_EQ(out.exit_code, 0) << out.err;
    export_path_ = tmp_.path() + "/export.jsonl";
    WriteLines(export_path_, SplitLines(out.out));
    lines_ = SplitLines(out.out);
    ASSERT_GE(lines_.size(), 3u);
  }

  // The index in lines_ of the event with `seq`.
  size_t LineOf(int64_t seq) {
    for (size_t i = 1; i + 1 < lines_.size(); ++i) {
      if (Json::parse(lines_[i])["seq"] == seq) return i;
    }
    ADD_FAILURE() << "no line for seq " << seq;
    return 0;
  }

  // Writes `lines` as a new export file and checks the offline verifier
  // rejects it (exit 1) naming `seq`, in --json and in its text.
  void ExpectTamperedExportNames(const std::string& name,
                                 const std::vector<std::string>& lines,
                                 int64_t seq) {
    SCOPED_TRACE(name);
    std::string path = tmp_.path() + "/" + name + ".jsonl";
    WriteLines(path, lines);
    auto [exit_code, verdict] = VerifyOffline(path);
    EXPECT_EQ(exit_code, 1) << verdict.dump();
    EXPECT_EQ(verdict["ok"], false) << verdict.dump();
    EXPECT_EQ(verdict["first_bad_seq"], seq) << verdict.dump();
    ProgramResult text = Offline(path, "");
    EXPECT_EQ(text.exit_code, 1);
    EXPECT_NE(text.out.find("BROKEN at seq " + std::to_string(seq) + " "),
              std::string::npos)
        << text.out << text.err;
  }

  std::string key_path_, export_path_;
  std::vector<std::string> lines_;
};

TEST_F(AuditExportTest, ExportVerifiesOfflineAndEachTamperingIsNamed) {
  LogLayout layout = Seed();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_GE(layout.checkpoint_seqs.size(), 3u);
  ExportWithCli();
  ASSERT_FALSE(HasFatalFailure());
  // Header, every event, end line.
  ASSERT_EQ(lines_.size(), static_cast<size_t>(layout.head) + 2);
  auto [exit_code, verdict] = VerifyOffline(export_path_);
  ASSERT_EQ(exit_code, 0) << verdict.dump();
  EXPECT_EQ(verdict["ok"], true);
  EXPECT_EQ(verdict["events"], layout.head);
  EXPECT_EQ(verdict["last_seq"], layout.head);
  EXPECT_GE(verdict["checkpoints"].get<int64_t>(), 3);
  // Everything below runs without jitd.
  jitd_->Stop();

  const int64_t mid = layout.checkpoint_seqs[0] + 1;
  {
    std::vector<std::string> edited = lines_;
    Json e = Json::parse(edited[LineOf(mid)]);
    e["actor"] = "mallory";
    edited[LineOf(mid)] = e.dump();
    ExpectTamperedExportNames("edited", edited, mid);
  }
  {
    std::vector<std::string> deleted = lines_;
    deleted.erase(deleted.begin() + static_cast<long>(LineOf(mid)));
    ExpectTamperedExportNames("deleted", deleted, mid);
  }
  {
    std::vector<std::string> swapped = lines_;
    std::swap(swapped[LineOf(mid)], swapped[LineOf(mid + 1)]);
    ExpectTamperedExportNames("swapped", swapped, mid);
  }
  {
    // The last two events and the end line cut off.
    std::vector<std::string> cut(lines_.begin(), lines_.end() - 3);
    ExpectTamperedExportNames("cut", cut, layout.head - 1);
  }
  {
    // The last two events cut, the signed end line kept.
    std::vector<std::string> cut = lines_;
    cut.erase(cut.end() - 3, cut.end() - 1);
    ExpectTamperedExportNames("cut-before-end", cut, layout.head - 1);
  }
}

// alice reads her own events, but signed anchors and ends are for auditors.
TEST_F(AuditExportTest, ExportByANonAuditorIsRefused) {
  Reply r = jitd_->Post("/v1/requests", kAlice,
                        {{"entitlement", "read"},
                         {"duration", "5m"},
                         {"justification", "look at the slow query log"}});
  ASSERT_EQ(r.status, 201) << r.raw;
  ASSERT_FALSE(jitd_->Get("/v1/audit", kAlice).body["items"].empty());
  ProgramResult out = Jit(kAlice, {"audit", "export"});
  EXPECT_NE(out.exit_code, 0) << out.out;
  EXPECT_NE(out.err.find("forbidden"), std::string::npos) << out.err;
  EXPECT_EQ(out.out.find("jitd_audit_export_end"), std::string::npos)
      << out.out;
  EXPECT_EQ(jitd_->Get("/v1/audit/checkpoint?seq=1", kMallory).status, 403);
}

// One grant from request to expiry, answered from the export alone: who
// asked, for whom, why, under which policy (name and version), who approved
// and when, when access began, when and how it ended.
TEST_F(AuditExportTest, ExportAloneAnswersTheAuditorsQuestionsAboutOneGrant) {
  Reply asked = jitd_->Post("/v1/requests", kAlice,
                            {{"entitlement", "admin"},
                             {"duration", "2s"},
                             {"justification", "rotate the TLS keys on db1"},
                             {"ticket", "OPS-4711"}});
  ASSERT_EQ(asked.status, 201) << asked.raw;
  const std::string request_id = asked.body["id"];
  Reply approved = jitd_->Post("/v1/requests/" + request_id + "/approve", kBob,
                               {{"comment", "matches OPS-4711"}});
  ASSERT_EQ(approved.status, 200) << approved.raw;
  auto has = [&](const std::string& type) {
    for (const Json& e : Events()) {
      if (e["type"] == type && e["request_id"] == request_id) return true;
    }
    return false;
  };
  ASSERT_TRUE(
      WaitUntil([&] { return has("grant.sessions_killed"); }, seconds(10)))
      << jitd_->log();

  ExportWithCli();
  ASSERT_FALSE(HasFatalFailure());
  auto [exit_code, verdict] = VerifyOffline(export_path_);
  ASSERT_EQ(exit_code, 0) << verdict.dump();
  EXPECT_EQ(verdict["ok"], true);

  // Everything below comes from the export file only.
  std::map<std::string, Json> by_type;
  std::string policy_version_loaded;
  for (size_t i = 1; i + 1 < lines_.size(); ++i) {
    Json e = Json::parse(lines_[i]);
    e["data"] = DataOf(e);
    if (e["type"] == "policy.loaded")
      policy_version_loaded = e["data"]["policy_version"].get<std::string>();
    if (e["request_id"] == request_id) by_type[e["type"]] = e;
  }
  ASSERT_FALSE(policy_version_loaded.empty());
  for (const char* type :
       {"request.created", "request.approved", "grant.activated",
        "grant.expired", "grant.sessions_killed"}) {
    ASSERT_TRUE(by_type.count(type)) << "no " << type << " in the export";
  }
  Json created = by_type["request.created"];
  Json approval = by_type["request.approved"];
  Json activated = by_type["grant.activated"];
  Json expired = by_type["grant.expired"];
  Json revoked = by_type["grant.sessions_killed"];

  // Who asked, on behalf of whom, for what.
  EXPECT_EQ(created["actor"], "alice");
  EXPECT_EQ(created["subject"], "alice");
  EXPECT_EQ(created["data"]["entitlement"], "admin");
  EXPECT_EQ(created["data"]["duration"], "2s");
  EXPECT_EQ(created["data"]["subject_groups"], Json::array({"dev"}));
  // Why.
  EXPECT_EQ(created["data"]["justification"], "rotate the TLS keys on db1");
  EXPECT_EQ(created["data"]["ticket"], "OPS-4711");
  // Which policy, and which version of it, decided.
  EXPECT_EQ(created["data"]["policy"], "one-approver");
  EXPECT_EQ(activated["data"]["policy"], "one-approver");
  EXPECT_EQ(activated["data"]["policy_version"], policy_version_loaded);
  // Not recorded yet (the assertions below fail until it is): the request
  // was judged against the policy at creation and approval, and the issue
  // asks every event to carry the version in force; today only
  // grant.activated (and policy.loaded) name it, so a reload between
  // request and activation leaves the deciding version unknown.
  EXPECT_EQ(created["data"]["policy_version"], policy_version_loaded)
      << "request.created lacks policy_version";
  EXPECT_EQ(approval["data"]["policy_version"], policy_version_loaded)
      << "request.approved lacks policy_version";

  // Who approved, when, with what comment.
  EXPECT_EQ(approval["actor"], "bob");
  EXPECT_EQ(approval["data"]["approver"], "bob");
  EXPECT_EQ(approval["data"]["comment"], "matches OPS-4711");
  EXPECT_EQ(approval["data"]["final"], true);
  StatusOr<SystemTime> created_at =
      ParseTime(created["time"].get<std::string>());
  StatusOr<SystemTime> approved_at =
      ParseTime(approval["time"].get<std::string>());
  ASSERT_TRUE(created_at.ok() && approved_at.ok());
  EXPECT_LE(*created_at, *approved_at);

  // When access began and how long it was for.
  EXPECT_EQ(activated["grant_id"], expired["grant_id"]);
  EXPECT_EQ(activated["subject"], "alice");
  StatusOr<SystemTime> starts =
      ParseTime(activated["data"]["starts_at"].get<std::string>());
  StatusOr<SystemTime> expires =
      ParseTime(activated["data"]["expires_at"].get<std::string>());
  ASSERT_TRUE(starts.ok() && expires.ok());
  EXPECT_GE(*starts, *approved_at);
  EXPECT_EQ(*expires - *starts, seconds(2));

  // When and how it ended: expired, not revoked, and taken away at the
  // target afterwards.
  EXPECT_EQ(expired["data"]["ended_reason"], "expired");
  StatusOr<SystemTime> ended = ParseTime(expired["time"].get<std::string>());
  ASSERT_TRUE(ended.ok());
  EXPECT_GE(*ended, *expires);
  EXPECT_EQ(expired["data"]["held_ms"], 2000);
  EXPECT_EQ(revoked["data"]["revoked_in_target"], true);
  EXPECT_EQ(revoked["data"]["survivors"], Json::array());
  EXPECT_EQ(by_type.count("grant.revoked"), 0u);
}

}  // namespace
}  // namespace jit::testing
