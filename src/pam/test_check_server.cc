#include "pam/test_check_server.h"

#include <stdlib.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <thread>

namespace jit::pam::testing {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Local = net::local::stream_protocol;

}  // namespace

struct TestCheckServer::Impl {
  net::io_context io;
  Local::acceptor acceptor{io};
  std::thread thread;
  mutable std::mutex mu;
  Behaviour behaviour = Behaviour::kAllow;  // guarded by mu
  std::vector<Seen> seen;                   // guarded by mu
  // Connections left open on purpose (kNeverAnswer); io thread only.
  std::vector<std::shared_ptr<Local::socket>> held;

  void Accept() {
    acceptor.async_accept([this](beast::error_code ec, Local::socket s) {
      if (ec) return;  // acceptor closed: shutting down
      Serve(std::make_shared<Local::socket>(std::move(s)));
      Accept();
    });
  }

  void Serve(std::shared_ptr<Local::socket> socket) {
    auto buffer = std::make_shared<beast::flat_buffer>();
    auto request = std::make_shared<http::request<http::string_body>>();
    http::async_read(
        *socket, *buffer, *request,
        [this, socket, buffer, request](beast::error_code ec, size_t) {
          if (!ec) Answer(socket, *request);
        });
  }

  void Answer(const std::shared_ptr<Local::socket>& socket,
              const http::request<http::string_body>& request) {
    Behaviour b;
    {
      std::lock_guard lock(mu);
      b = behaviour;
      nlohmann::json body = nlohmann::json::parse(request.body(), nullptr,
                                                  /*allow_exceptions=*/false);
      seen.push_back({std::string(request.method_string()) + " " +
                          std::string(request.target()),
                      body.is_discarded() ? nlohmann::json() : body});
    }
    if (b == Behaviour::kNeverAnswer) {
      held.push_back(socket);
      return;
    }
    auto response = std::make_shared<http::response<http::string_body>>(
        b == Behaviour::kServerError ? http::status::internal_server_error
                                     : http::status::ok,
        11);
    response->set(http::field::content_type, "application/json");
    response->body() = Body(b);
    response->prepare_payload();
    http::async_write(*socket, *response,
                      [socket, response](beast::error_code, size_t) {
                        beast::error_code ignored;  // peer may be gone
                        socket->shutdown(Local::socket::shutdown_both, ignored);
                      });
  }

  static std::string Body(Behaviour b) {
    switch (b) {
      case Behaviour::kAllow:
        return R"({"allowed": true, "grant_id": "grt_test",)"
               R"( "expires_at": "2030-01-01T00:00:00.000Z"})";
      case Behaviour::kDeny:
        return R"({"allowed": false})";
      case Behaviour::kGarbage:
        return "allowed: true <html>";
      case Behaviour::kAllowedText:
        return R"({"allowed": "true"})";
      case Behaviour::kServerError:
        return R"({"allowed": true})";
      case Behaviour::kNeverAnswer:
        break;
    }
    return "";
  }
};

TestCheckServer::TestCheckServer(const std::string& socket_path)
    : impl_(std::make_unique<Impl>()) {
  Local::endpoint endpoint(socket_path);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  impl_->Accept();
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

TestCheckServer::~TestCheckServer() {
  impl_->io.stop();
  impl_->thread.join();
}

void TestCheckServer::SetBehaviour(Behaviour b) {
  std::lock_guard lock(impl_->mu);
  impl_->behaviour = b;
}

std::vector<TestCheckServer::Seen> TestCheckServer::Requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->seen;
}

ScratchDir::ScratchDir() {
  std::string tmpl = "/tmp/jit_pam_XXXXXX";
  if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;  // a leftover temp dir harms nothing
  if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
}

}  // namespace jit::pam::testing
