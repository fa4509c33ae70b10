#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jit/base/clock.h"
#include "jit/base/status.h"

namespace jit::policy_internal {

// True when `text` is well-formed UTF-8 (YAML input may carry any bytes;
// names and params end up in JSON, which needs UTF-8).
bool IsValidUtf8(std::string_view text);

// Loads and parses a YAML file. Errors: kInvalidArgument "PATH:LINE: reason"
// for syntax errors, "PATH: cannot read file" when it cannot be opened.
StatusOr<YAML::Node> LoadYamlFile(const std::string& path);

// Reads YAML values strictly: UTF-8 text, plain true/false for booleans,
// digits for integers, jit::ParseDuration for durations. Every problem becomes
// kInvalidArgument "PATH:LINE: what is wrong", LINE 1-based from the node's
// mark. Never throws. Stateless apart from the path; thread-compatible.
class YamlReader {
 public:
  explicit YamlReader(std::string path) : path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  // 1-based line of `node`, or 0 when the node carries no position.
  static int Line(const YAML::Node& node);
  Status Error(const YAML::Node& at, std::string_view what) const;
  Status ErrorAtLine(int line, std::string_view what) const;

  // `field` names the value in messages, e.g. "policy dev: max_duration".
  StatusOr<std::string> String(const YAML::Node& node,
                               std::string_view field) const;
  // Like String, and also refuses the empty string.
  StatusOr<std::string> NonEmptyString(const YAML::Node& node,
                                       std::string_view field) const;
  StatusOr<bool> Bool(const YAML::Node& node, std::string_view field) const;
  StatusOr<int> Int(const YAML::Node& node, std::string_view field, int min,
                    int max) const;
  StatusOr<Duration> DurationValue(const YAML::Node& node,
                                   std::string_view field) const;
  // A sequence of non-empty strings without repeats.
  StatusOr<std::vector<std::string>> StringList(const YAML::Node& node,
                                                std::string_view field) const;

 private:
  std::string path_;
};

// One YAML mapping with its keys checked: text keys, no key twice, and (for
// Strict) no key outside `known` and no key without a value. Holds
// references into the YAML document.
class YamlMap {
 public:
  struct Entry {
    std::string name;
    YAML::Node key;  // for the line: an empty value has no position of its own
    YAML::Node value;
  };

  // Errors: not a mapping, a non-text or repeated key, an unknown key (the
  // message lists the known ones), a key with no value.
  static StatusOr<YamlMap> Strict(
      const YamlReader& reader, const YAML::Node& node, std::string_view what,
      std::initializer_list<std::string_view> known);
  // Like Strict but accepts any key (for maps with free-form keys).
  static StatusOr<YamlMap> Any(const YamlReader& reader, const YAML::Node& node,
                               std::string_view what);

  const YAML::Node& node() const { return node_; }
  int line() const { return YamlReader::Line(node_); }
  // The value of `key`, or nullopt when absent.
  std::optional<YAML::Node> Find(std::string_view key) const;
  // The value of `key`; error "WHAT needs KEY" at the map's line when absent.
  StatusOr<YAML::Node> Require(std::string_view key) const;
  // Keys and values in document order.
  const std::vector<Entry>& entries() const { return entries_; }
  // 1-based line of `key`, or of the map when the key is absent.
  int KeyLine(std::string_view key) const;

 private:
  YamlMap(const YamlReader& reader, YAML::Node node, std::string what)
      : reader_(&reader), node_(std::move(node)), what_(std::move(what)) {}
  static StatusOr<YamlMap> Build(
      const YamlReader& reader, const YAML::Node& node, std::string_view what,
      const std::initializer_list<std::string_view>* known);

  const YamlReader* reader_;
  YAML::Node node_;
  std::string what_;
  std::vector<Entry> entries_;
};

}  // namespace jit::policy_internal
