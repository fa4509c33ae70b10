// PolicySet::Load and LoadFile: YAML -> validated PolicySet::Impl.

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "jit/base/duration.h"
#include "jit/base/status_macros.h"
#include "jit/policy/policy.h"
#include "jit/policy/policy_model.h"
#include "jit/policy/yaml_reader.h"

namespace jit {
namespace {

using policy_internal::PolicyDef;
using policy_internal::TimeWindow;
using policy_internal::YamlMap;
using policy_internal::YamlReader;

// A justification is capped at 4 KiB by the API; asking for more could never
// be met.
constexpr int kMaxJustificationMinChars = 4096;
constexpr int kMaxApprovalCount = 100;
constexpr size_t kMaxNameLength = 128;
constexpr size_t kMaxPatternLength = 1024;
constexpr int kMaxParamsDepth = 32;

// Names appear in URLs, CLI arguments and audit events: keep them plain.
bool IsPlainName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  if (!std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
           c == '_' || c == '.';
  });
}

StatusOr<std::string> ReadName(const YamlReader& r, const YamlMap& map,
                               std::string_view what) {
  JIT_ASSIGN_OR_RETURN(YAML::Node node, map.Require("name"));
  JIT_ASSIGN_OR_RETURN(std::string name,
                       r.String(node, fmt::format("{} name", what)));
  if (!IsPlainName(name)) {
    return r.Error(node, fmt::format("{} name \"{}\" must be 1 to {} letters, "
                                     "digits, '-', '_' or '.', starting with a "
                                     "letter or digit",
                                     what, name, kMaxNameLength));
  }
  return name;
}

// The policy or entitlement name if the map has a usable one, for messages
// about the map's other keys.
std::string Label(const YAML::Node& node, std::string_view kind, size_t index) {
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      YAML::Node key = it->first;
      YAML::Node value = it->second;
      if (key.IsScalar() && key.Scalar() == "name" && value.IsScalar() &&
          IsPlainName(value.Scalar())) {
        return fmt::format("{} {}", kind, value.Scalar());
      }
    }
  }
  return fmt::format("{} #{}", kind, index + 1);
}

// --- entitlements -----------------------------------------------------------

// Plain YAML scalars that read as JSON literals keep that type; quoted ones
// stay text.
nlohmann::json ScalarToJson(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;
  if (text == "true") return true;
  if (text == "false") return false;
  nlohmann::json number = nlohmann::json::parse(text, nullptr, false);
  if (number.is_number()) return number;
  return text;
}

StatusOr<nlohmann::json> YamlToJson(const YamlReader& r, const YAML::Node& node,
                                    std::string_view field, int depth) {
  if (depth > kMaxParamsDepth) {
    return r.Error(node, fmt::format("{} nests too deep", field));
  }
  if (node.IsNull()) return nlohmann::json(nullptr);
  if (node.IsScalar()) {
    if (!policy_internal::IsValidUtf8(node.Scalar())) {
      return r.Error(node, fmt::format("{} is not valid UTF-8", field));
    }
    return ScalarToJson(node);
  }
  nlohmann::json out;
  if (node.IsSequence()) {
    out = nlohmann::json::array();
    for (const YAML::Node& item : node) {
      JIT_ASSIGN_OR_RETURN(nlohmann::json value,
                           YamlToJson(r, item, field, depth + 1));
      out.push_back(std::move(value));
    }
    return out;
  }
  JIT_ASSIGN_OR_RETURN(YamlMap map, YamlMap::Any(r, node, field));
  out = nlohmann::json::object();
  for (const YamlMap::Entry& e : map.entries()) {
    JIT_ASSIGN_OR_RETURN(out[e.name], YamlToJson(r, e.value, field, depth + 1));
  }
  return out;
}

Status ReadParams(const YamlReader& r, const YAML::Node& node,
                  std::string_view what, Entitlement& e) {
  JIT_ASSIGN_OR_RETURN(YamlMap map,
                       YamlMap::Any(r, node, fmt::format("{} params", what)));
  for (const YamlMap::Entry& entry : map.entries()) {
    std::string field = fmt::format("{} params.{}", what, entry.name);
    if (entry.value.IsNull()) {
      return r.Error(entry.key, fmt::format("{} has no value", field));
    }
    JIT_ASSIGN_OR_RETURN(nlohmann::json json,
                         YamlToJson(r, entry.value, field, 0));
    e.params_json[entry.name] = json.dump();
  }
  return OkStatus();
}

