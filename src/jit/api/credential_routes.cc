// Routes for credentials jitd issues itself: machine tokens.
#include <nlohmann/json.hpp>

#include "jit/api/error_response.h"
#include "jit/api/json_codec.h"
#include "jit/api/routes.h"
#include "jit/base/duration.h"

namespace jit {
namespace {

using nlohmann::json;

json TokenJson(const Credential& c) {
  auto time_or_null = [](const std::optional<SystemTime>& t) {
    return t ? json(FormatTime(*t)) : json(nullptr);
  };
  return {{"name", c.id},
          {"groups", c.groups},
          {"created_by", c.created_by},
          {"created_at", FormatTime(c.created_at)},
          {"expires_at", time_or_null(c.expires_at)},
          {"revoked", c.ended_at.has_value()},
          {"revoked_at", time_or_null(c.ended_at)},
          {"revoked_by", c.ended_at ? json(c.ended_by) : json(nullptr)},
          {"note", c.note}};
}

Status NoTokens() {
  return UnavailableError("machine tokens are not enabled on this server");
}

}  // namespace

HttpResponse ApiRoutes::CreateToken(const Principal& who,
                                    const HttpRequest& http) const {
  if (deps_.tokens == nullptr) return ErrorResponse(NoTokens());
  auto body = JsonBody::Parse(http.body, {"name", "groups", "ttl", "note"});
  if (!body.ok()) return ErrorResponse(body.status());
  auto name = body->String("name");
  auto ttl = body->String("ttl");
  auto note = body->OptionalString("note");
  auto groups = body->OptionalStringList("groups");
  for (const Status* s :
       {&name.status(), &ttl.status(), &note.status(), &groups.status()}) {
    if (!s->ok()) return ErrorResponse(*s);
  }
  auto parsed_ttl = ParseDuration(*ttl);
  if (!parsed_ttl.ok()) return ErrorResponse(parsed_ttl.status());
  CreateTokenInput in{*name, *groups, *parsed_ttl, *note};
  auto issued = deps_.tokens->Create(who, in);
  if (!issued.ok()) return ErrorResponse(issued.status());
  json out = TokenJson(issued->credential);
  out["token"] = issued->token;  // the only time it is ever shown
  HttpResponse r = JsonResponse(201, out);
  r.headers["Cache-Control"] = "no-store";
  return r;
}

HttpResponse ApiRoutes::ListTokens(const Principal& who) const {
  if (deps_.tokens == nullptr) return ErrorResponse(NoTokens());
  auto tokens = deps_.tokens->List(who);
  if (!tokens.ok()) return ErrorResponse(tokens.status());
  json items = json::array();
  for (const Credential& c : *tokens) items.push_back(TokenJson(c));
  return JsonResponse(200, {{"items", items}, {"next_cursor", nullptr}});
}

HttpResponse ApiRoutes::RevokeToken(const Principal& who,
                                    const std::string& name) const {
  if (deps_.tokens == nullptr) return ErrorResponse(NoTokens());
  auto revoked = deps_.tokens->Revoke(who, name);
  if (!revoked.ok()) return ErrorResponse(revoked.status());
  return JsonResponse(200, TokenJson(*revoked));
}

}  // namespace jit
