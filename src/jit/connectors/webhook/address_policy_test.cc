#include "jit/connectors/webhook/address_policy.h"

#include <string>

#include "gtest/gtest.h"
#include "jit/connectors/webhook/webhook_signature.h"
#include "jit/connectors/webhook/webhook_url.h"

namespace jit {
namespace {

AddressClass Classify(const std::string& text) {
  return ClassifyAddress(boost::asio::ip::make_address(text));
}

TEST(AddressPolicyTest, MetadataLinkLocalAndUnroutableAreForbidden) {
  for (const char* a :
       {"169.254.169.254", "169.254.0.1", "0.0.0.0", "0.1.2.3", "224.0.0.1",
        "239.255.255.250", "255.255.255.255", "240.0.0.1", "fe80::1", "febf::1",
        "fd00:ec2::254", "::", "ff02::1",
        // IPv6 spellings of forbidden IPv4 addresses.
        "::ffff:169.254.169.254", "::ffff:0.0.0.0", "::169.254.169.254",
        "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1"}) {
    EXPECT_EQ(Classify(a), AddressClass::kForbidden) << a;
  }
}

TEST(AddressPolicyTest, LoopbackAndPrivateRangesArePrivate) {
  for (const char* a :
       {"127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.0.1", "172.31.255.255",
        "192.168.1.1", "100.100.100.200", "::1", "fd12:3456::1", "fc00::1",
        "::ffff:127.0.0.1", "::ffff:10.1.2.3"}) {
    EXPECT_EQ(Classify(a), AddressClass::kPrivate) << a;
  }
}

TEST(AddressPolicyTest, PublicAddressesArePublic) {
  for (const char* a :
       {"93.184.216.34", "172.32.0.1", "172.15.255.255", "169.253.255.255",
        "2606:4700::1111", "::ffff:93.184.216.34"}) {
    EXPECT_EQ(Classify(a), AddressClass::kPublic) << a;
  }
}

TEST(AddressPolicyTest, CheckAllowsPrivateOnlyWhenAsked) {
  auto loopback = boost::asio::ip::make_address("127.0.0.1");
  EXPECT_EQ(CheckAddress(loopback, PrivateAddresses::kRefuse).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_TRUE(CheckAddress(loopback, PrivateAddresses::kAllow).ok());
  auto metadata = boost::asio::ip::make_address("169.254.169.254");
  EXPECT_EQ(CheckAddress(metadata, PrivateAddresses::kAllow).code(),
            StatusCode::kFailedPrecondition);
}

TEST(WebhookUrlTest, SplitsHostPortAndTarget) {
  StatusOr<WebhookUrl> u = ParseWebhookUrl("https://IdP-Bridge.example/jitd");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->scheme, UrlScheme::kHttps);
  EXPECT_EQ(u->host, "idp-bridge.example");
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->target, "/jitd");
  EXPECT_FALSE(u->literal.has_value());

  u = ParseWebhookUrl("http://[::1]:8080?x=1");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "8080");
  EXPECT_EQ(u->target, "/?x=1");
  ASSERT_TRUE(u->literal.has_value());
  EXPECT_EQ(HostAndPort(*u), "[::1]:8080");
}

TEST(WebhookUrlTest, RefusesAmbiguousOrUnsafeForms) {
  for (const char* bad :
       {"ftp://example.com/", "https://user:pw@example.com/",
        "https://example.com/#frag", "https://exa mple.com/",
        "https://2130706433/", "https://127.1/", "https://[fe80::1%eth0]/",
        "https://example.com:0/", "https://example.com:99999/", "https:///x",
        "https://[::1/"}) {
    EXPECT_EQ(ParseWebhookUrl(bad).status().code(),
              StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(WebhookSignatureTest, HmacMatchesRfc4231TestCase2) {
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(WebhookSignatureTest, SignsTimestampDotBody) {
  EXPECT_EQ(WebhookSignature("k", "1700000000", "{}"),
            "v1=" + HmacSha256Hex("k", "1700000000.{}"));
  EXPECT_NE(WebhookSignature("k", "1700000000", "{}"),
            WebhookSignature("k", "1700000001", "{}"));
}

}  // namespace
}  // namespace jit
