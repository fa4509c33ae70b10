#include "jit/storage/postgres/pg_dsn.h"

#include <libpq-fe.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <memory>

namespace jit {
namespace {

constexpr std::string_view kDefaultConnectTimeoutSeconds = "5";

struct OptionsDeleter {
  void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};
using Options = std::unique_ptr<PQconninfoOption, OptionsDeleter>;

StatusOr<Options> Parse(std::string_view dsn) {
  char* error = nullptr;
  Options options(PQconninfoParse(std::string(dsn).c_str(), &error));
  if (options != nullptr) return options;
  // libpq's message names the syntax problem, never the values.
  std::string why = error != nullptr ? error : "out of memory";
  PQfreemem(error);
  while (!why.empty() && why.back() == '\n') why.pop_back();
  return InvalidArgumentError("invalid PostgreSQL connection string: " + why);
}

bool IsSet(const Options& options, std::string_view keyword) {
  for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    if (keyword == o->keyword) return o->val != nullptr && *o->val != '\0';
  }
  return false;
}

bool IsUri(std::string_view dsn) {
  return dsn.starts_with("postgresql://") || dsn.starts_with("postgres://");
}

}  // namespace

Status CheckDsn(std::string_view dsn, DsnPassword password) {
  if (dsn.empty()) {
    return InvalidArgumentError("the PostgreSQL connection string is empty");
  }
  StatusOr<Options> options = Parse(dsn);
  if (!options.ok()) return options.status();
  if (password == DsnPassword::kRefused && IsSet(*options, "password")) {
    return InvalidArgumentError(
        "the PostgreSQL connection string must not contain a password; put "
        "it in dsn_file or a libpq password file (PGPASSFILE)");
  }
  return OkStatus();
}

StatusOr<std::string> ReadDsnFile(const std::string& path) {
  auto invalid = [&](std::string_view why) {
    return InvalidArgumentError("dsn_file \"" + path +
                                "\": " + std::string(why));
  };
  if (path.empty() || path.front() != '/') {
    return invalid("must be an absolute path");
  }
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return invalid("cannot be read");
  if (!S_ISREG(st.st_mode)) return invalid("is not a regular file");
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return invalid("is accessible by group or others (chmod 600 it)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid("cannot be read");
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  if (in.bad()) return invalid("cannot be read");
  if (text.ends_with('\n')) text.pop_back();
  if (text.ends_with('\r')) text.pop_back();
  if (text.empty()) return invalid("is empty");
  if (text.find('\n') != std::string::npos) {
    return invalid("must hold one line");
  }
  return text;
}

std::string WithConnectDefaults(const std::string& dsn) {
  StatusOr<Options> options = Parse(dsn);
  if (!options.ok()) return dsn;  // Connect reports the error itself.
  std::string out = dsn;
  auto add = [&](std::string_view keyword, std::string_view value) {
    if (IsSet(*options, keyword)) return;
    // Keyword and value are our own constants: no quoting needed in either
    // syntax.
    if (IsUri(dsn)) {
      out += out.find('?') == std::string::npos ? '?' : '&';
    } else {
      out += ' ';
    }
    out += std::string(keyword) + "=" + std::string(value);
  };
  add("connect_timeout", kDefaultConnectTimeoutSeconds);
  add("fallback_application_name", "jitd");
  return out;
}

}  // namespace jit
