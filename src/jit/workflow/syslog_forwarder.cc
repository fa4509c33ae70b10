#include "jit/workflow/syslog_forwarder.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "jit/audit/export_formats.h"
#include "jit/base/files.h"
#include "jit/base/status_macros.h"

namespace jit {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
using boost::system::error_code;
using net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using Done = std::function<void(const error_code&)>;

std::string LocalHostName() {
  std::array<char, 256> name{};
  if (gethostname(name.data(), name.size() - 1) != 0) return "";
  return name.data();
}

bool IsAddressLiteral(const std::string& host) {
  error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

StatusOr<int64_t> LoadState(const std::string& path) {
  std::error_code exists_ec;
  if (path.empty() || !std::filesystem::exists(path, exists_ec)) return 0;
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return UnavailableError("cannot read " + path);
  nlohmann::json j =
      nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  auto seq = j.is_object() ? j.find("forwarded_through") : j.end();
  if (!j.is_object() || seq == j.end() || !seq->is_number_integer() ||
      seq->get<int64_t>() < 0) {
    return InvalidArgumentError(
        path +
        ": not a syslog forwarder state file ({\"forwarded_through\": "
        "SEQ})");
  }
  return seq->get<int64_t>();
}

}  // namespace

// One connection to the collector, driven on the forwarder's thread with
// its own io_context. A read is kept pending on every open connection:
// collectors never send, so its completion (end of stream, reset, stray
// bytes) means the collector is gone, and the next batch reconnects
// instead of being written into a dead socket. TLS records the read meets
// on the way (session tickets) are consumed by the TLS layer.
class SyslogForwarder::Link {
 public:
  Link(const SyslogOptions& options, std::unique_ptr<ssl::context> tls)
      : options_(options), tls_context_(std::move(tls)) {}
  ~Link() { Close(); }

  bool Alive() {
    if (!plain_ && !tls_) return false;
    if (io_.stopped()) io_.restart();
    io_.poll();
    return !*dead_;
  }

  Status Connect() {
    Close();
    const SteadyClock::time_point deadline =
        SteadyClock::now() + options_.io_timeout;
    const std::string where =
        options_.host + ":" + std::to_string(options_.port);
    tcp::resolver resolver(io_);
    auto found = std::make_shared<tcp::resolver::results_type>();
    error_code ec = Await(
        [&](Done done) {
          resolver.async_resolve(options_.host, std::to_string(options_.port),
                                 [found, done](const error_code& e,
                                               tcp::resolver::results_type r) {
                                   *found = std::move(r);
                                   done(e);
                                 });
        },
        deadline);
    if (ec) {
      resolver.cancel();
      Close();
      return UnavailableError("cannot resolve " + where + ": " + ec.message());
    }
    if (tls_context_) {
      tls_ = std::make_unique<ssl::stream<tcp::socket>>(io_, *tls_context_);
    } else {
      plain_ = std::make_unique<tcp::socket>(io_);
    }
    ec = Await(
        [&](Done done) {
          net::async_connect(
              Lowest(), *found,
              [done](const error_code& e, const tcp::endpoint&) { done(e); });
        },
        deadline);
    if (ec) {
      Close();
      return UnavailableError("cannot connect to " + where + ": " +
                              ec.message());
    }
    if (tls_) JIT_RETURN_IF_ERROR(Handshake(where, deadline));
    dead_ = std::make_shared<bool>(false);
    Watch();
    return OkStatus();
  }

  // Writes all of `bytes`; on any failure the connection is closed.
  Status Send(std::string bytes) {
    pending_ = std::move(bytes);
    const SteadyClock::time_point deadline =
        SteadyClock::now() + options_.io_timeout;
    error_code ec = Await(
        [&](Done done) {
          auto on_written = [done](const error_code& e, size_t) { done(e); };
          if (tls_) {
            net::async_write(*tls_, net::buffer(pending_), on_written);
          } else {
            net::async_write(*plain_, net::buffer(pending_), on_written);
          }
        },
        deadline);
    if (ec) {
      Close();
      return UnavailableError("write to " + options_.host + ":" +
                              std::to_string(options_.port) +
                              " failed: " + ec.message());
    }
    return OkStatus();
  }

