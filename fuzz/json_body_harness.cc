// Properties, for the body of every route that reads JSON: nothing throws;
// JsonBody::Parse accepts exactly the empty body and JSON objects whose keys
// the route allows; each field read returns the value in the body or a
// kInvalidArgument; every error renders as a JSON error response.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness.h"
#include "jit/api/error_response.h"
#include "jit/api/json_codec.h"
#include "jit/base/duration.h"

namespace jit::fuzz {
namespace {

// One route's body: the fields it allows and how it reads them (as in
// api/routes.cc). `parse` calls JsonBody::Parse with the same list as
// `allowed`, written out as the routes write it.
struct RouteBody {
  std::vector<std::string> allowed;
  StatusOr<JsonBody> (*parse)(const std::string& body);
  std::vector<const char*> required_strings;
  std::vector<const char*> optional_strings;
  std::vector<const char*> optional_bools;
  const char* duration = nullptr;  // a field also read by ParseDuration
  const char* time = nullptr;      // a field also read by ParseTime
};

std::vector<RouteBody> Routes() {
  return {
      {{"entitlement", "duration", "justification", "ticket", "start_at",
        "emergency"},
       [](const std::string& b) {
         return JsonBody::Parse(b, {"entitlement", "duration", "justification",
                                    "ticket", "start_at", "emergency"});
       },
       {"entitlement", "duration"},
       {"justification", "ticket", "start_at"},
       {"emergency"},
       "duration",
       "start_at"},
      {{"comment"},
       [](const std::string& b) { return JsonBody::Parse(b, {"comment"}); },
       {},
       {"comment"},
       {}},
      {{"reason"},
       [](const std::string& b) { return JsonBody::Parse(b, {"reason"}); },
       {},
       {"reason"},
       {}},
      {{"duration", "justification"},
       [](const std::string& b) {
         return JsonBody::Parse(b, {"duration", "justification"});
       },
       {"duration"},
       {"justification"},
       {},
       "duration"},
      {{"subject", "entitlement"},
       [](const std::string& b) {
         return JsonBody::Parse(b, {"subject", "entitlement"});
       },
       {"subject", "entitlement"},
       {},
       {}},
      {{"connector", "target_user"},
       [](const std::string& b) {
         return JsonBody::Parse(b, {"connector", "target_user"});
       },
       {"connector", "target_user"},
       {},
       {}},
      {{"public_key", "source_address"},
       [](const std::string& b) {
         return JsonBody::Parse(b, {"public_key", "source_address"});
       },
       {"public_key"},
       {"source_address"},
       {}},
  };
}

// The error as the API would send it; must not throw (e.g. on bytes that
// are not UTF-8 in the message).
void CheckRenders(const Status& status) {
  Check(!status.ok(), "an error path returned OK");
  Check(status.code() == StatusCode::kInvalidArgument,
        "a body error is not kInvalidArgument");
  HttpResponse r = ErrorResponse(status);
  Check(r.status == 400, "a body error does not map to 400");
  Check(nlohmann::json::accept(r.body), "error response body is not JSON");
}

bool IsAllowed(const RouteBody& route, const std::string& key) {
  return std::find(route.allowed.begin(), route.allowed.end(), key) !=
         route.allowed.end();
}

// What Parse should decide, worked out from the JSON library directly.
bool ShouldParse(const std::string& body, const RouteBody& route) {
  if (body.empty()) return true;
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  for (const auto& [key, value] : j.items()) {
    if (!IsAllowed(route, key)) return false;
  }
  return true;
}

// The value of `key` in `body` as the reads must see it (null = absent).
nlohmann::json FieldOf(const std::string& body, const char* key) {
  if (body.empty()) return nullptr;
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  auto it = j.find(key);
  return it == j.end() ? nlohmann::json(nullptr) : *it;
}

void CheckStringRead(const StatusOr<std::string>& got,
                     const nlohmann::json& want, bool required) {
  if (want.is_string()) {
    Check(got.ok() && *got == want.get<std::string>(),
          "a string field read back different text");
    return;
  }
  if (want.is_null() && !required) {
    Check(got.ok() && got->empty(), "an absent optional string is not \"\"");
    return;
  }
  Check(!got.ok(), "a missing or non-string field was read as a string");
  CheckRenders(got.status());
}

void CheckRoute(const std::string& body, const RouteBody& route) {
  StatusOr<JsonBody> parsed = route.parse(body);
  Check(parsed.ok() == ShouldParse(body, route),
        "JsonBody::Parse disagrees with the JSON library");
  if (!parsed.ok()) {
    CheckRenders(parsed.status());
    return;
  }
  for (const char* key : route.required_strings) {
    CheckStringRead(parsed->String(key), FieldOf(body, key), true);
  }
  for (const char* key : route.optional_strings) {
    CheckStringRead(parsed->OptionalString(key), FieldOf(body, key), false);
  }
  for (const char* key : route.optional_bools) {
    StatusOr<bool> got = parsed->OptionalBool(key);
    nlohmann::json want = FieldOf(body, key);
    if (want.is_boolean()) {
      Check(got.ok() && *got == want.get<bool>(), "a bool read back wrong");
    } else if (want.is_null()) {
      Check(got.ok() && !*got, "an absent bool is not false");
    } else {
      Check(!got.ok(), "a non-bool field was read as a bool");
      CheckRenders(got.status());
    }
  }
  if (route.duration != nullptr) {
    StatusOr<std::string> text = parsed->OptionalString(route.duration);
    if (text.ok()) {
      StatusOr<Duration> d = ParseDuration(*text);
      if (!d.ok()) CheckRenders(d.status());
    }
  }
  if (route.time != nullptr) {
    StatusOr<std::string> text = parsed->OptionalString(route.time);
    if (text.ok() && !text->empty()) {
      StatusOr<SystemTime> t = ParseTime(*text);
      if (!t.ok()) CheckRenders(t.status());
    }
  }
}

}  // namespace

void FuzzJsonBody(std::span<const uint8_t> data) {
  std::string body(reinterpret_cast<const char*>(data.data()), data.size());
  try {
    for (const RouteBody& route : Routes()) CheckRoute(body, route);
  } catch (const std::exception& e) {
    Check(false, std::string("an exception escaped: ") + e.what());
  }
}

}  // namespace jit::fuzz
