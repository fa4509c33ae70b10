#include "jit/cli/oidc_login.h"

#include <fmt/format.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "jit/base/files.h"
#include "jit/base/status_macros.h"
#include "jit/cli/api_client.h"
#include "jit/client/http_client.h"
#include "jit/identity/base64url.h"

namespace jit {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr int kMaxCallbackRequests = 20;
constexpr size_t kMaxAnswerBytes = 64 * 1024;

StatusOr<Json> ParseJsonObject(std::string_view body, const std::string& what) {
  if (body.size() > kMaxAnswerBytes)
    return InvalidArgumentError(what + " is too large");
  Json doc = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object())
    return InvalidArgumentError(what + " is not a JSON object");
  return doc;
}

std::string StringField(const Json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

std::optional<int64_t> IntField(const Json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

StatusOr<HttpClient> ClientFor(const LoginSettings& settings,
                               const std::string& origin) {
  return HttpClient::Create(origin, settings.http_timeout,
                            TlsOptions{settings.ca_file});
}

// The endpoint must be https when the issuer is (no token over plain http).
Status CheckEndpoint(const std::string& issuer, const std::string& url,
                     const std::string& name) {
  JIT_ASSIGN_OR_RETURN(UrlParts parts, SplitUrl(url));
  (void)parts;
  if (issuer.starts_with("https://") && !url.starts_with("https://"))
    return InvalidArgumentError(name + " is not https");
  return OkStatus();
}

}  // namespace

std::string PkceChallengeS256(std::string_view verifier) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(verifier.data()),
         verifier.size(), digest);
  return Base64UrlEncode(
      std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

StatusOr<std::string> RandomUrlSafeToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    return InternalError("the random generator failed");
  return Base64UrlEncode(
      std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

StatusOr<Pkce> NewPkce() {
  JIT_ASSIGN_OR_RETURN(std::string verifier, RandomUrlSafeToken());
  std::string challenge = PkceChallengeS256(verifier);
  return Pkce{std::move(verifier), std::move(challenge)};
}

StatusOr<std::string> UrlDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] != '%') {
      out += text[i];
    } else {
      if (i + 2 >= text.size())
        return InvalidArgumentError("truncated %-escape");
      const int hi = HexValue(text[i + 1]);
      const int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return InvalidArgumentError("bad %-escape");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
  }
  return out;
}

std::string FormEncode(
    const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [key, value] : fields) {
    if (value.empty()) continue;
    if (!out.empty()) out += '&';
    out += UrlEncode(key) + "=" + UrlEncode(value);
  }
  return out;
}

StatusOr<std::map<std::string, std::string>> ParseQuery(
    std::string_view target) {
  std::map<std::string, std::string> query;
  const size_t mark = target.find('?');
  if (mark == std::string_view::npos) return query;
  std::string_view rest = target.substr(mark + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? "" : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    JIT_ASSIGN_OR_RETURN(std::string key, UrlDecode(pair.substr(0, eq)));
    std::string value;
    if (eq != std::string_view::npos) {
      JIT_ASSIGN_OR_RETURN(value, UrlDecode(pair.substr(eq + 1)));
    }
    if (!query.emplace(key, std::move(value)).second)
      return InvalidArgumentError("query parameter `" + key + "` twice");
  }
  return query;
}

StatusOr<UrlParts> SplitUrl(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos ||
      (url.substr(0, scheme_end) != "http" &&
       url.substr(0, scheme_end) != "https"))
    return InvalidArgumentError("not an http(s) URL");
  const size_t host_start = scheme_end + 3;
  const size_t path_start = url.find_first_of("/?", host_start);
  if (path_start == host_start || host_start >= url.size())
    return InvalidArgumentError("URL without host");
  if (path_start == std::string_view::npos)
    return UrlParts{std::string(url), "/"};
  std::string target(url.substr(path_start));
  if (target.front() == '?') target.insert(0, "/");
  return UrlParts{std::string(url.substr(0, path_start)), std::move(target)};
}

