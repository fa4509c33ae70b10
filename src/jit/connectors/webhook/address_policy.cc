#include "jit/connectors/webhook/address_policy.h"

#include <fmt/format.h>

#include <array>
#include <cstdint>

namespace jit {
namespace {

namespace ip = boost::asio::ip;

bool InV4Net(uint32_t a, uint32_t net, int prefix) {
  uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  return (a & mask) == net;
}

uint32_t V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d;
}

AddressClass ClassifyV4(const ip::address_v4& address) {
  const uint32_t a = address.to_uint();
  if (InV4Net(a, V4(0, 0, 0, 0), 8) ||       // "this network", 0.0.0.0
      InV4Net(a, V4(169, 254, 0, 0), 16) ||  // link-local, cloud metadata
      InV4Net(a, V4(224, 0, 0, 0), 4) ||     // multicast
      InV4Net(a, V4(240, 0, 0, 0), 4)) {     // reserved, broadcast
    return AddressClass::kForbidden;
  }
  if (InV4Net(a, V4(127, 0, 0, 0), 8) || InV4Net(a, V4(10, 0, 0, 0), 8) ||
      InV4Net(a, V4(172, 16, 0, 0), 12) || InV4Net(a, V4(192, 168, 0, 0), 16) ||
      // Carrier-grade NAT; also where some clouds put their metadata service.
      InV4Net(a, V4(100, 64, 0, 0), 10) || InV4Net(a, V4(192, 0, 0, 0), 24) ||
      InV4Net(a, V4(198, 18, 0, 0), 15)) {
    return AddressClass::kPrivate;
  }
  return AddressClass::kPublic;
}

using V6Bytes = ip::address_v6::bytes_type;

bool StartsWith(const V6Bytes& b, std::initializer_list<uint8_t> prefix) {
  size_t i = 0;
  for (uint8_t p : prefix) {
    if (b[i++] != p) return false;
  }
  return true;
}

bool AllZero(const V6Bytes& b, size_t from, size_t to) {
  for (size_t i = from; i < to; ++i) {
    if (b[i] != 0) return false;
  }
  return true;
}

ip::address_v4 V4At(const V6Bytes& b, size_t at) {
  return ip::address_v4(
      ip::address_v4::bytes_type{b[at], b[at + 1], b[at + 2], b[at + 3]});
}

AddressClass ClassifyV6(const ip::address_v6& address) {
  const V6Bytes b = address.to_bytes();
  if (address.is_unspecified()) return AddressClass::kForbidden;
  if (address.is_loopback()) return AddressClass::kPrivate;
  if (address.is_v4_mapped()) return ClassifyV4(V4At(b, 12));
  // IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks).
  if (AllZero(b, 0, 12)) return ClassifyV4(V4At(b, 12));
  // NAT64 well-known prefix 64:ff9b::/96.
  if (StartsWith(b, {0x00, 0x64, 0xff, 0x9b}) && AllZero(b, 4, 12)) {
    return ClassifyV4(V4At(b, 12));
  }
  if (StartsWith(b, {0x20, 0x02})) return ClassifyV4(V4At(b, 2));  // 6to4
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return AddressClass::kForbidden;
  if (b[0] == 0xff) return AddressClass::kForbidden;  // multicast
  // The AWS instance metadata service over IPv6, inside the ULA range.
  if (address == ip::make_address_v6("fd00:ec2::254")) {
    return AddressClass::kForbidden;
  }
  if ((b[0] & 0xfe) == 0xfc) return AddressClass::kPrivate;  // ULA
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) {
    return AddressClass::kPrivate;  // deprecated site-local fec0::/10
  }
  return AddressClass::kPublic;
}

}  // namespace

AddressClass ClassifyAddress(const ip::address& a) {
  if (a.is_v4()) return ClassifyV4(a.to_v4());
  return ClassifyV6(a.to_v6());
}

Status CheckAddress(const ip::address& a, PrivateAddresses private_addresses) {
  switch (ClassifyAddress(a)) {
    case AddressClass::kPublic:
      return OkStatus();
    case AddressClass::kPrivate:
      if (private_addresses == PrivateAddresses::kAllow) return OkStatus();
      return FailedPreconditionError(
          fmt::format("address {} is loopback or private (allowed only with "
                      "allow_private_addresses: true)",
                      a.to_string()));
    case AddressClass::kForbidden:
      break;
  }
  return FailedPreconditionError(fmt::format(
      "address {} is link-local, metadata, unspecified, multicast or "
      "reserved and is never contacted",
      a.to_string()));
}

}  // namespace jit
