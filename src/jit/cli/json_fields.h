#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "jit/base/status.h"

namespace jit {

// JSON as the server sent it, keys in their original order.
using Json = nlohmann::ordered_json;

// Parses `text`. kInvalidArgument when it is not JSON. Never throws.
StatusOr<Json> ParseJson(std::string_view text);

// Field readers that never throw and accept whatever type arrives: a string
// as is, a number or bool as its JSON text, null or missing as "".
std::string JsonText(const Json& object, std::string_view key);
// An integer field; nullopt when missing or not an integer.
std::optional<int64_t> JsonInt(const Json& object, std::string_view key);
// True only for a JSON `true`.
bool JsonBool(const Json& object, std::string_view key);
// The array under `key`, or an empty array.
const Json& JsonArray(const Json& object, std::string_view key);

// Writes `value` re-encoded as ASCII (non-ASCII as \u escapes), so it is
// identical for any JSON reader and cannot drive a terminal. `indent` < 0
// writes one line.
void WriteJson(std::ostream& out, const Json& value, int indent);

}  // namespace jit
