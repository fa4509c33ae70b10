#pragma once

#include <boost/asio/ip/address.hpp>
#include <string>

#include "jit/base/status.h"

namespace jit {

// Where an address points, for the webhook connector's SSRF guard (THREATS
// T19). Pure functions; thread-safe.
enum class AddressClass {
  kPublic,     // anything not listed below
  kPrivate,    // loopback, RFC 1918, CGNAT 100.64/10, ULA fc00::/7
  kForbidden,  // link-local (cloud metadata), unspecified, multicast,
               // broadcast/reserved 240/4, fd00:ec2::254
};

// Classifies `a`. IPv6 forms that carry an IPv4 address (IPv4-mapped
// ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4
// 2002::/16) are classified by the IPv4 address they carry.
AddressClass ClassifyAddress(const boost::asio::ip::address& a);

enum class PrivateAddresses { kRefuse, kAllow };

// OK when a connection to `a` is allowed: kPublic always, kPrivate only
// with PrivateAddresses::kAllow, kForbidden never. Otherwise
// kFailedPrecondition naming the address and why.
Status CheckAddress(const boost::asio::ip::address& a,
                    PrivateAddresses private_addresses);

}  // namespace jit
