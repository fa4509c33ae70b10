#include "jit/storage/postgres/pg_pool.h"

#include <pqxx/pqxx>
#include <utility>

namespace jit {
namespace {

// SQLSTATE classes that mean the session is gone or going: connection
// exception (08) and operator intervention (57: admin shutdown, crash
// shutdown, cannot connect now; 57014 query_canceled is a statement timeout
// on a healthy session).
bool SessionLost(const std::string& sqlstate) {
  return sqlstate.starts_with("08") ||
         (sqlstate.starts_with("57") && sqlstate != "57014");
}

// A waiter gives up after this many statement timeouts: every leaseholder
// runs a few statements, each bounded by statement_timeout.
constexpr int kLeaseWaitStatements = 2;

}  // namespace

struct PgPool::Conn {
  std::unique_ptr<pqxx::connection> db;
  uint64_t epoch = 0;
};

namespace {

PgPoolOptions Sane(PgPoolOptions options) {
  if (options.size < 1) options.size = 1;
  return options;
}

}  // namespace

PgPool::PgPool(std::string dsn, PgPoolOptions options)
    : dsn_(std::move(dsn)), options_(Sane(options)) {}

PgPool::~PgPool() = default;

StatusOr<std::unique_ptr<PgPool::Conn>> PgPool::Connect() {
  auto conn = std::make_unique<Conn>();
  try {
    conn->db = std::make_unique<pqxx::connection>(dsn_);
    // set_variable keeps the values for libpqxx's own reconnects too.
    conn->db->set_variable("statement_timeout",
                           std::to_string(options_.statement_timeout.count()));
    conn->db->set_variable("client_encoding", "'UTF8'");
  } catch (const pqxx::failure& e) {
    // libpq's message names host and port, never the password.
    return UnavailableError(std::string("postgres: cannot connect: ") +
                            e.what());
  } catch (const std::exception& e) {
    return UnavailableError(std::string("postgres: cannot connect: ") +
                            e.what());
  }
  return conn;
}

StatusOr<std::unique_ptr<PgPool::Conn>> PgPool::Acquire() {
  uint64_t epoch = 0;
  {
    std::unique_lock lock(mu_);
    bool got = freed_.wait_for(
        lock, options_.statement_timeout * kLeaseWaitStatements,
        [&] { return !idle_.empty() || open_ < options_.size; });
    if (!got) {
      return UnavailableError("postgres: all " + std::to_string(options_.size) +
                              " connections stayed busy");
    }
    if (!idle_.empty()) {
      std::unique_ptr<Conn> conn = std::move(idle_.back());
      idle_.pop_back();
      return conn;
    }
    ++open_;  // reserve the slot; connect without holding the lock
    epoch = epoch_;
  }
  StatusOr<std::unique_ptr<Conn>> conn = Connect();
  if (!conn.ok()) {
    std::lock_guard lock(mu_);
    --open_;
    freed_.notify_one();
    return conn.status();
  }
  (*conn)->epoch = epoch;
  return conn;
}

void PgPool::Release(std::unique_ptr<Conn> conn, bool broken) {
  std::vector<std::unique_ptr<Conn>> closing;  // closed outside the lock
  {
    std::lock_guard lock(mu_);
    if (broken) {
      ++epoch_;
      closing = std::move(idle_);
      idle_.clear();
    }
    if (broken || conn->epoch != epoch_) {
      closing.push_back(std::move(conn));
    } else {
      idle_.push_back(std::move(conn));
    }
    open_ -= static_cast<int>(closing.size());
    freed_.notify_all();
  }
}

Status PgPool::Run(std::string_view what, const Body& body) {
  StatusOr<std::unique_ptr<Conn>> leased = Acquire();
  if (!leased.ok()) return leased.status();
  std::unique_ptr<Conn> conn = std::move(leased).value();
  bool broken = false;
  auto fail = [&](StatusCode code, std::string_view kind, const char* detail) {
    return Status(code, "postgres: " + std::string(what) + ": " +
                            std::string(kind) + detail);
  };
  Status s;
  try {
    s = body(*conn->db);
  } catch (const pqxx::in_doubt_error& e) {
    broken = true;
    s = fail(StatusCode::kUnavailable,
             "connection lost during COMMIT (outcome unknown): ", e.what());
  } catch (const pqxx::statement_completion_unknown& e) {
    broken = true;
    s = fail(StatusCode::kUnavailable,
             "connection lost (statement outcome unknown): ", e.what());
  } catch (const pqxx::broken_connection& e) {
    broken = true;
    s = fail(StatusCode::kUnavailable, "connection lost: ", e.what());
  } catch (const pqxx::transaction_rollback& e) {
    s = fail(StatusCode::kAborted, "transaction rolled back: ", e.what());
  } catch (const pqxx::data_exception& e) {
    s = fail(StatusCode::kInvalidArgument, "value not storable: ", e.what());
  } catch (const pqxx::sql_error& e) {
    broken = SessionLost(e.sqlstate());
    s = fail(StatusCode::kUnavailable, "SQLSTATE " + e.sqlstate() + ": ",
             e.what());
  } catch (const pqxx::conversion_error& e) {
    s = fail(StatusCode::kInternal,
             "database holds an invalid value: ", e.what());
  } catch (const pqxx::failure& e) {
    s = fail(StatusCode::kUnavailable, "", e.what());
  } catch (const std::exception& e) {
    s = fail(StatusCode::kInternal, "", e.what());
  }
  if (!s.ok() && !conn->db->is_open()) broken = true;
  Release(std::move(conn), broken);
  return s;
}

}  // namespace jit
