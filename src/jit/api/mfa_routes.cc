// Routes for TOTP enrollment (/v1/mfa), and the rate limit every route
// that checks a TOTP code goes through.
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "jit/api/error_response.h"
#include "jit/api/json_codec.h"
#include "jit/api/routes.h"
#include "jit/base/duration.h"

namespace jit {
namespace {

using nlohmann::json;

Status NoMfa() {
  return UnavailableError("TOTP enrollment is not enabled on this server");
}

}  // namespace

std::optional<HttpResponse> ApiRoutes::CodeLimited(
    const Principal& who, const HttpRequest& http,
    std::string_view code) const {
  if (code.empty() || deps_.auth_limiter == nullptr) return std::nullopt;
  const AuthRateLimiter& limiter = *deps_.auth_limiter;
  auto by_source =
      limiter.RetryAfter(AuthRateLimiter::SourceKey(http.remote_address));
  auto by_subject = limiter.RetryAfter(AuthRateLimiter::SubjectKey(who.name()));
  if (!by_source && !by_subject) return std::nullopt;
  auto wait = std::max(by_source.value_or(std::chrono::seconds(0)),
                       by_subject.value_or(std::chrono::seconds(0)));
  deps_.metrics.CountAuthFailure(AuthFailureOutcome::kRateLimited);
  // Refused even when the code is right: a limited guesser learns nothing.
  HttpResponse out =
      ErrorResponse(Status(StatusCode::kResourceExhausted,
                           "too many failed authentications; retry after " +
                               std::to_string(wait.count()) + "s",
                           "rate_limited"));
  out.headers["Retry-After"] = std::to_string(wait.count());
  return out;
}

void ApiRoutes::NoteCodeOutcome(const Principal& who, const HttpRequest& http,
                                const Status& outcome) const {
  if (outcome.reason() != "mfa_failed" || deps_.auth_limiter == nullptr) return;
  deps_.auth_limiter->RecordFailure(
      AuthRateLimiter::SourceKey(http.remote_address));
  deps_.auth_limiter->RecordFailure(AuthRateLimiter::SubjectKey(who.name()));
  deps_.metrics.CountAuthFailure(AuthFailureOutcome::kRejected);
  spdlog::info("TOTP code refused for {} from {}: {}", who.name(),
               http.remote_address, outcome.message());
}

HttpResponse ApiRoutes::MfaStatus(const Principal& who) const {
  if (deps_.mfa == nullptr) return ErrorResponse(NoMfa());
  auto state = deps_.mfa->StateOf(who);
  if (!state.ok()) return ErrorResponse(state.status());
  return JsonResponse(
      200, {{"subject", who.name()},
            {"totp",
             {{"active", state->active},
              {"active_since", state->active_since
                                   ? json(FormatTime(*state->active_since))
                                   : json(nullptr)},
              {"pending", state->pending}}}});
}

HttpResponse ApiRoutes::EnrollTotp(const Principal& who,
                                   const HttpRequest& http) const {
  if (deps_.mfa == nullptr) return ErrorResponse(NoMfa());
  auto body = JsonBody::Parse(http.body, {"code"});
  if (!body.ok()) return ErrorResponse(body.status());
  auto code = body->OptionalString("code");
  if (!code.ok()) return ErrorResponse(code.status());
  if (auto limited = CodeLimited(who, http, *code)) return *limited;
  auto enrolled = deps_.mfa->EnrollTotp(who, *code);
  NoteCodeOutcome(who, http, enrolled.status());
  if (!enrolled.ok()) return ErrorResponse(enrolled.status());
  // The only time the seed is shown; it is never stored in clear.
  HttpResponse r =
      JsonResponse(201, {{"subject", who.name()},
                         {"secret", enrolled->secret_base32},
                         {"otpauth_uri", enrolled->uri},
                         {"confirm_by", FormatTime(enrolled->confirm_by)}});
  r.headers["Cache-Control"] = "no-store";
  return r;
}

HttpResponse ApiRoutes::ConfirmTotp(const Principal& who,
                                    const HttpRequest& http) const {
  if (deps_.mfa == nullptr) return ErrorResponse(NoMfa());
  auto body = JsonBody::Parse(http.body, {"code"});
  if (!body.ok()) return ErrorResponse(body.status());
  auto code = body->String("code");
  if (!code.ok()) return ErrorResponse(code.status());
  // Confirming also checks a code: a guess counts like any other.
  if (auto limited = CodeLimited(who, http, *code)) return *limited;
  Status confirmed = deps_.mfa->ConfirmTotp(who, *code);
  NoteCodeOutcome(who, http, confirmed);
  if (!confirmed.ok()) return ErrorResponse(confirmed);
  return JsonResponse(200, {{"subject", who.name()}, {"totp_active", true}});
}

HttpResponse ApiRoutes::ResetTotp(const Principal& who,
                                  const std::string& name) const {
  if (deps_.mfa == nullptr) return ErrorResponse(NoMfa());
  Status reset = deps_.mfa->ResetTotp(who, name);
  if (!reset.ok()) return ErrorResponse(reset);
  return JsonResponse(200, {{"subject", name}, {"totp_active", false}});
}

}  // namespace jit
