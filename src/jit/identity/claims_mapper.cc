#include "jit/identity/claims_mapper.h"

#include <algorithm>
#include <cmath>

#include "jit/base/status_macros.h"

namespace jit {
namespace {

using nlohmann::json;

constexpr size_t kMaxNameChars = 256;
constexpr size_t kMaxGroups = 256;

Status BadClaim(const std::string& name, const std::string& why) {
  return UnauthenticatedError("token refused: claim " + name + " " + why);
}

bool PlainText(const std::string& s) {
  return !s.empty() && s.size() <= kMaxNameChars &&
         std::none_of(s.begin(), s.end(),
                      [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

// A list of plain strings at `name`; missing or null = empty.
StatusOr<std::vector<std::string>> StringList(const json& claims,
                                              const std::string& name) {
  std::vector<std::string> out;
  auto it = claims.find(name);
  if (it == claims.end() || it->is_null()) return out;
  if (!it->is_array()) return BadClaim(name, "must be a list of strings");
  if (it->size() > kMaxGroups) return BadClaim(name, "holds too many entries");
  for (const json& item : *it) {
    if (!item.is_string() || !PlainText(item.get<std::string>()))
      return BadClaim(name, "must be a list of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::vector<std::string> MapGroups(const std::vector<std::string>& idp_groups,
                                   const OidcConfig& config) {
  std::vector<std::string> out;
  auto add = [&](const std::string& g) {
    if (std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
  };
  for (const std::string& g : idp_groups) {
    auto mapped = config.group_map.find(g);
    if (mapped != config.group_map.end()) {
      add(mapped->second);
    } else if (!config.only_mapped_groups) {
      add(g);
    }
  }
  return out;
}

Status ReadStepUpClaims(const json& claims, OidcIdentity& id) {
  JIT_ASSIGN_OR_RETURN(id.amr, StringList(claims, "amr"));
  if (auto acr = claims.find("acr"); acr != claims.end()) {
    if (!acr->is_string()) return BadClaim("acr", "must be a string");
    id.acr = acr->get<std::string>();
  }
  if (auto at = claims.find("auth_time"); at != claims.end()) {
    double v = at->is_number() ? at->get<double>() : -1;
    if (!std::isfinite(v) || v < 0 || v >= 1e12)
      return BadClaim("auth_time", "is not a NumericDate");
    id.auth_time = SystemTime(std::chrono::seconds(static_cast<int64_t>(v)));
  }
  return OkStatus();
}

}  // namespace

StatusOr<OidcIdentity> MapClaims(const json& claims, const OidcConfig& config) {
  OidcIdentity id;
  auto name = claims.find(config.subject_claim);
  if (name == claims.end() || !name->is_string() ||
      !PlainText(name->get<std::string>())) {
    return BadClaim(config.subject_claim,
                    "must be a non-empty string (the subject name)");
  }
  id.subject.name = name->get<std::string>();
  id.subject.person = id.subject.name;
  JIT_ASSIGN_OR_RETURN(std::vector<std::string> groups,
                       StringList(claims, config.groups_claim));
  id.subject.groups = MapGroups(groups, config);
  JIT_RETURN_IF_ERROR(ReadStepUpClaims(claims, id));
  return id;
}

}  // namespace jit
