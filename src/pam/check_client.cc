#include "pam/check_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <exception>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace jit::pam {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Json = nlohmann::json;
using Local = net::local::stream_protocol;

constexpr size_t kMaxAnswerBody = 64 * 1024;
constexpr char kTarget[] = "/v1/check/target";

CheckOutcome Denied(std::string reason) {
  CheckOutcome out;
  out.verdict = Verdict::kDenied;
  out.reason = std::move(reason);
  return out;
}

// One request/answer over a fresh connection, driven by run_for() on this
// thread so the whole exchange shares one time budget.
class Exchange {
 public:
  explicit Exchange(const CheckQuery& q) : query_(q) {
    parser_.body_limit(kMaxAnswerBody);
  }

  // The answer, or why there is none.
  std::optional<std::string> Run(std::string body) {
    request_ = {http::verb::post, kTarget, 11};
    request_.set(http::field::host, "localhost");
    request_.set(http::field::user_agent, "pam_jit");
    request_.set(http::field::content_type, "application/json");
    request_.keep_alive(false);
    request_.body() = std::move(body);
    request_.prepare_payload();
    socket_.async_connect(Local::endpoint(query_.socket_path),
                          [this](beast::error_code ec) { OnConnect(ec); });
    io_.run_for(query_.timeout);
    if (!done_) {
      failure_ =
          "no answer within " + std::to_string(query_.timeout.count()) + " ms";
    }
    beast::error_code ignored;  // closing a socket that may not be open
    socket_.close(ignored);
    return failure_;
  }

  const http::response<http::string_body>& response() const {
    return parser_.get();
  }

 private:
  void Fail(const std::string& what, beast::error_code ec) {
    done_ = true;
    failure_ = what + ": " + ec.message();
  }
  void OnConnect(beast::error_code ec) {
    if (ec) return Fail("cannot connect to " + query_.socket_path, ec);
    http::async_write(socket_, request_,
                      [this](beast::error_code ec, size_t) { OnWrite(ec); });
  }
  void OnWrite(beast::error_code ec) {
    if (ec) return Fail("sending the check failed", ec);
    http::async_read(socket_, buffer_, parser_,
                     [this](beast::error_code ec, size_t) { OnRead(ec); });
  }
  void OnRead(beast::error_code ec) {
    if (ec) return Fail("reading the answer failed", ec);
    done_ = true;
  }

  const CheckQuery& query_;
  net::io_context io_;
  Local::socket socket_{io_};
  http::request<http::string_body> request_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
  bool done_ = false;
  std::optional<std::string> failure_;
};

CheckOutcome Interpret(const http::response<http::string_body>& res) {
  if (res.result_int() != 200) {
    return Denied("jitd answered HTTP " + std::to_string(res.result_int()));
  }
  Json body = Json::parse(res.body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return Denied("jitd's answer is not a JSON object");
  }
  auto allowed = body.find("allowed");
  if (allowed == body.end() || !allowed->is_boolean()) {
    return Denied("jitd's answer has no boolean \"allowed\"");
  }
  if (!allowed->get<bool>()) return Denied("no active grant");
  CheckOutcome out;
  out.verdict = Verdict::kAllowed;
  out.reason = "allowed";
  auto grant = body.find("grant_id");
  if (grant != body.end() && grant->is_string()) out.grant_id = *grant;
  auto expires = body.find("expires_at");
  if (expires != body.end() && expires->is_string()) out.expires_at = *expires;
  return out;
}

CheckOutcome Ask(const CheckQuery& query) {
  // Strict UTF-8: a name that is not would throw here rather than be
  // silently changed into another user's.
  std::string body =
      Json{{"connector", query.connector}, {"target_user", query.target_user}}
          .dump();
  Exchange exchange(query);
  std::optional<std::string> failure = exchange.Run(std::move(body));
  if (failure) return Denied(*std::move(failure));
  return Interpret(exchange.response());
}

}  // namespace

CheckOutcome AskJitd(const CheckQuery& query) noexcept {
  // Every failure, expected or not, ends in a denial: nothing may escape
  // into the PAM caller, and an error must never read as "allowed".
  try {
    return Ask(query);
  } catch (const std::exception& e) {
    try {
      return Denied(std::string("check failed: ") + e.what());
    } catch (...) {
      return CheckOutcome{};  // denied; an empty reason allocates nothing
    }
  } catch (...) {
    return CheckOutcome{};
  }
}

}  // namespace jit::pam
