#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "jit/base/status.h"

namespace jit {

struct PgListenerOptions {
  // Longest wait for a notification before the loop looks at Stop() and
  // the health of its connection; also bounds how long Stop() takes.
  std::chrono::milliseconds poll = std::chrono::milliseconds(100);
  // A quiet connection is probed (SELECT 1) this often, so a server that
  // went away without closing the socket is noticed.
  std::chrono::milliseconds probe_every = std::chrono::seconds(2);
  // Reconnect backoff: doubles from `min_backoff` up to `max_backoff`.
  std::chrono::milliseconds min_backoff = std::chrono::milliseconds(100);
  std::chrono::milliseconds max_backoff = std::chrono::seconds(5);
};

// Follows PostgresStore's grant notifications (LISTEN on
// PostgresStore::kGrantChannel) on a dedicated connection and thread, for
// the in-memory check index of one replica.
//
// `changed(grant_id)` runs for every notification, in order, on the
// listener's thread: the grant was written by some replica (this one
// included); the callee re-reads it. `resynced()` runs after each
// successful (re)connect, once LISTEN is in force: notifications sent while
// there was no connection are lost, so the callee rebuilds from the store.
// `lost(why)` runs when a working connection is lost. Callbacks must not
// call Stop(). Every wait is bounded (`options`); a lost connection is
// reopened with backoff until Stop().
// Thread-safe: Start/Stop from any thread; connected() any time.
class PgGrantListener {
 public:
  struct Callbacks {
    std::function<void(const std::string& grant_id)> changed;
    std::function<void()> resynced;
    std::function<void(const Status& why)> lost;
  };

  // `dsn` as PostgresStore::Open takes it (checked there).
  PgGrantListener(std::string dsn, Callbacks callbacks,
                  PgListenerOptions options = {});
  ~PgGrantListener();
  PgGrantListener(const PgGrantListener&) = delete;
  PgGrantListener& operator=(const PgGrantListener&) = delete;

  void Start();
  void Stop();
  // True while LISTEN is in force on a live connection.
  bool connected() const { return connected_.load(); }
  // Successful connects so far (the first one included).
  int connects() const { return connects_.load(); }

 private:
  void Loop();
  // Connects, LISTENs and serves notifications until the connection breaks
  // or Stop(); the error that ended it.
  Status Session();
  // Sleeps up to `d`; false when stopping.
  bool Pause(std::chrono::milliseconds d);

  const std::string dsn_;
  const Callbacks callbacks_;
  const PgListenerOptions options_;
  std::atomic<bool> connected_{false};
  std::atomic<int> connects_{0};
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace jit
