#include "jit/connectors/webhook/webhook_connector.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>

#include "jit/base/duration.h"
#include "jit/base/ids.h"
#include "jit/base/status_macros.h"
#include "jit/connectors/common/config_json.h"
#include "jit/connectors/webhook/webhook_signature.h"

namespace jit {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr milliseconds kMaxTimeout = std::chrono::seconds(60);
constexpr milliseconds kMaxBackoff = std::chrono::seconds(2);
constexpr int kMaxRetries = 10;
constexpr size_t kMaxBodyInMessage = 200;

const std::vector<std::string> kKnownKeys = {
    "name",       "type",      "url",     "grant_url",
    "revoke_url", "check_url", "secret",  "secret_file",
    "timeout",    "retries",   "ca_file", "allow_private_addresses",
    "discovery"};

StatusOr<WebhookUrl> ReadUrl(const ConnectorConfigReader& reader,
                             std::string_view key, const std::string& text,
                             PrivateAddresses private_addresses) {
  StatusOr<WebhookUrl> url = ParseWebhookUrl(text);
  if (!url.ok())
    return reader.Error(fmt::format("\"{}\": {}", key, url.status().message()));
  if (url->literal) {
    Status allowed = CheckAddress(*url->literal, private_addresses);
    if (!allowed.ok()) {
      return reader.Error(
          fmt::format("\"{}\": {}: {}", key, text, allowed.message()));
    }
  }
  // Signed bodies must not cross a network in clear text. The transport
  // checks again at every call that "localhost" resolves to loopback only.
  if (url->scheme == UrlScheme::kHttp &&
      (url->host != "localhost" || url->literal ||
       private_addresses != PrivateAddresses::kAllow)) {
    return reader.Error(fmt::format(
        "\"{}\": {} must be https (http only to host localhost with "
        "allow_private_addresses, for tests)",
        key, text));
  }
  return url;
}

struct UrlTexts {
  std::optional<std::string> url, grant, revoke, check;
};

Status ReadUrls(const ConnectorConfigReader& reader,
                PrivateAddresses private_addresses,
                WebhookConnectorConfig& out) {
  UrlTexts t;
  JIT_ASSIGN_OR_RETURN(t.url, reader.String("url"));
  JIT_ASSIGN_OR_RETURN(t.grant, reader.String("grant_url"));
  JIT_ASSIGN_OR_RETURN(t.revoke, reader.String("revoke_url"));
  JIT_ASSIGN_OR_RETURN(t.check, reader.String("check_url"));
  if (!t.url && !(t.grant && t.revoke && t.check)) {
    return reader.Error(
        "needs \"url\", or all of \"grant_url\", \"revoke_url\" and "
        "\"check_url\"");
  }
  auto pick = [&](std::string_view key, const std::optional<std::string>& own,
                  WebhookUrl& into) -> Status {
    std::string_view used_key = own ? key : std::string_view("url");
    JIT_ASSIGN_OR_RETURN(into, ReadUrl(reader, used_key, own ? *own : *t.url,
                                       private_addresses));
    return OkStatus();
  };
  JIT_RETURN_IF_ERROR(pick("grant_url", t.grant, out.grant_url));
  JIT_RETURN_IF_ERROR(pick("revoke_url", t.revoke, out.revoke_url));
  JIT_RETURN_IF_ERROR(pick("check_url", t.check, out.check_url));
  if (!t.url) {
    out.sessions_url = out.check_url;
    return OkStatus();
  }
  JIT_ASSIGN_OR_RETURN(out.sessions_url,
                       ReadUrl(reader, "url", *t.url, private_addresses));
  return OkStatus();
}

StatusOr<std::string> ReadSecretFile(const ConnectorConfigReader& reader) {
  JIT_ASSIGN_OR_RETURN(std::optional<std::string> path,
                       reader.String("secret_file"));
  if (!path) return reader.Error("\"secret_file\" is required");
  StatusOr<std::string> secret = ReadWebhookSecretFile(*path);
  if (!secret.ok()) return reader.Error(secret.status().message());
  return secret;
}

StatusOr<milliseconds> ReadTimeout(const ConnectorConfigReader& reader) {
  JIT_ASSIGN_OR_RETURN(std::optional<Duration> d,
                       reader.DurationValue("timeout"));
  if (!d) return milliseconds(std::chrono::seconds(5));
  if (*d > kMaxTimeout) return reader.Error("\"timeout\" is over 60s");
  return *d;
}

// YAML scalars reach us as text ("3"); JSON written by hand may hold 3.
StatusOr<int> ReadRetries(const ConnectorConfigReader& reader,
                          const ConnectorConfig& config) {
  if (!reader.Has("retries")) return 3;
  json whole = json::parse(config.config_json, nullptr,
                           /*allow_exceptions=*/false);
  const json& v = whole["retries"];
  std::optional<int> n;
  if (v.is_number_unsigned() && v.get<uint64_t>() <= uint64_t{kMaxRetries}) {
    n = static_cast<int>(v.get<uint64_t>());
  } else if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (!s.empty() && s.size() <= 2 &&
        std::all_of(s.begin(), s.end(),
                    [](unsigned char c) { return std::isdigit(c); })) {
      n = std::stoi(s);
    }
  }
  if (!n || *n > kMaxRetries)
    return reader.Error("\"retries\" must be a whole number from 0 to 10");
  return *n;
}