StatusOr<Entitlement> ReadEntitlement(const YamlReader& r,
                                      const YAML::Node& node, size_t index) {
  std::string what = Label(node, "entitlement", index);
  JIT_ASSIGN_OR_RETURN(YamlMap map,
                       YamlMap::Strict(r, node, what,
                                       {"name", "connector", "params",
                                        "max_duration", "description"}));
  Entitlement e;
  JIT_ASSIGN_OR_RETURN(e.name, ReadName(r, map, "entitlement"));
  JIT_ASSIGN_OR_RETURN(YAML::Node connector, map.Require("connector"));
  JIT_ASSIGN_OR_RETURN(e.connector,
                       r.NonEmptyString(connector, what + " connector"));
  JIT_ASSIGN_OR_RETURN(YAML::Node max, map.Require("max_duration"));
  JIT_ASSIGN_OR_RETURN(e.max_duration,
                       r.DurationValue(max, what + " max_duration"));
  if (std::optional<YAML::Node> params = map.Find("params")) {
    JIT_RETURN_IF_ERROR(ReadParams(r, *params, what, e));
  }
  if (std::optional<YAML::Node> text = map.Find("description")) {
    JIT_ASSIGN_OR_RETURN(e.description, r.String(*text, what + " description"));
  }
  return e;
}

Status ReadEntitlements(const YamlReader& r, const YAML::Node& node,
                        PolicySet::Impl& impl) {
  for (const YAML::Node& item : node) {
    JIT_ASSIGN_OR_RETURN(Entitlement e,
                         ReadEntitlement(r, item, impl.entitlements.size()));
    if (impl.entitlement_index.count(e.name) != 0) {
      return r.Error(item,
                     fmt::format("entitlement {} is defined twice", e.name));
    }
    impl.entitlement_index[e.name] = impl.entitlements.size();
    impl.entitlements.push_back(std::move(e));
  }
  return OkStatus();
}

// --- policy sections ---------------------------------------------------------

Status ReadSubjects(const YamlReader& r, const YAML::Node& node,
                    const std::string& what, PolicyDef& p) {
  JIT_ASSIGN_OR_RETURN(YamlMap map,
                       YamlMap::Strict(r, node, what + " subjects",
                                       {"groups", "users", "tokens"}));
  if (std::optional<YAML::Node> groups = map.Find("groups")) {
    JIT_ASSIGN_OR_RETURN(p.subject_groups,
                         r.StringList(*groups, what + " subjects.groups"));
  }
  if (std::optional<YAML::Node> users = map.Find("users")) {
    JIT_ASSIGN_OR_RETURN(p.subject_users,
                         r.StringList(*users, what + " subjects.users"));
  }
  if (std::optional<YAML::Node> tokens = map.Find("tokens")) {
    JIT_ASSIGN_OR_RETURN(p.subject_tokens,
                         r.StringList(*tokens, what + " subjects.tokens"));
  }
  if (p.subject_groups.empty() && p.subject_users.empty() &&
      p.subject_tokens.empty()) {
    return r.Error(node, what +
                             " subjects needs at least one group or user (or "
                             "machine token)");
  }
  return OkStatus();
}

Status ReadPolicyEntitlements(const YamlReader& r, const YAML::Node& node,
                              const std::string& what,
                              const PolicySet::Impl& impl, PolicyDef& p) {
  JIT_ASSIGN_OR_RETURN(p.entitlements,
                       r.StringList(node, what + " entitlements"));
  if (p.entitlements.empty()) {
    return r.Error(node, what + " entitlements must list at least one");
  }
  size_t i = 0;
  for (const YAML::Node& item : node) {
    const std::string& name = p.entitlements[i++];
    if (impl.entitlement_index.count(name) == 0) {
      return r.Error(item,
                     fmt::format("{}: unknown entitlement {}", what, name));
    }
  }
  return OkStatus();
}

Status ReadTicketPattern(const YamlReader& r, const YAML::Node& node,
                         const std::string& what, PolicyDef& p) {
  std::string field = what + " require.ticket_pattern";
  JIT_ASSIGN_OR_RETURN(p.ticket_pattern, r.NonEmptyString(node, field));
  if (p.ticket_pattern.size() > kMaxPatternLength) {
    return r.Error(node, fmt::format("{} is longer than {} characters", field,
                                     kMaxPatternLength));
  }
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_unique<const RE2>(p.ticket_pattern, options);
  if (!re->ok()) {
    return r.Error(node, fmt::format("{} is not a valid regular expression: {}",
                                     field, re->error()));
  }
  p.ticket_re = std::move(re);
  return OkStatus();
}

