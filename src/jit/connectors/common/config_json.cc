#include "jit/connectors/common/config_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace jit {
namespace {

std::string Prefix(const ConnectorConfig& config) {
  if (!config.origin.empty()) return config.origin + ": ";
  return fmt::format("connector \"{}\": ", config.name);
}

StatusOr<nlohmann::json> ParseJson(const std::string& text) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(e.what());
  }
}

std::string Join(const std::vector<std::string>& items) {
  std::vector<std::string> sorted = items;
  std::sort(sorted.begin(), sorted.end());
  return fmt::format("{}", fmt::join(sorted, ", "));
}

}  // namespace

StatusOr<ConnectorConfigReader> ConnectorConfigReader::Parse(
    const ConnectorConfig& config, const std::vector<std::string>& known_keys) {
  std::string prefix = Prefix(config);
  StatusOr<nlohmann::json> obj = ParseJson(config.config_json);
  if (!obj.ok()) {
    return InvalidArgumentError(
        prefix +
        "connector config is not valid JSON: " + obj.status().message());
  }
  if (!obj->is_object()) {
    return InvalidArgumentError(prefix + "connector config must be a mapping");
  }
  for (const auto& item : obj->items()) {
    if (std::find(known_keys.begin(), known_keys.end(), item.key()) !=
        known_keys.end()) {
      continue;
    }
    return InvalidArgumentError(
        fmt::format("{}unknown key \"{}\" in connector \"{}\" (known: {})",
                    prefix, item.key(), config.name, Join(known_keys)));
  }
  return ConnectorConfigReader(std::move(prefix), config.name, *std::move(obj));
}

bool ConnectorConfigReader::Has(std::string_view key) const {
  return Find(key) != nullptr;
}

const nlohmann::json* ConnectorConfigReader::Find(std::string_view key) const {
  auto it = obj_.find(key);
  return it == obj_.end() ? nullptr : &*it;
}

Status ConnectorConfigReader::Error(std::string_view message) const {
  return InvalidArgumentError(prefix_ + std::string(message));
}

Status ConnectorConfigReader::WrongType(std::string_view key,
                                        std::string_view want) const {
  return Error(
      fmt::format("\"{}\" in connector \"{}\" must be {}", key, name_, want));
}

StatusOr<std::optional<std::string>> ConnectorConfigReader::String(
    std::string_view key) const {
  const nlohmann::json* v = Find(key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return WrongType(key, "a string");
  return std::optional<std::string>(v->get<std::string>());
}

StatusOr<std::optional<bool>> ConnectorConfigReader::Bool(
    std::string_view key) const {
  const nlohmann::json* v = Find(key);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_boolean()) return WrongType(key, "true or false");
  return std::optional<bool>(v->get<bool>());
}

StatusOr<std::optional<Duration>> ConnectorConfigReader::DurationValue(
    std::string_view key) const {
  StatusOr<std::optional<std::string>> text = String(key);
  if (!text.ok()) return text.status();
  if (!*text) return std::optional<Duration>();
  StatusOr<Duration> d = ParseDuration(**text);
  if (!d.ok()) {
    return Error("\"" + std::string(key) + "\": " + d.status().message());
  }
  return std::optional<Duration>(*d);
}

StatusOr<std::optional<std::vector<std::string>>>
ConnectorConfigReader::StringList(std::string_view key) const {
  using Result = std::optional<std::vector<std::string>>;
  const nlohmann::json* v = Find(key);
  if (v == nullptr) return Result();
  if (!v->is_array()) return WrongType(key, "a list of strings");
  std::vector<std::string> out;
  for (const nlohmann::json& item : *v) {
    if (!item.is_string()) return WrongType(key, "a list of strings");
    out.push_back(item.get<std::string>());
  }
  return Result(std::move(out));
}

StatusOr<std::optional<std::map<std::string, std::string>>>
ConnectorConfigReader::StringMap(std::string_view key) const {
  using Result = std::optional<std::map<std::string, std::string>>;
  const nlohmann::json* v = Find(key);
  if (v == nullptr) return Result();
  if (!v->is_object()) return WrongType(key, "a mapping of strings");
  std::map<std::string, std::string> out;
  for (const auto& item : v->items()) {
    if (!item.value().is_string())
      return WrongType(key, "a mapping of strings");
    out.emplace(item.key(), item.value().get<std::string>());
  }
  return Result(std::move(out));
}

}  // namespace jit