StatusOr<OidcEndpoints> ParseDiscovery(std::string_view body,
                                       const std::string& issuer) {
  JIT_ASSIGN_OR_RETURN(Json doc, ParseJsonObject(body, "discovery document"));
  OidcEndpoints e{StringField(doc, "issuer"),
                  StringField(doc, "authorization_endpoint"),
                  StringField(doc, "token_endpoint"),
                  StringField(doc, "device_authorization_endpoint")};
  if (e.issuer != issuer)
    return InvalidArgumentError("discovery names another issuer");
  if (e.authorization_endpoint.empty() || e.token_endpoint.empty())
    return InvalidArgumentError(
        "discovery lacks authorization_endpoint or token_endpoint");
  JIT_RETURN_IF_ERROR(CheckEndpoint(issuer, e.authorization_endpoint,
                                    "authorization_endpoint"));
  JIT_RETURN_IF_ERROR(
      CheckEndpoint(issuer, e.token_endpoint, "token_endpoint"));
  if (!e.device_authorization_endpoint.empty()) {
    JIT_RETURN_IF_ERROR(CheckEndpoint(issuer, e.device_authorization_endpoint,
                                      "device_authorization_endpoint"));
  }
  return e;
}

StatusOr<OidcEndpoints> Discover(const LoginSettings& settings) {
  std::string issuer = settings.issuer;
  while (issuer.ends_with('/')) issuer.pop_back();
  JIT_ASSIGN_OR_RETURN(UrlParts parts,
                       SplitUrl(issuer + "/.well-known/openid-configuration"));
  JIT_ASSIGN_OR_RETURN(HttpClient client, ClientFor(settings, parts.origin));
  JIT_ASSIGN_OR_RETURN(ClientResponse r, client.Do("GET", parts.target));
  if (r.status != 200)
    return UnavailableError(
        fmt::format("discovery at {} answered {}", settings.issuer, r.status));
  return ParseDiscovery(r.body, settings.issuer);
}

std::string AuthorizationUrl(const OidcEndpoints& endpoints,
                             const LoginSettings& settings,
                             const std::string& redirect_uri,
                             const std::string& state,
                             const std::string& code_challenge) {
  const char separator =
      endpoints.authorization_endpoint.find('?') == std::string::npos ? '?'
                                                                      : '&';
  return endpoints.authorization_endpoint + separator +
         FormEncode({{"response_type", "code"},
                     {"client_id", settings.client_id},
                     {"redirect_uri", redirect_uri},
                     {"scope", settings.scope},
                     {"state", state},
                     {"code_challenge", code_challenge},
                     {"code_challenge_method", "S256"},
                     {"resource", settings.resource}});
}

StatusOr<std::string> CodeFromCallback(std::string_view target,
                                       const std::string& expected_state) {
  const std::string_view path = target.substr(0, target.find('?'));
  if (path != "/callback")
    return InvalidArgumentError("not the login callback");
  JIT_ASSIGN_OR_RETURN(auto query, ParseQuery(target));
  // The state is checked before anything else the redirect says.
  auto state = query.find("state");
  if (state == query.end() || state->second != expected_state) {
    return PermissionDeniedError(
        "the login redirect does not carry this login's state; refused "
        "(forged or stale redirect)",
        "state_mismatch");
  }
  if (auto error = query.find("error"); error != query.end()) {
    std::string message =
        "the identity provider refused the login: " + error->second;
    if (auto d = query.find("error_description"); d != query.end())
      message += " (" + d->second + ")";
    return PermissionDeniedError(message, "login_refused");
  }
  auto code = query.find("code");
  if (code == query.end() || code->second.empty())
    return InvalidArgumentError("the login redirect carries no code");
  return code->second;
}

// ---- LoopbackReceiver ----

struct LoopbackReceiver::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  uint16_t port = 0;
};

