#include "jit/api/query_params.h"

#include "jit/base/duration.h"

namespace jit {
namespace {

constexpr size_t kMaxParamBytes = 256;

StatusOr<std::optional<std::string>> Text(const HttpRequest& http,
                                          std::string_view name) {
  std::optional<std::string> v = http.Query(name);
  if (!v || v->empty()) return std::optional<std::string>();
  if (v->size() > kMaxParamBytes) {
    return InvalidArgumentError(std::string(name) +
                                " is longer than 256 bytes");
  }
  return v;
}

StatusOr<std::optional<SystemTime>> Time(const HttpRequest& http,
                                         std::string_view name) {
  StatusOr<std::optional<std::string>> text = Text(http, name);
  if (!text.ok()) return text.status();
  if (!*text) return std::optional<SystemTime>();
  StatusOr<SystemTime> t = ParseTime(**text);
  if (!t.ok()) {
    return InvalidArgumentError(
        std::string(name) +
        " must be an RFC 3339 time: " + t.status().message());
  }
  return std::optional<SystemTime>(*t);
}

}  // namespace

StatusOr<AuditFilter> ParseAuditFilter(const HttpRequest& http) {
  AuditFilter f;
  StatusOr<std::optional<std::string>> type = Text(http, "type");
  if (!type.ok()) return type.status();
  if (*type) {
    StatusOr<AuditType> t = ParseAuditType(**type);
    if (!t.ok()) return InvalidArgumentError("unknown event type " + **type);
    f.type = *t;
  }
  for (auto [name, field] : {std::pair{"subject", &f.subject},
                             std::pair{"request_id", &f.request_id},
                             std::pair{"grant_id", &f.grant_id}}) {
    StatusOr<std::optional<std::string>> v = Text(http, name);
    if (!v.ok()) return v.status();
    *field = *v;
  }
  StatusOr<std::optional<SystemTime>> from = Time(http, "from");
  if (!from.ok()) return from.status();
  StatusOr<std::optional<SystemTime>> to = Time(http, "to");
  if (!to.ok()) return to.status();
  f.from = *from;
  f.to = *to;
  if (f.from && f.to && *f.from >= *f.to)
    return InvalidArgumentError("from must be before to");
  return f;
}

}  // namespace jit
