// Durable writes: the audit log's hash-chained, batched append through
// SqliteStore against a raw write+fdatasync and a bare SQLite insert
// of the same batch (WAL, synchronous=FULL), plus one raw fdatasync append,
// the baseline of an auto-approved grant's latency.
//   bench_durable [--jitd_dir=DIR] [--jitd_batch=1000] [benchmark flags]

#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "bench/grant_seed.h"
#include "jit/storage/sqlite/sqlite_store.h"

namespace jit::bench {
namespace {

namespace fs = std::filesystem;

// A representative audit row: ids, actor, subject and a small JSON body.
AuditEvent SampleEvent(int64_t i) {
  AuditEvent e;
  e.time = std::chrono::system_clock::now();
  e.type = AuditType::kGrantActivated;
  e.actor = "policy";
  e.subject = fmt::format("user-{:07d}", i % 100000);
  e.request_id = fmt::format("req_{:032x}", i);
  e.grant_id = fmt::format("grt_{:032x}", i);
  e.data = R"({"entitlement":"dev-shell","expires_at":"2026-11-23T11:00:00Z"})";
  return e;
}

// The bytes one event takes in a plain append-only log (one line).
std::string EventLine(int64_t i) {
  AuditEvent e = SampleEvent(i);
  return fmt::format("{} {} {} {} {} {} {}\n", i, e.actor, e.subject,
                     e.request_id, e.grant_id, e.data, std::string(64, '0'));
}

// A fresh directory under `root`, removed on destruction.
class TempDir {
 public:
  TempDir(const std::string& root, std::string_view name)
      : path_(fs::path(root) /
              fmt::format("jitd-bench-{}-{}", name, getpid())) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;  // a leftover temp dir is harmless
    fs::remove_all(path_, ignored);
  }
  std::string File(std::string_view name) const { return path_ / name; }

 private:
  fs::path path_;
};

struct Options {
  std::string dir;
  int batch = 1000;
};

// A log file written in place over a pre-written (zero-filled, synced)
// region, wrapping around: like a WAL file being reused, so fdatasync
// flushes only data and never a growing file size or new extents.
class LogFile {
 public:
  static constexpr off_t kSize = 16 << 20;

  explicit LogFile(const std::string& path)
      : fd_(open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) {
    std::string zeros(1 << 20, '\0');
    for (off_t at = 0; ok_ && at < kSize; at += zeros.size()) {
      ok_ = fd_ >= 0 && pwrite(fd_, zeros.data(), zeros.size(), at) ==
                            static_cast<ssize_t>(zeros.size());
    }
    ok_ = ok_ && fsync(fd_) == 0;
  }
  ~LogFile() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return ok_; }
  bool Write(const std::string& bytes) {
    if (at_ + static_cast<off_t>(bytes.size()) > kSize) at_ = 0;
    bool done = pwrite(fd_, bytes.data(), bytes.size(), at_) ==
                static_cast<ssize_t>(bytes.size());
    at_ += bytes.size();
    return done;
  }
  bool Sync() { return fdatasync(fd_) == 0; }

 private:
  int fd_;
  bool ok_ = true;
  off_t at_ = 0;
};

void BM_FdatasyncAppend(benchmark::State& state, const Options& o) {
  TempDir dir(o.dir, "fsync1");
  LogFile f(dir.File("log"));
  std::string line = EventLine(1);
  Samples samples;
  for (auto _ : state) {
    int64_t t0 = NowNs();
    bool ok = f.ok() && f.Write(line) && f.Sync();
    samples.Add(NowNs() - t0);
    if (!ok) {
      state.SkipWithError("write or fdatasync failed");
      break;
    }
  }
  samples.Report(state);
}