Status ReadRequire(const YamlReader& r, const YAML::Node& node,
                   const std::string& what, PolicyDef& p) {
  JIT_ASSIGN_OR_RETURN(YamlMap map, YamlMap::Strict(r, node, what + " require",
                                                    {"justification_min_chars",
                                                     "ticket_pattern", "mfa"}));
  if (std::optional<YAML::Node> min = map.Find("justification_min_chars")) {
    JIT_ASSIGN_OR_RETURN(p.justification_min_chars,
                         r.Int(*min, what + " require.justification_min_chars",
                               0, kMaxJustificationMinChars));
  }
  if (std::optional<YAML::Node> pattern = map.Find("ticket_pattern")) {
    JIT_RETURN_IF_ERROR(ReadTicketPattern(r, *pattern, what, p));
  }
  if (std::optional<YAML::Node> mfa = map.Find("mfa")) {
    JIT_ASSIGN_OR_RETURN(p.mfa, r.Bool(*mfa, what + " require.mfa"));
  }
  return OkStatus();
}

Status ReadApprovers(const YamlReader& r, const YamlMap& map,
                     const std::string& what, PolicyDef& p) {
  if (std::optional<YAML::Node> groups = map.Find("groups")) {
    JIT_ASSIGN_OR_RETURN(p.approver_groups,
                         r.StringList(*groups, what + " approval.groups"));
  }
  if (std::optional<YAML::Node> users = map.Find("users")) {
    JIT_ASSIGN_OR_RETURN(p.approver_users,
                         r.StringList(*users, what + " approval.users"));
  }
  if (p.approver_groups.empty() && p.approver_users.empty()) {
    return r.Error(map.node(), what +
                                   " approval needs groups or users to approve "
                                   "(or auto: true)");
  }
  p.approval_count = 1;
  if (std::optional<YAML::Node> count = map.Find("count")) {
    JIT_ASSIGN_OR_RETURN(
        p.approval_count,
        r.Int(*count, what + " approval.count", 1, kMaxApprovalCount));
    // With only named users the number of possible approvers is known.
    if (p.approver_groups.empty() &&
        static_cast<size_t>(p.approval_count) > p.approver_users.size()) {
      return r.Error(
          *count, fmt::format("{} approval.count {} is more than the {} "
                              "listed approvers",
                              what, p.approval_count, p.approver_users.size()));
    }
  }
  return OkStatus();
}

Status ReadApproval(const YamlReader& r, const YAML::Node& node,
                    const std::string& what, PolicyDef& p) {
  JIT_ASSIGN_OR_RETURN(YamlMap map, YamlMap::Strict(r, node, what + " approval",
                                                    {"auto", "groups", "users",
                                                     "count", "mfa"}));
  if (std::optional<YAML::Node> auto_node = map.Find("auto")) {
    JIT_ASSIGN_OR_RETURN(p.auto_approve,
                         r.Bool(*auto_node, what + " approval.auto"));
  }
  if (std::optional<YAML::Node> mfa = map.Find("mfa")) {
    JIT_ASSIGN_OR_RETURN(p.approver_mfa, r.Bool(*mfa, what + " approval.mfa"));
    if (p.approver_mfa && p.auto_approve) {
      return r.Error(*mfa, what +
                               " approval: mfa: true needs approvers, not "
                               "auto: true");
    }
  }
  if (!p.auto_approve) return ReadApprovers(r, map, what, p);
  if (map.entries().size() > 1 + (map.Find("mfa") ? 1 : 0)) {
    return r.Error(node, what +
                             " approval: auto: true takes no groups, users "
                             "or count");
  }
  return OkStatus();
}

Status ReadEmergency(const YamlReader& r, const YAML::Node& node,
                     const std::string& what, PolicyDef& p) {
  JIT_ASSIGN_OR_RETURN(YamlMap map,
                       YamlMap::Strict(r, node, what + " emergency",
                                       {"allowed", "max_duration", "notify"}));
  JIT_ASSIGN_OR_RETURN(YAML::Node allowed, map.Require("allowed"));
  JIT_ASSIGN_OR_RETURN(p.emergency_allowed,
                       r.Bool(allowed, what + " emergency.allowed"));
  if (std::optional<YAML::Node> max = map.Find("max_duration")) {
    JIT_ASSIGN_OR_RETURN(
        p.emergency_max_duration,
        r.DurationValue(*max, what + " emergency.max_duration"));
    if (p.max_duration.has_value() &&
        *p.emergency_max_duration > *p.max_duration) {
      return r.Error(
          *max, fmt::format("{} emergency.max_duration {} is above "
                            "the policy max_duration {}",
                            what, FormatDuration(*p.emergency_max_duration),
                            FormatDuration(*p.max_duration)));
    }
  }
  if (std::optional<YAML::Node> notify = map.Find("notify")) {
    JIT_ASSIGN_OR_RETURN(p.notify,
                         r.StringList(*notify, what + " emergency.notify"));
  }
  return OkStatus();
}