// The answer's body text for an error message: short, one line.
std::string Excerpt(std::string_view body) {
  std::string out(body.substr(0, kMaxBodyInMessage));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < ' ' || c == 0x7f) c = ' ';
  }
  if (body.size() > kMaxBodyInMessage) out += "...";
  return out;
}

// What one HTTP answer means (see the class comment).
Status AnswerStatus(const WebhookAnswer& a) {
  if (a.status >= 200 && a.status <= 299) return OkStatus();
  std::string what = fmt::format("receiver answered HTTP {}", a.status);
  if (a.status >= 300 && a.status <= 399) {
    return FailedPreconditionError(
        fmt::format("{}, a redirect{}{}; redirects are not followed", what,
                    a.location.empty() ? "" : " to ", Excerpt(a.location)));
  }
  if (!a.body.empty()) what += ": " + Excerpt(a.body);
  if (a.status == 408 || a.status == 429 || a.status >= 500 || a.status < 200)
    return UnavailableError(std::move(what));
  if (a.status == 400 || a.status == 422)
    return InvalidArgumentError(std::move(what));
  return FailedPreconditionError(std::move(what));
}

bool Retryable(const Status& s) {
  return s.code() == StatusCode::kUnavailable ||
         s.code() == StatusCode::kDeadlineExceeded;
}

StatusOr<json> ParamsObject(const GrantSpec& g) {
  json params = json::object();
  for (const auto& [name, text] : g.params_json) {
    json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) {
      return InvalidArgumentError(
          fmt::format("param \"{}\" of entitlement \"{}\" is not valid JSON",
                      name, g.entitlement));
    }
    params[name] = std::move(value);
  }
  return params;
}

StatusOr<std::string> BodyFor(std::string_view action, const GrantSpec& g,
                              const std::string& delivery_id) {
  JIT_ASSIGN_OR_RETURN(json params, ParamsObject(g));
  json body = {
      {"action", action},
      {"grant_id", g.grant_id},
      {"request_id", g.request_id},
      {"subject", g.subject},
      {"target_user", g.target_user.empty() ? g.subject : g.target_user},
      {"entitlement", g.entitlement},
      {"params", std::move(params)},
      {"starts_at", FormatTime(g.starts_at)},
      {"expires_at", FormatTime(g.expires_at)},
      {"delivery_id", delivery_id},
  };
  try {
    return body.dump();
  } catch (const json::exception& e) {  // text that is not UTF-8
    return InvalidArgumentError(
        fmt::format("grant fields cannot be sent as JSON: {}", e.what()));
  }
}

StatusOr<json> ParseAnswer(const std::string& body) {
  if (std::all_of(body.begin(), body.end(),
                  [](unsigned char c) { return std::isspace(c); })) {
    return json::object();
  }
  json answer = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (answer.is_discarded() || !answer.is_object()) {
    return UnavailableError("receiver answered 2xx without a JSON object: " +
                            Excerpt(body));
  }
  return answer;
}