void BM_FdatasyncAppendBatch(benchmark::State& state, const Options& o) {
  TempDir dir(o.dir, "fsyncn");
  LogFile f(dir.File("log"));
  std::string batch;
  for (int i = 0; i < o.batch; ++i) batch += EventLine(i);
  for (auto _ : state) {
    if (!f.ok() || !f.Write(batch) || !f.Sync()) {
      state.SkipWithError("write or fdatasync failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * o.batch);
}

// Bare SQLite: the same rows in one table without hashing or checks.
void BM_SqliteInsertBatch(benchmark::State& state, const Options& o) {
  TempDir dir(o.dir, "sqlite");
  sqlite3* raw = nullptr;
  int rc = sqlite3_open(dir.File("bare.db").c_str(), &raw);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
  if (rc != SQLITE_OK ||
      sqlite3_exec(db.get(),
                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                   "CREATE TABLE log (seq INTEGER PRIMARY KEY, line TEXT)",
                   nullptr, nullptr, nullptr) != SQLITE_OK) {
    state.SkipWithError("cannot set up SQLite");
    return;
  }
  sqlite3_stmt* raw_stmt = nullptr;
  sqlite3_prepare_v2(db.get(), "INSERT INTO log (line) VALUES (?)", -1,
                     &raw_stmt, nullptr);
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> insert(
      raw_stmt, sqlite3_finalize);
  std::vector<std::string> lines;
  for (int i = 0; i < o.batch; ++i) lines.push_back(EventLine(i));
  for (auto _ : state) {
    bool ok =
        sqlite3_exec(db.get(), "BEGIN", nullptr, nullptr, nullptr) == SQLITE_OK;
    for (const std::string& line : lines) {
      sqlite3_bind_text(insert.get(), 1, line.data(),
                        static_cast<int>(line.size()), SQLITE_STATIC);
      ok = ok && sqlite3_step(insert.get()) == SQLITE_DONE;
      sqlite3_reset(insert.get());
    }
    ok = ok && sqlite3_exec(db.get(), "COMMIT", nullptr, nullptr, nullptr) ==
                   SQLITE_OK;
    if (!ok) {
      state.SkipWithError(sqlite3_errmsg(db.get()));
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * o.batch);
}

// The audit log as jitd writes it: Store::Commit hash-chains every event
// onto the stored head in one durable transaction.
void BM_AuditCommit(benchmark::State& state, const Options& o, int batch) {
  TempDir dir(o.dir, fmt::format("audit{}", batch));
  StatusOr<std::unique_ptr<SqliteStore>> store =
      SqliteStore::Open(dir.File("jitd.db"));
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  std::vector<AuditEvent> events;
  for (int i = 0; i < batch; ++i) events.push_back(SampleEvent(i));
  Samples samples;
  for (auto _ : state) {
    ChangeSet cs;
    cs.events = events;
    int64_t t0 = NowNs();
    Status s = (*store)->Commit(cs);
    samples.Add(NowNs() - t0);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
  samples.Report(state);
  state.SetItemsProcessed(state.iterations() * batch);
}

// What the audit log adds to the transaction it belongs to: auto-approved
// grants (request and grant rows) committed with their three events, or
// the same rows without them, `per_commit` grants per Commit. Only the
// Commit is timed (manual time); fresh ids every iteration.
void BM_GrantCommit(benchmark::State& state, const Options& o, int per_commit,
                    bool with_events) {
  TempDir dir(o.dir, fmt::format("grant{}{}", per_commit, with_events));
  StatusOr<std::unique_ptr<SqliteStore>> store =
      SqliteStore::Open(dir.File("jitd.db"));
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  SystemTime now = std::chrono::system_clock::now();
  int64_t next = 0;
  Samples samples;
  for (auto _ : state) {
    ChangeSet cs;
    for (int i = 0; i < per_commit; ++i) {
      AddAutoGrant(cs, next++, now, now + std::chrono::hours(1), with_events);
    }
    int64_t t0 = NowNs();
    Status s = (*store)->Commit(cs);
    int64_t took = NowNs() - t0;
    samples.Add(took);
    state.SetIterationTime(static_cast<double>(took) / 1e9);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
  samples.Report(state);
  state.SetItemsProcessed(state.iterations() * per_commit);
}

}  // namespace
}  // namespace jit::bench

int main(int argc, char** argv) {
  using jit::bench::Options;
  benchmark::Initialize(&argc, argv);
  Options o;
  o.dir = jit::bench::StringFlag(argc, argv, "dir",
                                 std::filesystem::temp_directory_path());
  o.batch = static_cast<int>(
      std::max<int64_t>(1, jit::bench::IntFlag(argc, argv, "batch", 1000)));
  benchmark::RegisterBenchmark("BM_FdatasyncAppend", [o](benchmark::State& s) {
    jit::bench::BM_FdatasyncAppend(s, o);
  })->UseRealTime();
  benchmark::RegisterBenchmark(
      "BM_FdatasyncAppendBatch",
      [o](benchmark::State& s) { jit::bench::BM_FdatasyncAppendBatch(s, o); })
      ->UseRealTime();
  benchmark::RegisterBenchmark(
      "BM_SqliteInsertBatch",
      [o](benchmark::State& s) { jit::bench::BM_SqliteInsertBatch(s, o); })
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_AuditCommitBatch", [o](benchmark::State& s) {
    jit::bench::BM_AuditCommit(s, o, o.batch);
  })->UseRealTime();
  benchmark::RegisterBenchmark("BM_AuditCommitOne", [o](benchmark::State& s) {
    jit::bench::BM_AuditCommit(s, o, 1);
  })->UseRealTime();
  for (int per_commit : {1, o.batch}) {
    for (bool with_events : {false, true}) {
      std::string name = fmt::format("BM_GrantCommit/{}/{}", per_commit,
                                     with_events ? "events" : "no_events");
      benchmark::RegisterBenchmark(name.c_str(), [o, per_commit, with_events](
                                                     benchmark::State& s) {
        jit::bench::BM_GrantCommit(s, o, per_commit, with_events);
      })->UseManualTime();
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