LoopbackReceiver::LoopbackReceiver(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
LoopbackReceiver::~LoopbackReceiver() = default;

StatusOr<std::unique_ptr<LoopbackReceiver>> LoopbackReceiver::Listen() {
  auto impl = std::make_unique<Impl>();
  boost::system::error_code ec;
  const tcp::endpoint at(asio::ip::make_address("127.0.0.1"), 0);
  impl->acceptor.open(at.protocol(), ec);
  if (!ec) impl->acceptor.bind(at, ec);
  if (!ec) impl->acceptor.listen(4, ec);
  if (ec)
    return UnavailableError("cannot listen on 127.0.0.1: " + ec.message());
  impl->port = impl->acceptor.local_endpoint(ec).port();
  return std::unique_ptr<LoopbackReceiver>(
      new LoopbackReceiver(std::move(impl)));
}

uint16_t LoopbackReceiver::port() const { return impl_->port; }

std::string LoopbackReceiver::redirect_uri() const {
  return fmt::format("http://127.0.0.1:{}/callback", impl_->port);
}

namespace {

std::string PageFor(const Status& status) {
  if (status.ok())
    return "<!doctype html><title>jit login</title><p>Logged in. You can "
           "close this window and go back to the terminal.</p>";
  return "<!doctype html><title>jit login</title><p>Login failed; see the "
         "terminal.</p>";
}

// Reads one request from `socket` (bounded by `deadline` through the
// stream's expiry) and answers it. Returns the target, or "" when the
// request could not be read.
std::string ServeOne(tcp::socket socket, MonoTime deadline,
                     const std::function<Status(const std::string&)>& judge) {
  beast::tcp_stream stream(std::move(socket));
  stream.expires_at(deadline);
  beast::flat_buffer buffer;
  http::request_parser<http::empty_body> parser;
  parser.header_limit(16 * 1024);
  boost::system::error_code ec;
  http::read(stream, buffer, parser, ec);
  if (ec) return "";
  const std::string target(parser.get().target());
  const Status verdict = judge(target);
  http::response<http::string_body> res;
  res.version(11);
  res.result(target.starts_with("/callback") ? http::status::ok
                                             : http::status::not_found);
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  res.set(http::field::connection, "close");
  res.body() = PageFor(verdict);
  res.prepare_payload();
  http::write(stream, res, ec);
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return target;
}

}  // namespace

StatusOr<std::string> LoopbackReceiver::WaitForCode(
    const std::string& expected_state, std::chrono::milliseconds limit) {
  const MonoTime deadline = std::chrono::steady_clock::now() + limit;
  std::optional<StatusOr<std::string>> result;
  auto judge = [&](const std::string& target) -> Status {
    if (!target.starts_with("/callback")) return NotFoundError("not here");
    result = CodeFromCallback(target, expected_state);
    return result->status();
  };
  for (int i = 0; i < kMaxCallbackRequests && !result; ++i) {
    boost::system::error_code ec;
    std::optional<tcp::socket> accepted;
    impl_->io.restart();
    impl_->acceptor.async_accept(
        [&](boost::system::error_code e, tcp::socket s) {
          ec = e;
          if (!e) accepted.emplace(std::move(s));
        });
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) break;
    impl_->io.run_for(left);
    if (!accepted) {
      impl_->acceptor.cancel(ec);
      impl_->io.run_for(std::chrono::milliseconds(100));
      break;
    }
    ServeOne(std::move(*accepted), deadline, judge);
  }
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);  // stop listening in every case
  if (!result)
    return DeadlineExceededError(
        "no login redirect arrived in time; run `jit login` again");
  return std::move(*result);
}

// ---- token endpoint ----

StatusOr<TokenSet> ParseTokenResponse(int http_status, std::string_view body,
                                      SystemTime now) {
  StatusOr<Json> doc = ParseJsonObject(body, "token endpoint answer");
  if (http_status != 200) {
    const std::string error =
        doc.ok() ? StringField(*doc, "error") : std::string();
    if (error.empty())
      return UnavailableError(
          fmt::format("token endpoint answered HTTP {}", http_status));
    std::string message = "the identity provider said " + error;
    const std::string description = StringField(*doc, "error_description");
    if (!description.empty()) message += ": " + description;
    return PermissionDeniedError(message, error);
  }
  if (!doc.ok()) return doc.status();
  TokenSet tokens;
  tokens.access_token = StringField(*doc, "access_token");
  tokens.refresh_token = StringField(*doc, "refresh_token");
  if (tokens.access_token.empty())
    return InvalidArgumentError("token endpoint answer has no access_token");
  if (std::optional<int64_t> in = IntField(*doc, "expires_in"); in && *in > 0)
    tokens.expires_at = now + std::chrono::seconds(*in);
  return tokens;
}

StatusOr<TokenSet> PostTokenRequest(
    const LoginSettings& settings, const std::string& url,
    const std::vector<std::pair<std::string, std::string>>& fields,
    SystemTime now) {
  JIT_ASSIGN_OR_RETURN(UrlParts parts, SplitUrl(url));
  JIT_ASSIGN_OR_RETURN(HttpClient client, ClientFor(settings, parts.origin));
  JIT_ASSIGN_OR_RETURN(
      ClientResponse r,
      client.Do("POST", parts.target, "", FormEncode(fields),
                {{"content-type", "application/x-www-form-urlencoded"},
                 {"accept", "application/json"}}));
  return ParseTokenResponse(r.status, r.body, now);
}

