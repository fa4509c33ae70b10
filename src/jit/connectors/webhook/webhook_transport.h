#pragma once

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jit/base/status.h"
#include "jit/connectors/webhook/address_policy.h"
#include "jit/connectors/webhook/host_resolver.h"
#include "jit/connectors/webhook/webhook_url.h"

namespace jit {

// What a receiver answered. Bodies are capped (kMaxWebhookAnswerBytes).
struct WebhookAnswer {
  int status = 0;
  std::string body;
  std::string location;  // the Location header of a 3xx, for messages
};

inline constexpr size_t kMaxWebhookAnswerBytes = 64 * 1024;

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Sends one POST to one configured URL over a fresh connection, with the
// SSRF guard of THREATS T19: it resolves the host itself, checks every
// address it gets (CheckAddress) and connects only to those checked
// addresses, so a second DNS answer cannot slip in between check and
// connect. Plain http goes to loopback addresses only, whatever the policy.
// https verifies the peer against `ca_file` (or the system trust store) and
// the URL's host name (SNI set for names). Redirects are returned as
// answers, never followed. Names are looked up on the transport's own
// HostResolver, so a slow resolver holds a call no longer than its timeout.
// Thread-safe. Destruction waits for name lookups still running.
class WebhookTransport {
 public:
  // kInvalidArgument when `ca_file` (if not empty) cannot be loaded.
  // `lookup` resolves host names (tests pass their own).
  static StatusOr<std::unique_ptr<WebhookTransport>> Create(
      const std::string& ca_file, PrivateAddresses private_addresses,
      HostLookup lookup = &SystemHostLookup);

  // Any HTTP status is a success here. Errors, all before or instead of an
  // answer: kFailedPrecondition when an address of the host is refused, or
  // an http URL's host has an address that is not loopback (nothing was
  // connected to); kUnavailable when the host does not resolve (or too many
  // lookups are pending), the connection, TLS handshake (including a
  // certificate that does not verify) or exchange fails; kDeadlineExceeded
  // when `timeout` (bounding the whole call, name lookup included) ran out;
  // kResourceExhausted when the answer's head or body is over its cap.
  StatusOr<WebhookAnswer> Post(const WebhookUrl& url, const HeaderList& headers,
                               const std::string& body,
                               std::chrono::milliseconds timeout) const;

 private:
  WebhookTransport(std::unique_ptr<boost::asio::ssl::context> tls,
                   PrivateAddresses private_addresses, HostLookup lookup)
      : tls_(std::move(tls)),
        private_addresses_(private_addresses),
        resolver_(std::make_unique<HostResolver>(std::move(lookup))) {}

  const std::unique_ptr<boost::asio::ssl::context> tls_;
  const PrivateAddresses private_addresses_;
  const std::unique_ptr<HostResolver> resolver_;
};

}  // namespace jit
