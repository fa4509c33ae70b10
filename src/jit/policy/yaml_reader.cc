#include "jit/policy/yaml_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "jit/base/duration.h"

namespace jit::policy_internal {
namespace {

// yaml-cpp tags plain scalars "?" and quoted ones "!"; `true` in quotes is
// text, not a boolean.
bool IsPlainScalar(const YAML::Node& node) {
  return node.IsScalar() && node.Tag() != "!";
}

std::string KindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar:
      return "\"" + node.Scalar() + "\"";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

std::string JoinKeys(std::initializer_list<std::string_view> keys) {
  std::string out;
  for (std::string_view k : keys) {
    if (!out.empty()) out += ", ";
    out += k;
  }
  return out;
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  try {
    // dump() checks UTF-8 strictly and reports bad bytes by throwing.
    (void)nlohmann::json(text).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

StatusOr<YAML::Node> LoadYamlFile(const std::string& path) {
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return InvalidArgumentError(fmt::format("{}: cannot read file", path));
  } catch (const YAML::Exception& e) {  // knows line and column
    return InvalidArgumentError(
        fmt::format("{}:{}: {}", path, e.mark.line + 1, e.msg));
  }
}

int YamlReader::Line(const YAML::Node& node) {
  if (!node.IsDefined()) return 0;
  YAML::Mark mark = node.Mark();
  if (mark.is_null()) return 0;
  return mark.line + 1;
}

Status YamlReader::Error(const YAML::Node& at, std::string_view what) const {
  return ErrorAtLine(Line(at), what);
}

Status YamlReader::ErrorAtLine(int line, std::string_view what) const {
  if (line <= 0) line = 1;
  return InvalidArgumentError(fmt::format("{}:{}: {}", path_, line, what));
}

StatusOr<std::string> YamlReader::String(const YAML::Node& node,
                                         std::string_view field) const {
  if (!node.IsScalar()) {
    return Error(node,
                 fmt::format("{} must be text, not {}", field, KindName(node)));
  }
  if (!IsValidUtf8(node.Scalar())) {
    return Error(node, fmt::format("{} is not valid UTF-8", field));
  }
  return node.Scalar();
}

StatusOr<std::string> YamlReader::NonEmptyString(const YAML::Node& node,
                                                 std::string_view field) const {
  StatusOr<std::string> text = String(node, field);
  if (text.ok() && text->empty()) {
    return Error(node, fmt::format("{} must not be empty", field));
  }
  return text;
}

StatusOr<bool> YamlReader::Bool(const YAML::Node& node,
                                std::string_view field) const {
  if (IsPlainScalar(node) && node.Scalar() == "true") return true;
  if (IsPlainScalar(node) && node.Scalar() == "false") return false;
  return Error(node, fmt::format("{} must be true or false, not {}", field,
                                 KindName(node)));
}

StatusOr<int> YamlReader::Int(const YAML::Node& node, std::string_view field,
                              int min, int max) const {
  Status bad = Error(node, fmt::format("{} must be a whole number from {} to "
                                       "{}, not {}",
                                       field, min, max, KindName(node)));
  if (!IsPlainScalar(node)) return bad;
  const std::string& text = node.Scalar();
  int value = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return bad;
  if (value < min || value > max) return bad;
  return value;
}

StatusOr<Duration> YamlReader::DurationValue(const YAML::Node& node,
                                             std::string_view field) const {
  if (!node.IsScalar()) {
    return Error(node, fmt::format("{} must be a duration such as 30m, not {}",
                                   field, KindName(node)));
  }
  StatusOr<Duration> d = ParseDuration(node.Scalar());
  if (!d.ok()) {
    return Error(node, fmt::format("{}: {}", field, d.status().message()));
  }
  return d;
}

StatusOr<std::vector<std::string>> YamlReader::StringList(
    const YAML::Node& node, std::string_view field) const {
  if (!node.IsSequence()) {
    return Error(
        node, fmt::format("{} must be a list, not {}", field, KindName(node)));
  }
  std::vector<std::string> out;
  for (const YAML::Node& item : node) {
    StatusOr<std::string> text =
        NonEmptyString(item, fmt::format("{} item", field));
    if (!text.ok()) return text.status();
    if (std::find(out.begin(), out.end(), *text) != out.end()) {
      return Error(item, fmt::format("{} lists \"{}\" twice", field, *text));
    }
    out.push_back(*std::move(text));
  }
  return out;
}

StatusOr<YamlMap> YamlMap::Strict(
    const YamlReader& reader, const YAML::Node& node, std::string_view what,
    std::initializer_list<std::string_view> known) {
  return Build(reader, node, what, &known);
}

StatusOr<YamlMap> YamlMap::Any(const YamlReader& reader, const YAML::Node& node,
                               std::string_view what) {
  return Build(reader, node, what, nullptr);
}

StatusOr<YamlMap> YamlMap::Build(
    const YamlReader& reader, const YAML::Node& node, std::string_view what,
    const std::initializer_list<std::string_view>* known) {
  if (!node.IsMap()) {
    return reader.Error(node, fmt::format("{} must be a mapping, not {}", what,
                                          KindName(node)));
  }
  YamlMap map(reader, node, std::string(what));
  for (auto it = node.begin(); it != node.end(); ++it) {
    YAML::Node key = it->first;
    if (!key.IsScalar()) {
      return reader.Error(key, fmt::format("{}: keys must be text", what));
    }
    const std::string& name = key.Scalar();
    if (!IsValidUtf8(name)) {
      return reader.Error(key,
                          fmt::format("{}: a key is not valid UTF-8", what));
    }
    if (known != nullptr &&
        std::find(known->begin(), known->end(), name) == known->end()) {
      return reader.Error(key, fmt::format("{}: unknown key \"{}\" (known: {})",
                                           what, name, JoinKeys(*known)));
    }
    if (map.Find(name).has_value()) {
      return reader.Error(
          key, fmt::format("{}: key \"{}\" given twice", what, name));
    }
    YAML::Node value = it->second;
    if (known != nullptr && value.IsNull()) {
      return reader.Error(key, fmt::format("{}: {} has no value", what, name));
    }
    map.entries_.push_back({name, key, value});
  }
  return map;
}

std::optional<YAML::Node> YamlMap::Find(std::string_view key) const {
  for (const Entry& e : entries_) {
    if (e.name == key) return e.value;
  }
  return std::nullopt;
}

int YamlMap::KeyLine(std::string_view key) const {
  for (const Entry& e : entries_) {
    if (e.name == key) return YamlReader::Line(e.key);
  }
  return line();
}

StatusOr<YAML::Node> YamlMap::Require(std::string_view key) const {
  std::optional<YAML::Node> value = Find(key);
  if (!value.has_value()) {
    return reader_->Error(node_, fmt::format("{} needs {}", what_, key));
  }
  return *value;
}

}  // namespace jit::policy_internal
