#pragma once

#include <boost/asio/ip/address.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "jit/base/status.h"

namespace jit {

enum class UrlScheme { kHttp, kHttps };

// One configured receiver URL, split. Immutable value.
struct WebhookUrl {
  UrlScheme scheme = UrlScheme::kHttps;
  std::string host;    // lower case, without IPv6 brackets
  std::string port;    // digits; 443 or 80 when the URL names none
  std::string target;  // path (and query) starting with '/'
  // Set when `host` is an IP literal; then it is checked at config time.
  std::optional<boost::asio::ip::address> literal;
  std::string text;  // the URL as configured, for messages
};

// Parses "https://host[:port][/path[?query]]" (also http, and [v6] hosts).
// Refuses user info, fragments, spaces and control characters, IPv6 zone
// ids, and hosts made only of digits and dots that are not a dotted-quad
// IPv4 address (resolvers read "2130706433" or "127.1" as addresses).
// kInvalidArgument naming the URL.
StatusOr<WebhookUrl> ParseWebhookUrl(std::string_view text);

// "host:port" for messages and "Host:" headers, IPv6 in brackets.
std::string HostAndPort(const WebhookUrl& url);

}  // namespace jit