StatusOr<uint8_t> ReadDays(const YamlReader& r, const YamlMap& map,
                           const std::string& what) {
  std::optional<YAML::Node> list = map.Find("days");
  if (!list.has_value()) return uint8_t{0x7f};  // every day
  JIT_ASSIGN_OR_RETURN(std::vector<std::string> names,
                       r.StringList(*list, what + " days"));
  StatusOr<uint8_t> mask = policy_internal::ParseDays(names);
  if (!mask.ok()) {
    return r.Error(*list, what + " days: " + mask.status().message());
  }
  return mask;
}

StatusOr<int> ReadClockTime(const YamlReader& r, const YamlMap& map,
                            const std::string& what, std::string_view key,
                            policy_internal::WindowEdge edge) {
  JIT_ASSIGN_OR_RETURN(YAML::Node value, map.Require(key));
  std::string field = fmt::format("{} {}", what, key);
  JIT_ASSIGN_OR_RETURN(std::string text, r.String(value, field));
  StatusOr<int> minute = policy_internal::ParseClockTime(text, edge);
  if (!minute.ok()) {
    return r.Error(value, field + ": " + minute.status().message());
  }
  return minute;
}

StatusOr<const date::time_zone*> ReadZone(const YamlReader& r,
                                          const YamlMap& map,
                                          const std::string& what) {
  std::string tz = "UTC";
  std::optional<YAML::Node> tz_node = map.Find("tz");
  if (tz_node.has_value()) {
    JIT_ASSIGN_OR_RETURN(tz, r.NonEmptyString(*tz_node, what + " tz"));
  }
  StatusOr<const date::time_zone*> zone = policy_internal::LocateTimeZone(tz);
  if (!zone.ok()) {
    return r.Error(tz_node.value_or(map.node()),
                   what + ": " + zone.status().message());
  }
  return zone;
}

StatusOr<TimeWindow> ReadWindow(const YamlReader& r, const YAML::Node& node,
                                const std::string& what) {
  using policy_internal::WindowEdge;
  JIT_ASSIGN_OR_RETURN(
      YamlMap map,
      YamlMap::Strict(r, node, what, {"days", "from", "to", "tz"}));
  JIT_ASSIGN_OR_RETURN(uint8_t days, ReadDays(r, map, what));
  JIT_ASSIGN_OR_RETURN(int from,
                       ReadClockTime(r, map, what, "from", WindowEdge::kFrom));
  JIT_ASSIGN_OR_RETURN(int to,
                       ReadClockTime(r, map, what, "to", WindowEdge::kTo));
  JIT_ASSIGN_OR_RETURN(const date::time_zone* zone, ReadZone(r, map, what));
  StatusOr<TimeWindow> window = TimeWindow::Make(days, from, to, zone);
  if (!window.ok()) {
    return r.Error(node, what + ": " + window.status().message());
  }
  return window;
}

Status ReadWindows(const YamlReader& r, const YAML::Node& node,
                   const std::string& what, PolicyDef& p) {
  if (!node.IsSequence() || node.size() == 0) {
    return r.Error(node, what + " windows must be a non-empty list");
  }
  for (const YAML::Node& item : node) {
    std::string label =
        fmt::format("{} window #{}", what, p.windows.size() + 1);
    JIT_ASSIGN_OR_RETURN(TimeWindow w, ReadWindow(r, item, label));
    p.windows.push_back(std::move(w));
  }
  return OkStatus();
}

// --- policies ----------------------------------------------------------------

Status ReadDurations(const YamlReader& r, const YamlMap& map,
                     const std::string& what, PolicyDef& p) {
  if (std::optional<YAML::Node> max = map.Find("max_duration")) {
    JIT_ASSIGN_OR_RETURN(p.max_duration,
                         r.DurationValue(*max, what + " max_duration"));
  }
  if (std::optional<YAML::Node> timeout = map.Find("approval_timeout")) {
    JIT_ASSIGN_OR_RETURN(p.approval_timeout,
                         r.DurationValue(*timeout, what + " approval_timeout"));
  }
  return OkStatus();
}

Status ReadOptionalSections(const YamlReader& r, const YamlMap& map,
                            const std::string& what, PolicyDef& p) {
  if (std::optional<YAML::Node> require = map.Find("require")) {
    JIT_RETURN_IF_ERROR(ReadRequire(r, *require, what, p));
  }
  if (std::optional<YAML::Node> emergency = map.Find("emergency")) {
    JIT_RETURN_IF_ERROR(ReadEmergency(r, *emergency, what, p));
  }
  if (std::optional<YAML::Node> windows = map.Find("windows")) {
    JIT_RETURN_IF_ERROR(ReadWindows(r, *windows, what, p));
  }
  return OkStatus();
}

