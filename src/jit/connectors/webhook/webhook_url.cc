#include "jit/connectors/webhook/webhook_url.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "jit/base/status_macros.h"

namespace jit {
namespace {

namespace ip = boost::asio::ip;

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i])
      return false;
  }
  return true;
}

bool IsHostnameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
}

bool IsIpv6Char(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
}

bool HasSpaceOrControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](unsigned char c) { return c <= ' ' || c == 0x7f; });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return out;
}

Status BadUrl(std::string_view text, std::string_view why) {
  return InvalidArgumentError(fmt::format("bad URL \"{}\": {}", text, why));
}

Status ParsePort(std::string_view port, std::string_view text) {
  bool digits = !port.empty() && port.size() <= 5 &&
                std::all_of(port.begin(), port.end(),
                            [](unsigned char c) { return std::isdigit(c); });
  if (!digits) return BadUrl(text, "port must be a number");
  int value = std::stoi(std::string(port));
  if (value < 1 || value > 65535) return BadUrl(text, "port out of range");
  return OkStatus();
}

// Fills host, port and literal from "host[:port]" or "[v6][:port]".
Status ParseAuthority(std::string_view authority, std::string_view text,
                      WebhookUrl& url) {
  std::string_view host = authority;
  std::optional<std::string_view> port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return BadUrl(text, "unclosed '['");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':')
      return BadUrl(text, "junk after ']'");
    if (!after.empty()) port = after.substr(1);
    boost::system::error_code ec;
    ip::address_v6 v6 = ip::make_address_v6(std::string(host), ec);
    if (host.empty() || !std::all_of(host.begin(), host.end(), IsIpv6Char) ||
        ec) {
      return BadUrl(text, "bad IPv6 address");
    }
    url.literal = ip::address(v6);
  } else {
    size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), IsHostnameChar))
      return BadUrl(text, "bad host name");
    boost::system::error_code ec;
    ip::address_v4 v4 = ip::make_address_v4(std::string(host), ec);
    if (!ec) {
      url.literal = ip::address(v4);
    } else if (host.find_first_not_of("0123456789.") ==
               std::string_view::npos) {
      return BadUrl(text, "numeric host that is not a dotted-quad address");
    }
  }
  if (port) JIT_RETURN_IF_ERROR(ParsePort(*port, text));
  url.host = Lower(host);
  if (port) {
    url.port = std::string(*port);
  } else {
    url.port = url.scheme == UrlScheme::kHttps ? "443" : "80";
  }
  return OkStatus();
}

}  // namespace

StatusOr<WebhookUrl> ParseWebhookUrl(std::string_view text) {
  WebhookUrl url;
  url.text = std::string(text);
  std::string_view rest;
  if (StartsWithNoCase(text, "https://")) {
    url.scheme = UrlScheme::kHttps;
    rest = text.substr(8);
  } else if (StartsWithNoCase(text, "http://")) {
    url.scheme = UrlScheme::kHttp;
    rest = text.substr(7);
  } else {
    return BadUrl(text, "must start with https://");
  }
  if (HasSpaceOrControl(rest)) return BadUrl(text, "spaces or control chars");
  if (rest.find('#') != std::string_view::npos)
    return BadUrl(text, "fragments are not allowed");
  size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  if (authority.find('@') != std::string_view::npos)
    return BadUrl(text, "user info is not allowed");
  JIT_RETURN_IF_ERROR(ParseAuthority(authority, text, url));
  url.target =
      slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (url.target.front() == '?') url.target.insert(0, "/");
  return url;
}

std::string HostAndPort(const WebhookUrl& url) {
  std::string host =
      url.literal && url.literal->is_v6() ? "[" + url.host + "]" : url.host;
  return host + ":" + url.port;
}

}  // namespace jit
