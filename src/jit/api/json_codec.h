#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "jit/audit/event.h"
#include "jit/domain/grant.h"
#include "jit/domain/request.h"
#include "jit/policy/policy.h"
#include "jit/workflow/request_service.h"

namespace jit {

// Domain -> JSON in the shapes DESIGN.md "REST API" promises.
nlohmann::json ToJson(const RequestView& v);
nlohmann::json ToJson(const Grant& g);
nlohmann::json ToJson(const AuditEvent& e);
nlohmann::json ToJson(const Requestable& r);

// A parsed JSON object body, checked strictly: only `allowed` keys.
// Errors: kInvalidArgument naming the problem (malformed JSON, not an
// object, unknown field, wrong type).
class JsonBody {
 public:
  static StatusOr<JsonBody> Parse(const std::string& text,
                                  std::initializer_list<const char*> allowed);
  // Required/optional string fields; wrong type -> kInvalidArgument.
  StatusOr<std::string> String(const char* key) const;
  StatusOr<std::string> OptionalString(const char* key) const;
  StatusOr<bool> OptionalBool(const char* key) const;
  // A list of strings; empty when absent.
  StatusOr<std::vector<std::string>> OptionalStringList(const char* key) const;
  // A whole number in [min, max]; `fallback` when absent.
  StatusOr<int64_t> OptionalInt(const char* key, int64_t fallback, int64_t min,
                                int64_t max) const;

 private:
  explicit JsonBody(nlohmann::json j) : j_(std::move(j)) {}
  nlohmann::json j_;
};

}  // namespace jit