StatusOr<TokenSet> ExchangeCode(const LoginSettings& settings,
                                const OidcEndpoints& endpoints,
                                const std::string& code,
                                const std::string& redirect_uri,
                                const std::string& verifier, SystemTime now) {
  return PostTokenRequest(settings, endpoints.token_endpoint,
                          {{"grant_type", "authorization_code"},
                           {"code", code},
                           {"redirect_uri", redirect_uri},
                           {"client_id", settings.client_id},
                           {"code_verifier", verifier},
                           {"resource", settings.resource}},
                          now);
}

StatusOr<DeviceAuthorization> ParseDeviceAuthorization(int http_status,
                                                       std::string_view body) {
  JIT_ASSIGN_OR_RETURN(Json doc,
                       ParseJsonObject(body, "device authorization answer"));
  if (http_status != 200) {
    return PermissionDeniedError(
        "device authorization refused: " + StringField(doc, "error"),
        "login_refused");
  }
  DeviceAuthorization d;
  d.device_code = StringField(doc, "device_code");
  d.user_code = StringField(doc, "user_code");
  d.verification_uri = StringField(doc, "verification_uri");
  d.verification_uri_complete = StringField(doc, "verification_uri_complete");
  std::optional<int64_t> expires = IntField(doc, "expires_in");
  if (d.device_code.empty() || d.user_code.empty() ||
      d.verification_uri.empty() || !expires || *expires <= 0)
    return InvalidArgumentError("device authorization answer is incomplete");
  d.expires_in = std::chrono::seconds(std::min<int64_t>(*expires, 3600));
  if (std::optional<int64_t> i = IntField(doc, "interval"); i && *i > 0)
    d.interval = std::chrono::seconds(std::min<int64_t>(*i, 60));
  return d;
}

StatusOr<DeviceAuthorization> StartDeviceAuthorization(
    const LoginSettings& settings, const OidcEndpoints& endpoints) {
  if (endpoints.device_authorization_endpoint.empty())
    return FailedPreconditionError(
        "the identity provider offers no device authorization endpoint; "
        "use `jit login` without --device");
  JIT_ASSIGN_OR_RETURN(UrlParts parts,
                       SplitUrl(endpoints.device_authorization_endpoint));
  JIT_ASSIGN_OR_RETURN(HttpClient client, ClientFor(settings, parts.origin));
  JIT_ASSIGN_OR_RETURN(
      ClientResponse r,
      client.Do("POST", parts.target, "",
                FormEncode({{"client_id", settings.client_id},
                            {"scope", settings.scope},
                            {"resource", settings.resource}}),
                {{"content-type", "application/x-www-form-urlencoded"}}));
  return ParseDeviceAuthorization(r.status, r.body);
}

StatusOr<TokenSet> PollDeviceToken(const LoginSettings& settings,
                                   const OidcEndpoints& endpoints,
                                   const DeviceAuthorization& device,
                                   const CliEnv& env) {
  const MonoTime deadline = env.clock.MonotonicNow() + device.expires_in;
  std::chrono::seconds interval = device.interval;
  // Bounded by the deadline; the count bound guards a clock that stands.
  const int64_t max_polls = device.expires_in.count() + 1;
  for (int64_t i = 0; i < max_polls; ++i) {
    env.sleep(interval);
    if (env.clock.MonotonicNow() > deadline) break;
    StatusOr<TokenSet> tokens = PostTokenRequest(
        settings, endpoints.token_endpoint,
        {{"grant_type", "urn:ietf:params:oauth:grant-type:device_code"},
         {"device_code", device.device_code},
         {"client_id", settings.client_id}},
        env.clock.Now());
    if (tokens.ok()) return tokens;
    const std::string& reason = tokens.status().reason();
    if (reason == "authorization_pending") continue;
    if (reason == "slow_down") {
      interval += std::chrono::seconds(5);
      continue;
    }
    return tokens.status();
  }
  return DeadlineExceededError(
      "the device code expired before the login was confirmed");
}

// ---- login file ----

