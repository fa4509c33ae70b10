#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "jit/base/status.h"

namespace pqxx {
class connection_base;
}

namespace jit {

struct PgPoolOptions {
  // Connections opened at most (lazily, on demand).
  int size = 4;
  // Bounds every statement on the server (SET statement_timeout), so a call
  // never waits forever on a lock another replica holds.
  std::chrono::milliseconds statement_timeout = std::chrono::seconds(30);
};

// A few libpqxx connections to one database, shared by the threads of one
// PostgresStore.
//
// Why a pool and not one mutex-guarded connection: a Commit holds its
// connection for several network round trips and may wait on a row lock
// another replica holds; behind one connection every read (check index
// refresh, GET /v1/requests) would queue up behind it. A small fixed pool
// lets reads run meanwhile, while the server sees a bounded number of
// connections per replica (max_connections is shared by all replicas).
//
// Thread-safe. Connections are opened on first use. A connection found
// broken is closed together with every idle one (they most likely lost the
// same server); the next call opens fresh ones, so the store recovers by
// itself once the server is back.
class PgPool {
 public:
  using Body = std::function<Status(pqxx::connection_base&)>;

  // `dsn` is passed to libpq as is (see WithConnectDefaults).
  PgPool(std::string dsn, PgPoolOptions options);
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // Runs `body` on a connection of its own (waiting for a free one). A
  // libpqxx exception escaping `body` becomes a Status naming `what`:
  //   kUnavailable  cannot connect, connection lost, outcome of COMMIT
  //                 unknown, statement timeout, or any other server error;
  //   kAborted      the server rolled the transaction back (serialization
  //                 failure, deadlock): nothing written, retry;
  //   kInvalidArgument  a value the server cannot store (SQLSTATE class
  //                 22, e.g. text that is not UTF-8);
  //   kInternal     a stored value this code cannot read.
  // `body` handles the SQL errors it expects itself (unique violations).
  Status Run(std::string_view what, const Body& body);

 private:
  struct Conn;
  StatusOr<std::unique_ptr<Conn>> Acquire();
  void Release(std::unique_ptr<Conn> conn, bool broken);
  StatusOr<std::unique_ptr<Conn>> Connect();

  const std::string dsn_;
  const PgPoolOptions options_;
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<Conn>> idle_;  // guarded by mu_
  int open_ = 0;                             // guarded by mu_; idle + leased
  uint64_t epoch_ = 0;  // guarded by mu_; bumped when a connection breaks
};

}  // namespace jit
