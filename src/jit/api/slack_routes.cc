// POST /v1/integrations/slack/actions: Slack button presses.
#include "jit/api/error_response.h"
#include "jit/api/http_server.h"
#include "jit/api/routes.h"

namespace jit {

HttpResponse ApiRoutes::SlackActions(const HttpRequest& http) const {
  if (deps_.slack == nullptr) {
    return ErrorResponse(
        NotFoundError("the Slack integration is not configured"));
  }
  SlackDelivery in;
  in.timestamp = http.Header("x-slack-request-timestamp");
  in.signature = http.Header("x-slack-signature");
  in.body = http.body;
  // A body that is no form is refused by the service, after the signature.
  const std::string type = http.Header("content-type").value_or("");
  if (type.rfind("application/x-www-form-urlencoded", 0) == 0) {
    auto form = ParseFormUrlEncoded(http.body);
    if (form.ok() && form->count("payload") > 0)
      in.payload = form->at("payload");
  }
  StatusOr<nlohmann::json> answer = deps_.slack->Handle(in);
  if (!answer.ok()) return ErrorResponse(answer.status());
  return JsonResponse(200, *answer);
}

}  // namespace jit
