#include "jit/api/http.h"

namespace jit {
namespace {

std::optional<std::string> Find(const std::map<std::string, std::string>& map,
                                std::string_view key) {
  auto it = map.find(std::string(key));
  if (it == map.end()) return std::nullopt;
  return it->second;
}

}  // namespace

std::optional<std::string> HttpRequest::Header(
    std::string_view lower_name) const {
  return Find(headers, lower_name);
}

std::optional<std::string> HttpRequest::Query(std::string_view name) const {
  return Find(query, name);
}

}  // namespace jit
