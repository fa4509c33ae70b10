#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jit/base/status.h"
#include "jit/connectors/connector.h"

// libpq types, kept out of every other header.
typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace jit {

// The outcome of one statement, owning its PGresult. A SQL error is a
// result too (ok() false, with its SQLSTATE), so callers can react to the
// codes they expect (42710 duplicate_object, 2BP01 dependent objects).
class PgResult {
 public:
  explicit PgResult(PGresult* res);
  PgResult(PgResult&&) noexcept = default;
  PgResult& operator=(PgResult&&) noexcept = default;
  ~PgResult();

  bool ok() const;
  // Five-character SQLSTATE ("" when ok).
  std::string sqlstate() const;
  // The server's primary message ("" when ok).
  std::string error_message() const;
  int rows() const;
  bool IsNull(int row, int col) const;
  // The value as text ("" for NULL).
  std::string Get(int row, int col) const;

 private:
  struct Deleter {
    void operator()(PGresult* r) const;
  };
  std::unique_ptr<PGresult, Deleter> res_;
};

// One libpq connection, every call bounded by a Deadline: connecting and
// waiting for results poll the socket and give up at the deadline, and the
// server bounds each statement by `statement_timeout` (set at connect) in
// case a given-up statement keeps running. No libpq call here blocks past
// the deadline, except host name resolution (use IP addresses in the DSN
// to avoid it). Not thread-safe; one owner; closed on destruction.
//
// Errors: kUnavailable = cannot connect, connection lost, or the server
// failed the statement (message names it); kDeadlineExceeded = `deadline`
// passed (the connection is then closed; build a new one).
class PgConnection {
 public:
  // `params` are libpq keywords; "dbname" may hold a whole connection
  // string or URI (expanded; later keywords override it).
  static StatusOr<PgConnection> Connect(
      const std::vector<std::pair<std::string, std::string>>& params,
      Deadline deadline);
  PgConnection(PgConnection&&) noexcept = default;
  PgConnection& operator=(PgConnection&&) noexcept = default;
  ~PgConnection();

  // Runs one statement with text parameters ($1, $2...). Transport
  // failures are a Status; a SQL error is a PgResult with ok() false.
  StatusOr<PgResult> Run(std::string_view sql,
                         const std::vector<std::string>& params,
                         Deadline deadline);
  // Runs one or more statements without parameters (one implicit
  // transaction); the first failing statement's result, else the last one.
  StatusOr<PgResult> RunScript(std::string_view sql, Deadline deadline);
  // Run() with a SQL error turned into kUnavailable naming `what`.
  StatusOr<PgResult> Exec(std::string_view what, std::string_view sql,
                          const std::vector<std::string>& params,
                          Deadline deadline);

  // "name" with embedded quotes doubled (PQescapeIdentifier), and 'text'
  // (PQescapeLiteral). kInvalidArgument for text libpq refuses (bad
  // encoding).
  StatusOr<std::string> QuoteIdentifier(std::string_view name) const;
  StatusOr<std::string> QuoteLiteral(std::string_view text) const;

 private:
  struct Deleter {
    void operator()(PGconn* c) const;
  };
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  Status WaitReadable(Deadline deadline, std::string_view what);
  StatusOr<PgResult> Collect(Deadline deadline, std::string_view what);

  std::unique_ptr<PGconn, Deleter> conn_;
};

}  // namespace jit
