#include "jit/storage/postgres/pg_listener.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <pqxx/pqxx>

#include "jit/storage/postgres/pg_dsn.h"
#include "jit/storage/postgres/postgres_store.h"

namespace jit {
namespace {

// LISTENs on `channel` for as long as it lives (libpqxx issues LISTEN when
// the first receiver of a channel registers, UNLISTEN with the last).
class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& db, const std::string& channel,
           const std::function<void(const std::string&)>& changed)
      : pqxx::notification_receiver(db, channel), changed_(changed) {}

  void operator()(const std::string& payload, int /*backend_pid*/) override {
    if (changed_) changed_(payload);
  }

 private:
  const std::function<void(const std::string&)>& changed_;
};

}  // namespace

PgGrantListener::PgGrantListener(std::string dsn, Callbacks callbacks,
                                 PgListenerOptions options)
    : dsn_(std::move(dsn)),
      callbacks_(std::move(callbacks)),
      options_(options) {}

PgGrantListener::~PgGrantListener() { Stop(); }

void PgGrantListener::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void PgGrantListener::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool PgGrantListener::Pause(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  wake_.wait_for(lock, d, [this] { return stopping_; });
  return !stopping_;
}

void PgGrantListener::Loop() {
  std::chrono::milliseconds backoff = options_.min_backoff;
  while (Pause(std::chrono::milliseconds(0))) {
    int before = connects_.load();
    Status ended = Session();
    bool was_connected = connects_.load() != before;
    connected_.store(false);
    if (ended.ok()) break;  // stopping
    if (was_connected) {
      backoff = options_.min_backoff;
      spdlog::warn("grant notifications lost: {}", ended.ToString());
      if (callbacks_.lost) callbacks_.lost(ended);
    }
    if (!Pause(backoff)) break;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

Status PgGrantListener::Session() {
  using Clock = std::chrono::steady_clock;
  const long poll_us = static_cast<long>(
      std::chrono::duration_cast<std::chrono::microseconds>(options_.poll)
          .count());
  try {
    pqxx::connection db(WithConnectDefaults(dsn_));
    Receiver receiver(db, std::string(PostgresStore::kGrantChannel),
                      callbacks_.changed);
    // A first round trip puts LISTEN in force before the resync reads.
    { pqxx::nontransaction(db).exec("SELECT 1"); }
    connected_.store(true);
    ++connects_;
    if (callbacks_.resynced) callbacks_.resynced();
    Clock::time_point probed = Clock::now();
    while (Pause(std::chrono::milliseconds(0))) {
      db.await_notification(poll_us / 1'000'000, poll_us % 1'000'000);
      if (Clock::now() - probed < options_.probe_every) continue;
      pqxx::nontransaction(db).exec("SELECT 1");
      probed = Clock::now();
    }
    return OkStatus();
  } catch (const pqxx::broken_connection& e) {
    return UnavailableError(std::string("PostgreSQL connection lost: ") +
                            e.what());
  } catch (const std::exception& e) {
    return UnavailableError(std::string("PostgreSQL listener: ") + e.what());
  }
}

}  // namespace jit