std::string Prefix(const ConnectorConfig& config) {
  if (!config.origin.empty()) return config.origin + ": ";
  return fmt::format("connector \"{}\": ", config.name);
}

}  // namespace

StatusOr<WebhookConnectorConfig> ParseWebhookConnectorConfig(
    const ConnectorConfig& config) {
  JIT_ASSIGN_OR_RETURN(ConnectorConfigReader reader,
                       ConnectorConfigReader::Parse(config, kKnownKeys));
  JIT_RETURN_IF_ERROR(reader.String("name").status());
  JIT_RETURN_IF_ERROR(reader.String("type").status());
  if (reader.Has("secret")) {
    return reader.Error(
        "\"secret\" must not be written into the config; put it in a file "
        "only jitd can read and name it with \"secret_file\"");
  }
  WebhookConnectorConfig out;
  out.name = config.name;
  JIT_ASSIGN_OR_RETURN(std::optional<bool> allow_private,
                       reader.Bool("allow_private_addresses"));
  out.private_addresses = allow_private.value_or(false)
                              ? PrivateAddresses::kAllow
                              : PrivateAddresses::kRefuse;
  JIT_RETURN_IF_ERROR(ReadUrls(reader, out.private_addresses, out));
  JIT_ASSIGN_OR_RETURN(out.secret, ReadSecretFile(reader));
  JIT_ASSIGN_OR_RETURN(out.timeout, ReadTimeout(reader));
  JIT_ASSIGN_OR_RETURN(out.retries, ReadRetries(reader, config));
  JIT_ASSIGN_OR_RETURN(std::optional<std::string> ca_file,
                       reader.String("ca_file"));
  out.ca_file = ca_file.value_or("");
  if (!out.ca_file.empty() && !std::ifstream(out.ca_file).good()) {
    return reader.Error(fmt::format("cannot read ca_file {}: {}", out.ca_file,
                                    std::strerror(errno)));
  }
  return out;
}

StatusOr<std::unique_ptr<WebhookConnector>> WebhookConnector::Create(
    WebhookConnectorConfig config, const Clock& clock) {
  JIT_ASSIGN_OR_RETURN(
      std::unique_ptr<WebhookTransport> transport,
      WebhookTransport::Create(config.ca_file, config.private_addresses));
  return std::unique_ptr<WebhookConnector>(
      new WebhookConnector(std::move(config), std::move(transport), clock));
}

std::string WebhookConnector::Context(std::string_view action,
                                      const GrantSpec& g) const {
  return fmt::format("connector \"{}\": {} {}", config_.name, action,
                     g.grant_id);
}

StatusOr<WebhookAnswer> WebhookConnector::Attempt(
    const WebhookUrl& url, const std::string& body,
    const std::string& delivery_id, Deadline deadline) const {
  auto left = std::chrono::floor<milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left <= milliseconds::zero())
    return DeadlineExceededError("deadline passed");
  const std::string timestamp = std::to_string(
      std::chrono::floor<std::chrono::seconds>(clock_.Now().time_since_epoch())
          .count());
  HeaderList headers = {
      {"Content-Type", "application/json"},
      {"X-Jitd-Timestamp", timestamp},
      {"X-Jitd-Signature", WebhookSignature(config_.secret, timestamp, body)},
      {"X-Jitd-Delivery", delivery_id},
  };
  return transport_->Post(url, headers, body, std::min(config_.timeout, left));
}

