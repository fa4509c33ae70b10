#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "jit/base/status.h"
#include "jit/connectors/connector.h"

namespace jit {

// Reading GrantSpec::params_json (each value JSON text) and expanding
// templates over a grant. Pure functions; thread-safe.

// True when the entitlement has param `name`.
bool HasParam(const GrantSpec& g, std::string_view name);

// The param as a string. kInvalidArgument when missing, not valid JSON, or
// not a JSON string.
StatusOr<std::string> GetStringParam(const GrantSpec& g, std::string_view name);

// The param as a list of strings. kInvalidArgument when missing, not valid
// JSON, not an array, or holding a non-string.
StatusOr<std::vector<std::string>> GetStringListParam(const GrantSpec& g,
                                                      std::string_view name);

// The param as plain text: a JSON string unquoted, anything else as compact
// JSON text (`["a","b"]`, `3`, `true`). kInvalidArgument when missing or not
// valid JSON.
StatusOr<std::string> GetParamText(const GrantSpec& g, std::string_view name);

// Replaces placeholders in `tmpl` with facts of `g`:
//   {subject} {user} (target_user, or subject when empty) {entitlement}
//   {grant_id} {request_id} {expires_at} {starts_at} (RFC 3339 UTC with Z)
//   {expires_unix} {starts_unix} (whole seconds since the epoch)
// `{{` and `}}` stand for literal braces. The result is one string: callers
// use it as one argument or value, never as shell text.
// kInvalidArgument for an unknown placeholder, an unclosed `{` or a lone `}`.
StatusOr<std::string> ExpandTemplate(std::string_view tmpl, const GrantSpec& g);

// The checks of ExpandTemplate without a grant, for config loading.
Status ValidateTemplate(std::string_view tmpl);

}  // namespace jit