  // Closes the socket and runs the cancelled operations' handlers, so
  // nothing they use is released under them.
  void Close() {
    error_code ignored;
    if (plain_) plain_->close(ignored);
    if (tls_) tls_->lowest_layer().close(ignored);
    io_.restart();
    io_.run();
    plain_.reset();
    tls_.reset();
    *dead_ = true;
  }

 private:
  tcp::socket& Lowest() { return tls_ ? tls_->next_layer() : *plain_; }

  Status Handshake(const std::string& where, SteadyClock::time_point deadline) {
    // SNI carries names only (RFC 6066), never address literals.
    if (!IsAddressLiteral(options_.host) &&
        SSL_set_tlsext_host_name(tls_->native_handle(),
                                 options_.host.c_str()) != 1) {
      Close();
      return UnavailableError("cannot set TLS server name for " + where);
    }
    tls_->set_verify_mode(ssl::verify_peer);
    tls_->set_verify_callback(ssl::host_name_verification(options_.host));
    error_code ec = Await(
        [&](Done done) {
          tls_->async_handshake(ssl::stream_base::client,
                                [done](const error_code& e) { done(e); });
        },
        deadline);
    if (ec) {
      Close();
      return UnavailableError("TLS handshake with " + where +
                              " failed: " + ec.message());
    }
    return OkStatus();
  }

  void Watch() {
    auto on_read = [dead = dead_](const error_code&, size_t) { *dead = true; };
    if (tls_) {
      tls_->async_read_some(net::buffer(read_buffer_), on_read);
    } else {
      plain_->async_read_some(net::buffer(read_buffer_), on_read);
    }
  }

  // Starts one operation and runs the io_context until it completes or
  // `deadline` passes (net::error::timed_out; the operation is then still
  // pending and the caller closes the connection).
  error_code Await(const std::function<void(Done)>& start,
                   SteadyClock::time_point deadline) {
    auto result = std::make_shared<std::optional<error_code>>();
    start([result](const error_code& ec) { *result = ec; });
    while (!result->has_value()) {
      if (io_.stopped()) io_.restart();
      if (SteadyClock::now() >= deadline) return net::error::timed_out;
      io_.run_one_until(deadline);
    }
    return **result;
  }