std::filesystem::path LoginFilePath(const std::string& home_dir) {
  return std::filesystem::path(home_dir) / ".config" / "jit" / "login.json";
}

namespace {

Json LoginToJson(const StoredLogin& login) {
  Json doc = {{"issuer", login.settings.issuer},
              {"client_id", login.settings.client_id},
              {"ca_file", login.settings.ca_file},
              {"scope", login.settings.scope},
              {"resource", login.settings.resource},
              {"token_endpoint", login.token_endpoint},
              {"access_token", login.tokens.access_token},
              {"refresh_token", login.tokens.refresh_token}};
  if (login.tokens.expires_at) {
    doc["expires_at"] = std::chrono::duration_cast<std::chrono::seconds>(
                            login.tokens.expires_at->time_since_epoch())
                            .count();
  }
  return doc;
}

StatusOr<StoredLogin> LoginFromJson(const Json& doc) {
  StoredLogin login;
  login.settings.issuer = StringField(doc, "issuer");
  login.settings.client_id = StringField(doc, "client_id");
  login.settings.ca_file = StringField(doc, "ca_file");
  login.settings.scope = StringField(doc, "scope");
  login.settings.resource = StringField(doc, "resource");
  login.token_endpoint = StringField(doc, "token_endpoint");
  login.tokens.access_token = StringField(doc, "access_token");
  login.tokens.refresh_token = StringField(doc, "refresh_token");
  if (std::optional<int64_t> at = IntField(doc, "expires_at"))
    login.tokens.expires_at = SystemTime(std::chrono::seconds(*at));
  if (login.tokens.access_token.empty())
    return InvalidArgumentError("no access_token");
  return login;
}

}  // namespace

Status SaveLogin(const std::filesystem::path& path, const StoredLogin& login) {
  std::error_code ec;
  const std::filesystem::path dir = path.parent_path();
  if (!std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec)
      return UnavailableError("cannot create " + dir.string() + ": " +
                              ec.message());
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  }
  return WriteFileAtomically(
      path, LoginToJson(login).dump(),
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

StatusOr<std::optional<StoredLogin>> LoadLogin(
    const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::optional<StoredLogin>();
  if ((st.st_mode & 077) != 0) {
    return PermissionDeniedError(
        path.string() +
            " may be read by others; run `jit logout` and `jit login` again",
        "login_file_mode");
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  StatusOr<Json> doc = ParseJsonObject(text.str(), path.string());
  if (!doc.ok()) return doc.status();
  StatusOr<StoredLogin> login = LoginFromJson(*doc);
  if (!login.ok())
    return InvalidArgumentError(path.string() + ": " +
                                login.status().message());
  return std::optional<StoredLogin>(std::move(*login));
}

StatusOr<std::optional<std::string>> LoginAccessToken(const CliEnv& env) {
  if (env.home_dir.empty()) return std::optional<std::string>();
  const std::filesystem::path path = LoginFilePath(env.home_dir);
  JIT_ASSIGN_OR_RETURN(std::optional<StoredLogin> login, LoadLogin(path));
  if (!login) return std::optional<std::string>();
  const SystemTime now = env.clock.Now();
  // Refreshed a little early, so the token does not expire in flight.
  const bool expired =
      login->tokens.expires_at &&
      *login->tokens.expires_at <= now + std::chrono::seconds(10);
  if (!expired) return std::optional<std::string>(login->tokens.access_token);
  if (login->tokens.refresh_token.empty())
    return UnauthenticatedError("login expired; run `jit login` again");
  StatusOr<TokenSet> fresh =
      PostTokenRequest(login->settings, login->token_endpoint,
                       {{"grant_type", "refresh_token"},
                        {"refresh_token", login->tokens.refresh_token},
                        {"client_id", login->settings.client_id},
                        {"resource", login->settings.resource}},
                       now);
  if (!fresh.ok())
    return UnauthenticatedError("login expired and could not be refreshed (" +
                                fresh.status().message() +
                                "); run `jit login` again");
  // Refresh token rotation: keep the old one only if no new one came.
  if (fresh->refresh_token.empty())
    fresh->refresh_token = login->tokens.refresh_token;
  login->tokens = std::move(*fresh);
  JIT_RETURN_IF_ERROR(SaveLogin(path, *login));
  return std::optional<std::string>(login->tokens.access_token);
}

}  // namespace jit