StatusOr<json> WebhookConnector::Deliver(std::string_view action,
                                         const WebhookUrl& url,
                                         const GrantSpec& g,
                                         Deadline deadline) const {
  const std::string context = Context(action, g);
  if (std::chrono::steady_clock::now() >= deadline)
    return DeadlineExceededError(context + ": deadline already passed");
  // One id for every attempt of this delivery: receivers drop repeats.
  const std::string delivery_id = NewId("dlv_");
  StatusOr<std::string> body = BodyFor(action, g, delivery_id);
  if (!body.ok()) return body.status().WithContext(context);

  Status last;
  milliseconds backoff = config_.first_backoff;
  int attempts = 0;
  while (attempts <= config_.retries) {
    if (attempts > 0) {
      if (std::chrono::steady_clock::now() + backoff >= deadline) break;
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, kMaxBackoff);
    }
    ++attempts;
    StatusOr<WebhookAnswer> answer = Attempt(url, *body, delivery_id, deadline);
    Status s = answer.ok() ? AnswerStatus(*answer) : answer.status();
    if (s.ok()) {
      StatusOr<json> parsed = ParseAnswer(answer->body);
      if (!parsed.ok()) return parsed.status().WithContext(context);
      return parsed;
    }
    if (s.code() == StatusCode::kResourceExhausted)
      return UnavailableError(s.message()).WithContext(context);
    if (!Retryable(s)) return s.WithContext(context);
    last = std::move(s);
  }
  return UnavailableError(fmt::format("{}: {} ({} attempt{})", context,
                                      last.message(), attempts,
                                      attempts == 1 ? "" : "s"));
}

Status WebhookConnector::Grant(const GrantSpec& g, Deadline deadline) {
  return Deliver("grant", config_.grant_url, g, deadline).status();
}

Status WebhookConnector::Revoke(const GrantSpec& g, Deadline deadline) {
  return Deliver("revoke", config_.revoke_url, g, deadline).status();
}

StatusOr<bool> WebhookConnector::IsActive(const GrantSpec& g,
                                          Deadline deadline) {
  JIT_ASSIGN_OR_RETURN(json answer,
                       Deliver("check", config_.check_url, g, deadline));
  auto active = answer.find("active");
  if (active == answer.end() || !active->is_boolean()) {
    return UnavailableError(Context("check", g) +
                            ": answer lacks a boolean \"active\"");
  }
  return active->get<bool>();
}

StatusOr<std::vector<Session>> WebhookConnector::SessionsIn(
    const json& answer, std::string_view action) const {
  std::vector<Session> sessions;
  const json& list = answer.at("sessions");
  auto bad = [&] {
    return UnavailableError(fmt::format(
        "connector \"{}\": {} answer: \"sessions\" must be a list of "
        "{{\"id\": string, \"description\"?: string}}",
        config_.name, action));
  };
  if (!list.is_array()) return bad();
  for (const json& item : list) {
    if (!item.is_object()) return bad();
    auto id = item.find("id");
    auto description = item.find("description");
    if (id == item.end() || !id->is_string()) return bad();
    if (description != item.end() && !description->is_string()) return bad();
    std::string id_text = id->get<std::string>();
    sessions.push_back(Session{id_text, description == item.end()
                                            ? id_text
                                            : description->get<std::string>()});
  }
  return sessions;
}

StatusOr<std::vector<Session>> WebhookConnector::ListSessions(
    const GrantSpec& g, Deadline deadline) {
  JIT_ASSIGN_OR_RETURN(json answer,
                       Deliver("sessions", config_.sessions_url, g, deadline));
  if (!answer.contains("sessions")) return std::vector<Session>();
  return SessionsIn(answer, "sessions");
}

StatusOr<std::vector<Session>> WebhookConnector::KillSessions(
    const GrantSpec& g, Deadline deadline) {
  JIT_ASSIGN_OR_RETURN(
      json answer, Deliver("kill_sessions", config_.sessions_url, g, deadline));
  if (answer.contains("sessions")) return SessionsIn(answer, "kill_sessions");
  return ListSessions(g, deadline);
}

StatusOr<std::unique_ptr<Connector>> MakeWebhookConnector(
    const ConnectorConfig& config, const Environment& env) {
  JIT_ASSIGN_OR_RETURN(WebhookConnectorConfig parsed,
                       ParseWebhookConnectorConfig(config));
  StatusOr<std::unique_ptr<WebhookConnector>> made =
      WebhookConnector::Create(std::move(parsed), env.clock);
  if (!made.ok()) {
    return InvalidArgumentError(Prefix(config) + made.status().message());
  }
  return std::unique_ptr<Connector>(*std::move(made));
}

}  // namespace jit