StatusOr<PolicyDef> ReadPolicy(const YamlReader& r, const YAML::Node& node,
                               size_t index, const PolicySet::Impl& impl) {
  std::string what = Label(node, "policy", index);
  JIT_ASSIGN_OR_RETURN(
      YamlMap map,
      YamlMap::Strict(
          r, node, what,
          {"name", "subjects", "entitlements", "max_duration", "require",
           "approval", "approval_timeout", "emergency", "windows"}));
  PolicyDef p;
  JIT_ASSIGN_OR_RETURN(p.name, ReadName(r, map, "policy"));
  JIT_ASSIGN_OR_RETURN(YAML::Node subjects, map.Require("subjects"));
  JIT_RETURN_IF_ERROR(ReadSubjects(r, subjects, what, p));
  JIT_ASSIGN_OR_RETURN(YAML::Node entitlements, map.Require("entitlements"));
  JIT_RETURN_IF_ERROR(ReadPolicyEntitlements(r, entitlements, what, impl, p));
  JIT_RETURN_IF_ERROR(ReadDurations(r, map, what, p));
  JIT_ASSIGN_OR_RETURN(YAML::Node approval, map.Require("approval"));
  JIT_RETURN_IF_ERROR(ReadApproval(r, approval, what, p));
  JIT_RETURN_IF_ERROR(ReadOptionalSections(r, map, what, p));
  return p;
}

Status ReadPolicies(const YamlReader& r, const YAML::Node& node,
                    PolicySet::Impl& impl) {
  for (const YAML::Node& item : node) {
    JIT_ASSIGN_OR_RETURN(PolicyDef p,
                         ReadPolicy(r, item, impl.policies.size(), impl));
    if (impl.policy_index.count(p.name) != 0) {
      return r.Error(item, fmt::format("policy {} is defined twice", p.name));
    }
    impl.policy_index[p.name] = impl.policies.size();
    impl.policies.push_back(std::move(p));
  }
  return OkStatus();
}

StatusOr<std::unique_ptr<PolicySet::Impl>> ReadPolicySet(
    const YAML::Node& root, const std::string& path) {
  YamlReader r(path);
  auto impl = std::make_unique<PolicySet::Impl>();
  if (root.IsNull() || !root.IsDefined()) {  // an empty file
    // Hashed too: every loaded set names its version (found by fuzzing).
    impl->version_hash = policy_internal::ComputeVersionHash(*impl);
    return impl;
  }
  // Other top-level keys belong to other parts of the config.
  JIT_ASSIGN_OR_RETURN(YamlMap map, YamlMap::Any(r, root, "the config file"));
  for (std::string_view key : {"entitlements", "policies"}) {
    std::optional<YAML::Node> list = map.Find(key);
    if (list.has_value() && !list->IsSequence()) {
      return r.ErrorAtLine(map.KeyLine(key),
                           fmt::format("{} must be a list", key));
    }
  }
  if (std::optional<YAML::Node> list = map.Find("entitlements")) {
    JIT_RETURN_IF_ERROR(ReadEntitlements(r, *list, *impl));
  }
  if (std::optional<YAML::Node> list = map.Find("policies")) {
    JIT_RETURN_IF_ERROR(ReadPolicies(r, *list, *impl));
  }
  impl->coverage = policy_internal::CoverageIndex::Build(*impl);
  impl->version_hash = policy_internal::ComputeVersionHash(*impl);
  return impl;
}

}  // namespace

StatusOr<std::shared_ptr<const PolicySet>> PolicySet::Load(
    const YAML::Node& root, const std::string& path) {
  StatusOr<std::unique_ptr<Impl>> impl =
      [&]() -> StatusOr<std::unique_ptr<Impl>> {
    try {
      return ReadPolicySet(root, path);
    } catch (const YAML::Exception& e) {  // a reader bug must not escape
      return InvalidArgumentError(
          fmt::format("{}:{}: {}", path, e.mark.line + 1, e.msg));
    }
  }();
  if (!impl.ok()) return impl.status();
  return std::make_shared<const PolicySet>(std::move(*impl));
}

StatusOr<std::shared_ptr<const PolicySet>> PolicySet::LoadFile(
    const std::string& path) {
  JIT_ASSIGN_OR_RETURN(YAML::Node root, policy_internal::LoadYamlFile(path));
  return Load(root, path);
}

}  // namespace jit