  const SyslogOptions& options_;
  const std::unique_ptr<ssl::context> tls_context_;
  net::io_context io_;
  std::unique_ptr<tcp::socket> plain_;
  std::unique_ptr<ssl::stream<tcp::socket>> tls_;
  std::shared_ptr<bool> dead_ = std::make_shared<bool>(true);
  std::array<char, 512> read_buffer_{};
  std::string pending_;  // the bytes being written
};

StatusOr<std::unique_ptr<SyslogForwarder>> SyslogForwarder::Create(
    Store& store, AuditFeed& feed, SyslogOptions options,
    std::string state_path) {
  if (options.host.empty() || options.port == 0)
    return InvalidArgumentError("syslog collector address missing");
  std::unique_ptr<ssl::context> tls;
  if (!options.ca_file.empty()) {
    tls = std::make_unique<ssl::context>(ssl::context::tls_client);
    tls->set_options(ssl::context::default_workarounds |
                     ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    error_code ec;
    tls->load_verify_file(options.ca_file, ec);
    if (ec) {
      return InvalidArgumentError("cannot load CA certificates from " +
                                  options.ca_file + ": " + ec.message());
    }
  }
  StatusOr<int64_t> forwarded = LoadState(state_path);
  if (!forwarded.ok()) return forwarded.status();
  if (options.hostname.empty()) options.hostname = LocalHostName();
  std::unique_ptr<SyslogForwarder> f(new SyslogForwarder(
      store, feed, std::move(options), std::move(state_path), *forwarded));
  // The link keeps a reference to the forwarder's own copy of the options.
  f->link_ = std::make_unique<Link>(f->options_, std::move(tls));
  return f;
}

SyslogForwarder::SyslogForwarder(Store& store, AuditFeed& feed,
                                 SyslogOptions options, std::string state_path,
                                 int64_t forwarded)
    : store_(store),
      feed_(feed),
      options_(std::move(options)),
      state_path_(std::move(state_path)),
      forwarded_(forwarded) {}

SyslogForwarder::~SyslogForwarder() { Stop(); }

void SyslogForwarder::Start() {
  std::lock_guard start_lock(start_mu_);
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void SyslogForwarder::Stop() {
  std::lock_guard start_lock(start_mu_);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string SyslogForwarder::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

bool SyslogForwarder::Stopping() {
  std::lock_guard lock(mu_);
  return stopping_;
}

void SyslogForwarder::SetError(const std::string& error) {
  std::lock_guard lock(mu_);
  last_error_ = error;
}

void SyslogForwarder::WaitFor(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  wake_.wait_for(lock, d, [this] { return stopping_; });
}

// Until an event beyond the last forwarded one is published, or a second
// passes (events committed around the feed are found by the next read).
// In slices, so Stop() is seen soon.
void SyslogForwarder::WaitForEvents() {
  constexpr std::chrono::milliseconds kSlice(100);
  const SteadyClock::time_point until =
      SteadyClock::now() + std::chrono::seconds(1);
  while (!Stopping() && SteadyClock::now() < until) {
    const SteadyClock::time_point started = SteadyClock::now();
    if (feed_.WaitBeyond(forwarded_.load(), kSlice) > forwarded_.load()) return;
    // A shut-down feed answers at once: wait here instead of spinning.
    if (SteadyClock::now() - started < kSlice / 2) WaitFor(kSlice);
  }
}

bool SyslogForwarder::ForwardBatch(std::string& error) {
  StatusOr<std::vector<AuditEvent>> events =
      store_.ReadAudit(forwarded_.load(), options_.batch);
  if (!events.ok()) {
    error = "reading the audit log: " + events.status().ToString();
    return false;
  }
  if (events->empty()) return false;
  if (!link_->Alive()) {
    if (Status s = link_->Connect(); !s.ok()) {
      ++failed_attempts_;
      error = s.message();
      return false;
    }
    spdlog::info("syslog: connected to {}:{}{}", options_.host, options_.port,
                 options_.ca_file.empty() ? "" : " (TLS)");
  }
  std::string frames;
  for (const AuditEvent& e : *events) {
    const std::string message =
        SyslogMessage(e, options_.facility, options_.hostname);
    frames += std::to_string(message.size()) + " " + message;  // RFC 6587
  }
  if (Status s = link_->Send(std::move(frames)); !s.ok()) {
    error = s.message();
    return false;
  }
  const int64_t last = events->back().seq;
  forwarded_.store(last);
  if (Status s = SaveState(last); !s.ok())
    spdlog::error("syslog: {} (a restart would send again)", s.ToString());
  SetError("");
  return true;
}

void SyslogForwarder::Run() {
  std::chrono::milliseconds backoff = options_.min_backoff;
  std::string logged;  // logged once per new kind of failure, not per retry
  while (!Stopping()) {
    std::string error;
    if (ForwardBatch(error)) {
      backoff = options_.min_backoff;
      logged.clear();
      continue;
    }
    if (error.empty()) {
      WaitForEvents();
      continue;
    }
    if (error != logged) spdlog::warn("syslog: {} (will retry)", error);
    logged = error;
    SetError(error);
    WaitFor(backoff);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
  link_->Close();
}

Status SyslogForwarder::SaveState(int64_t seq) {
  if (state_path_.empty()) return OkStatus();
  using std::filesystem::perms;
  return WriteFileAtomically(
      state_path_, nlohmann::json{{"forwarded_through", seq}}.dump() + "\n",
      perms::owner_read | perms::owner_write);
}

}  // namespace jit
