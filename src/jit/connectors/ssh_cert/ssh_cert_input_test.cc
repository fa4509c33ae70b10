#include "jit/connectors/ssh_cert/ssh_cert_input.h"

#include <chrono>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jit/connectors/ssh_cert/ssh_keygen.h"

namespace jit {
namespace {

using ::testing::Contains;
using ::testing::Not;

constexpr char kEd25519[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN2ABAZHyxeIEikE0aHMndrdauS7Ay4C1km+"
    "FLHS/n8j";

GrantSpec SpecWith(std::map<std::string, std::string> params) {
  GrantSpec g;
  g.grant_id = "grt_1";
  g.subject = "alice";
  g.entitlement = "web-ssh";
  g.params_json = std::move(params);
  return g;
}

TEST(SshCertInputTest, PublicKeyKeepsTypeAndDataDropsComment) {
  StatusOr<std::string> k =
      NormalizeUserPublicKey(std::string(kEd25519) + " alice@laptop\n");
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(*k, std::string(kEd25519) + "\n");
}

TEST(SshCertInputTest, PublicKeyRefusesHostileOrWrongShapes) {
  const std::string key = kEd25519;
  for (const std::string& bad : {
           std::string(""), std::string("garbage"),
           key + "\n" + key,              // two lines
           key + "\nssh-rsa AAAA",        // injected line
           "command=\"/bin/sh\" " + key,  // options prefix
           "no-pty," + key,               //
           std::string("ssh-ed25519-cert-v01@openssh.com AAAAHHNzaC1l"),
           std::string("ssh-ed25519"),                // no data
           std::string("ssh-ed25519 not*base64"),     //
           key + " comment\twith tab",                // control char
           key + std::string(1, '\0'),                //
           "ssh-ed25519 " + std::string(20000, 'A'),  // too large
       }) {
    StatusOr<std::string> k = NormalizeUserPublicKey(bad);
    EXPECT_EQ(k.status().code(), StatusCode::kInvalidArgument)
        << "accepted: " << bad.substr(0, 80);
  }
}

TEST(SshCertInputTest, PrincipalMustBeOneSafeName) {
  EXPECT_TRUE(ValidatePrincipal("deploy").ok());
  EXPECT_TRUE(ValidatePrincipal("alice_adm@corp.example").ok());
  for (const char* bad :
       {"", "a,b", "a b", "-oops", "root\n", "a\"b", "x/../y", "name;rm"}) {
    EXPECT_EQ(ValidatePrincipal(bad).code(), StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(SshCertInputTest, SourceAddressIsAddressListOnly) {
  EXPECT_TRUE(ValidateSourceAddress("127.0.0.1").ok());
  EXPECT_TRUE(ValidateSourceAddress("10.0.0.0/8,::1/128").ok());
  for (const char* bad :
       {"", "127.0.0.1 ", "a.b.c.d", "10.0.0.1,,10.0.0.2", ",10.0.0.1",
        "10.0.0.1\n", "10.0.0.1,permit-pty", "any", "10.0.0.0/33", "::1/129",
        "10.0.0.1/", "10.0.0.1/+8"}) {
    EXPECT_EQ(ValidateSourceAddress(bad).code(), StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(SshCertInputTest, KeyIdIsPlainGrantId) {
  EXPECT_TRUE(ValidateKeyId("grt_0123abcd").ok());
  for (const char* bad : {"", "grt 1", "grt\nid: other", "-x", "a,b"}) {
    EXPECT_EQ(ValidateKeyId(bad).code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(SshCertInputTest, PolicyExpandsSubjectAndDefaultsToNoForwarding) {
  StatusOr<CertificatePolicy> p =
      ReadCertificatePolicy(SpecWith({{"principal", "\"{subject}_adm\""}}), "");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->principal, "alice_adm");
  EXPECT_FALSE(p->permit_port_forwarding);
  EXPECT_FALSE(p->permit_agent_forwarding);
  EXPECT_FALSE(p->permit_x11_forwarding);
  EXPECT_EQ(p->source_address, "");
}

TEST(SshCertInputTest, PolicyReadsForwardingAndSourceAddress) {
  StatusOr<CertificatePolicy> p =
      ReadCertificatePolicy(SpecWith({{"principal", "\"deploy\""},
                                      {"allow_port_forwarding", "true"},
                                      {"allow_agent_forwarding", "false"},
                                      {"allow_x11_forwarding", "true"}}),
                            "192.0.2.7");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->permit_port_forwarding);
  EXPECT_FALSE(p->permit_agent_forwarding);
  EXPECT_TRUE(p->permit_x11_forwarding);
  EXPECT_EQ(p->source_address, "192.0.2.7");
}

TEST(SshCertInputTest, EntitlementSourceAddressWinsOverRequested) {
  StatusOr<CertificatePolicy> p =
      ReadCertificatePolicy(SpecWith({{"principal", "\"deploy\""},
                                      {"source_address", "\"10.0.0.0/8\""}}),
                            "192.0.2.7");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->source_address, "10.0.0.0/8");
}

TEST(SshCertInputTest, PolicyRefusesBadParams) {
  for (const auto& params : std::vector<std::map<std::string, std::string>>{
           {},                                     // no principal
           {{"principal", "\"a,b\""}},             // two principals
           {{"principal", "\"a b\""}},             //
           {{"principal", "\"{subject},root\""}},  //
           {{"principal", "\"{nope}\""}},          // unknown placeholder
           {{"principal", "7"}},                   // not a string
           {{"principal", "\"deploy\""}, {"allow_port_forwarding", "\"yes\""}},
           {{"principal", "\"deploy\""}, {"source_address", "\"any\""}},
       }) {
    EXPECT_EQ(ReadCertificatePolicy(SpecWith(params), "").status().code(),
              StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(ReadCertificatePolicy(SpecWith({{"principal", "\"deploy\""}}),
                                  "10.0.0.1 -O permit-pty")
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(SshKeygenArgvTest, TimesAreUtcWithExplicitZ) {
  // 2026-11-23T19:00:00.999Z: cut down to the second, never rounded up.
  SystemTime t = SystemTime(std::chrono::seconds(1795460400)) +
                 std::chrono::milliseconds(999);
  EXPECT_EQ(SshKeygenTime(t), "20261123190000Z");
}

TEST(SshKeygenArgvTest, ClearsExtensionsAndAddsOnlyWhatIsAllowed) {
  CertificateRequest req;
  req.key_id = "grt_1";
  req.principal = "deploy";
  req.serial = 9;
  std::vector<std::string> argv = SignArgv("/ca", req, "/k.pub");
  EXPECT_THAT(argv, Contains("clear"));
  EXPECT_THAT(argv, Contains("permit-pty"));
  EXPECT_THAT(argv, Not(Contains("permit-port-forwarding")));
  EXPECT_THAT(argv, Not(Contains("permit-agent-forwarding")));
  EXPECT_THAT(argv, Not(Contains("permit-X11-forwarding")));
  EXPECT_EQ(argv.back(), "/k.pub");
}

}  // namespace
}  // namespace jit
