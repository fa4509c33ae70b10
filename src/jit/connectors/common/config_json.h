#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jit/base/duration.h"
#include "jit/base/status.h"
#include "jit/connectors/connector.h"

namespace jit {

// Reads one `connectors:` entry (ConnectorConfig::config_json) strictly:
// every key must be known, every value of the expected JSON type. Errors
// are kInvalidArgument prefixed with the entry's origin ("FILE:LINE: ...",
// or `connector "NAME": ...` when the origin is unknown). Immutable after
// Parse; safe to share between threads.
class ConnectorConfigReader {
 public:
  // Parses the JSON text; refuses non-objects and keys not in `known_keys`
  // ("ORIGIN: unknown key "x" in connector "demo" (known: a, b)").
  static StatusOr<ConnectorConfigReader> Parse(
      const ConnectorConfig& config,
      const std::vector<std::string>& known_keys);

  bool Has(std::string_view key) const;
  // Each returns nullopt when the key is absent, kInvalidArgument when the
  // value has another type (or, for lists and maps, holds a non-string).
  StatusOr<std::optional<std::string>> String(std::string_view key) const;
  StatusOr<std::optional<bool>> Bool(std::string_view key) const;
  // A duration text ("5s", "1m30s"); kInvalidArgument naming the key when
  // it does not parse.
  StatusOr<std::optional<Duration>> DurationValue(std::string_view key) const;
  StatusOr<std::optional<std::vector<std::string>>> StringList(
      std::string_view key) const;
  StatusOr<std::optional<std::map<std::string, std::string>>> StringMap(
      std::string_view key) const;

  // kInvalidArgument "ORIGIN: `message`".
  Status Error(std::string_view message) const;

 private:
  ConnectorConfigReader(std::string prefix, std::string name,
                        nlohmann::json obj)
      : prefix_(std::move(prefix)),
        name_(std::move(name)),
        obj_(std::move(obj)) {}
  const nlohmann::json* Find(std::string_view key) const;
  Status WrongType(std::string_view key, std::string_view want) const;

  std::string prefix_;  // "ORIGIN: "
  std::string name_;
  nlohmann::json obj_;
};

}  // namespace jit
