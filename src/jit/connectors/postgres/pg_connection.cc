#include "jit/connectors/postgres/pg_connection.h"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>

namespace jit {
namespace {

// libpq messages end with a newline; ours do not.
std::string Trimmed(const char* text) {
  std::string out = text == nullptr ? "" : text;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
    out.pop_back();
  return out;
}

// Milliseconds left to `deadline` for poll(); 0 or less = passed.
int PollBudget(Deadline deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return 0;
  return static_cast<int>(std::min<int64_t>(left.count(), 60'000));
}

// Waits until `fd` is ready for `events` or the deadline passes.
Status WaitFd(int fd, short events, Deadline deadline, std::string_view what) {
  // Each pass either returns or waits on poll() with the time left, so the
  // loop ends by the deadline; EINTR is the only reason to go round again.
  while (true) {
    int budget = PollBudget(deadline);
    if (budget <= 0) {
      return DeadlineExceededError(
          fmt::format("postgres: {}: deadline passed", what));
    }
    pollfd pfd{fd, events, 0};
    int rc = poll(&pfd, 1, budget);
    if (rc > 0) return OkStatus();
    if (rc < 0 && errno != EINTR) {
      return UnavailableError(fmt::format("postgres: {}: poll failed", what));
    }
  }
}

// NOTICEs and WARNINGs ("already a member") are expected; the default
// processor would print them on stderr.
void IgnoreNotice(void* /*arg*/, const char* /*message*/) {}

}  // namespace

PgResult::PgResult(PGresult* res) : res_(res) {}
PgResult::~PgResult() = default;
void PgResult::Deleter::operator()(PGresult* r) const { PQclear(r); }

bool PgResult::ok() const {
  ExecStatusType st = PQresultStatus(res_.get());
  return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

std::string PgResult::sqlstate() const {
  if (ok()) return "";
  const char* code = PQresultErrorField(res_.get(), PG_DIAG_SQLSTATE);
  return code == nullptr ? "" : code;
}

std::string PgResult::error_message() const {
  if (ok()) return "";
  const char* primary = PQresultErrorField(res_.get(), PG_DIAG_MESSAGE_PRIMARY);
  if (primary != nullptr) return primary;
  std::string whole = Trimmed(PQresultErrorMessage(res_.get()));
  return whole.empty() ? std::string(PQresStatus(PQresultStatus(res_.get())))
                       : whole;
}

int PgResult::rows() const { return ok() ? PQntuples(res_.get()) : 0; }

bool PgResult::IsNull(int row, int col) const {
  return PQgetisnull(res_.get(), row, col) != 0;
}

std::string PgResult::Get(int row, int col) const {
  if (row >= rows() || col >= PQnfields(res_.get())) return "";
  return PQgetvalue(res_.get(), row, col);
}

void PgConnection::Deleter::operator()(PGconn* c) const { PQfinish(c); }
PgConnection::~PgConnection() = default;

StatusOr<PgConnection> PgConnection::Connect(
    const std::vector<std::pair<std::string, std::string>>& params,
    Deadline deadline) {
  if (PollBudget(deadline) <= 0) {
    return DeadlineExceededError("postgres: connect: deadline passed");
  }
  std::vector<const char*> keys;
  std::vector<const char*> values;
  for (const auto& [k, v] : params) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* raw = PQconnectStartParams(keys.data(), values.data(),
                                     /*expand_dbname=*/1);
  if (raw == nullptr) return UnavailableError("postgres: out of memory");
  PgConnection conn(raw);
  PQsetNoticeProcessor(raw, &IgnoreNotice, nullptr);
  if (PQstatus(raw) == CONNECTION_BAD) {
    return UnavailableError("postgres: connect: " +
                            Trimmed(PQerrorMessage(raw)));
  }
  // libpq's documented non-blocking connect: wait for what PQconnectPoll
  // asks for, bounded by the deadline.
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  while (st != PGRES_POLLING_OK) {
    if (st == PGRES_POLLING_FAILED) {
      return UnavailableError("postgres: connect: " +
                              Trimmed(PQerrorMessage(raw)));
    }
    short events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    Status ready = WaitFd(PQsocket(raw), events, deadline, "connect");
    if (!ready.ok()) return ready;
    st = PQconnectPoll(raw);
  }
  if (PQsetnonblocking(raw, 1) != 0) {
    return UnavailableError(
        "postgres: cannot make the connection non-blocking");
  }
  return conn;
}

Status PgConnection::WaitReadable(Deadline deadline, std::string_view what) {
  return WaitFd(PQsocket(conn_.get()), POLLIN, deadline, what);
}

StatusOr<PgResult> PgConnection::Collect(Deadline deadline,
                                         std::string_view what) {
  PGconn* c = conn_.get();
  // Send what is still buffered (non-blocking mode).
  while (true) {
    int flushed = PQflush(c);
    if (flushed == 0) break;
    if (flushed < 0) {
      return UnavailableError(
          fmt::format("postgres: {}: {}", what, Trimmed(PQerrorMessage(c))));
    }
    Status ready = WaitFd(PQsocket(c), POLLIN | POLLOUT, deadline, what);
    if (!ready.ok()) return ready;
    if (PQconsumeInput(c) == 0) {
      return UnavailableError(
          fmt::format("postgres: {}: {}", what, Trimmed(PQerrorMessage(c))));
    }
  }
  std::optional<PgResult> first_error;
  std::optional<PgResult> last;
  while (true) {
    while (PQisBusy(c)) {
      Status ready = WaitReadable(deadline, what);
      if (!ready.ok()) return ready;
      if (PQconsumeInput(c) == 0) {
        return UnavailableError(
            fmt::format("postgres: {}: {}", what, Trimmed(PQerrorMessage(c))));
      }
    }
    PGresult* raw = PQgetResult(c);
    if (raw == nullptr) break;
    ExecStatusType st = PQresultStatus(raw);
    PgResult res(raw);
    if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
      return UnavailableError(
          fmt::format("postgres: {}: unexpected COPY", what));
    }
    if (!res.ok()) {
      if (!first_error) first_error = std::move(res);
    } else {
      last = std::move(res);
    }
  }
  if (PQstatus(c) == CONNECTION_BAD) {
    return UnavailableError(fmt::format("postgres: {}: connection lost: {}",
                                        what, Trimmed(PQerrorMessage(c))));
  }
  if (first_error) return std::move(*first_error);
  if (last) return std::move(*last);
  return UnavailableError(fmt::format("postgres: {}: no result", what));
}

StatusOr<PgResult> PgConnection::Run(std::string_view sql,
                                     const std::vector<std::string>& params,
                                     Deadline deadline) {
  if (PollBudget(deadline) <= 0) {
    return DeadlineExceededError("postgres: query: deadline passed");
  }
  std::string text(sql);
  std::vector<const char*> values;
  for (const std::string& p : params) values.push_back(p.c_str());
  if (PQsendQueryParams(conn_.get(), text.c_str(),
                        static_cast<int>(values.size()), nullptr, values.data(),
                        nullptr, nullptr, 0) == 0) {
    return UnavailableError("postgres: send: " +
                            Trimmed(PQerrorMessage(conn_.get())));
  }
  return Collect(deadline, "query");
}

StatusOr<PgResult> PgConnection::RunScript(std::string_view sql,
                                           Deadline deadline) {
  if (PollBudget(deadline) <= 0) {
    return DeadlineExceededError("postgres: query: deadline passed");
  }
  std::string text(sql);
  if (PQsendQuery(conn_.get(), text.c_str()) == 0) {
    return UnavailableError("postgres: send: " +
                            Trimmed(PQerrorMessage(conn_.get())));
  }
  return Collect(deadline, "query");
}

StatusOr<PgResult> PgConnection::Exec(std::string_view what,
                                      std::string_view sql,
                                      const std::vector<std::string>& params,
                                      Deadline deadline) {
  StatusOr<PgResult> res = Run(sql, params, deadline);
  if (!res.ok()) return res.status().WithContext(what);
  if (!res->ok()) {
    return UnavailableError(fmt::format("postgres: {}: {} (SQLSTATE {})", what,
                                        res->error_message(), res->sqlstate()));
  }
  return res;
}

StatusOr<std::string> PgConnection::QuoteIdentifier(
    std::string_view name) const {
  char* quoted = PQescapeIdentifier(conn_.get(), name.data(), name.size());
  if (quoted == nullptr) {
    return InvalidArgumentError("postgres: cannot quote identifier: " +
                                Trimmed(PQerrorMessage(conn_.get())));
  }
  std::string out = quoted;
  PQfreemem(quoted);
  return out;
}

StatusOr<std::string> PgConnection::QuoteLiteral(std::string_view text) const {
  char* quoted = PQescapeLiteral(conn_.get(), text.data(), text.size());
  if (quoted == nullptr) {
    return InvalidArgumentError("postgres: cannot quote literal: " +
                                Trimmed(PQerrorMessage(conn_.get())));
  }
  std::string out = quoted;
  PQfreemem(quoted);
  return out;
}

}  // namespace jit
