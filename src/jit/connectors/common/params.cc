#include "jit/connectors/common/params.h"

#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>

#include "jit/base/duration.h"

namespace jit {
namespace {

StatusOr<nlohmann::json> ParamJson(const GrantSpec& g, std::string_view name) {
  auto it = g.params_json.find(std::string(name));
  if (it == g.params_json.end()) {
    return InvalidArgumentError(fmt::format(
        "entitlement \"{}\" has no param \"{}\"", g.entitlement, name));
  }
  try {
    return nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(
        fmt::format("param \"{}\" of entitlement \"{}\" is not valid JSON: {}",
                    name, g.entitlement, e.what()));
  }
}

Status WrongParamType(const GrantSpec& g, std::string_view name,
                      std::string_view want) {
  return InvalidArgumentError(
      fmt::format("param \"{}\" of entitlement \"{}\" must be {}", name,
                  g.entitlement, want));
}

std::string UnixSeconds(SystemTime t) {
  return std::to_string(
      std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count());
}

// The value of placeholder `name`, or nullopt for an unknown name.
std::optional<std::string> Placeholder(std::string_view name,
                                       const GrantSpec& g) {
  if (name == "subject") return g.subject;
  if (name == "user") return g.target_user.empty() ? g.subject : g.target_user;
  if (name == "entitlement") return g.entitlement;
  if (name == "grant_id") return g.grant_id;
  if (name == "request_id") return g.request_id;
  if (name == "expires_at") return FormatTime(g.expires_at);
  if (name == "starts_at") return FormatTime(g.starts_at);
  if (name == "expires_unix") return UnixSeconds(g.expires_at);
  if (name == "starts_unix") return UnixSeconds(g.starts_at);
  return std::nullopt;
}

Status BadTemplate(std::string_view tmpl, std::string_view why) {
  return InvalidArgumentError(fmt::format("template \"{}\": {}", tmpl, why));
}

}  // namespace

bool HasParam(const GrantSpec& g, std::string_view name) {
  return g.params_json.count(std::string(name)) > 0;
}

StatusOr<std::string> GetStringParam(const GrantSpec& g,
                                     std::string_view name) {
  StatusOr<nlohmann::json> v = ParamJson(g, name);
  if (!v.ok()) return v.status();
  if (!v->is_string()) return WrongParamType(g, name, "a string");
  return v->get<std::string>();
}

StatusOr<std::vector<std::string>> GetStringListParam(const GrantSpec& g,
                                                      std::string_view name) {
  StatusOr<nlohmann::json> v = ParamJson(g, name);
  if (!v.ok()) return v.status();
  if (!v->is_array()) return WrongParamType(g, name, "a list of strings");
  std::vector<std::string> out;
  for (const nlohmann::json& item : *v) {
    if (!item.is_string()) return WrongParamType(g, name, "a list of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

StatusOr<std::string> GetParamText(const GrantSpec& g, std::string_view name) {
  StatusOr<nlohmann::json> v = ParamJson(g, name);
  if (!v.ok()) return v.status();
  if (v->is_string()) return v->get<std::string>();
  return v->dump();
}

StatusOr<std::string> ExpandTemplate(std::string_view tmpl,
                                     const GrantSpec& g) {
  std::string out;
  size_t i = 0;
  while (i < tmpl.size()) {
    char c = tmpl[i];
    bool doubled = i + 1 < tmpl.size() && tmpl[i + 1] == c;
    if ((c == '{' || c == '}') && doubled) {
      out.push_back(c);
      i += 2;
      continue;
    }
    if (c == '}') return BadTemplate(tmpl, "lone '}' (write '}}' for a brace)");
    if (c != '{') {
      out.push_back(c);
      ++i;
      continue;
    }
    size_t close = tmpl.find('}', i + 1);
    if (close == std::string_view::npos)
      return BadTemplate(tmpl, "unclosed '{'");
    std::string_view name = tmpl.substr(i + 1, close - i - 1);
    std::optional<std::string> value = Placeholder(name, g);
    if (!value) {
      return BadTemplate(
          tmpl, fmt::format("unknown placeholder {{{}}} (known: subject, "
                            "user, entitlement, grant_id, request_id, "
                            "expires_at, expires_unix, starts_at, starts_unix)",
                            name));
    }
    out += *value;
    i = close + 1;
  }
  return out;
}

Status ValidateTemplate(std::string_view tmpl) {
  return ExpandTemplate(tmpl, GrantSpec{}).status();
}

}  // namespace jit
