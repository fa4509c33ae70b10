#include "jit/audit/verifier.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "jit/audit/event.h"
#include "jit/base/duration.h"

namespace jit {
namespace {

constexpr SystemTime kT0{std::chrono::milliseconds(1'800'000'000'000)};

// A well-formed chain of `n` events with seq 1..n, as a store writes it.
std::vector<AuditEvent> MakeChain(int n) {
  std::vector<AuditEvent> chain;
  std::string prev(kGenesisHash);
  for (int i = 1; i <= n; ++i) {
    AuditEvent e;
    e.seq = i;
    e.time = kT0 + std::chrono::seconds(i);
    e.type = i % 2 ? AuditType::kRequestCreated : AuditType::kGrantActivated;
    e.actor = "actor-" + std::to_string(i);
    e.subject = "alice";
    e.request_id = "req_" + std::to_string(i);
    e.grant_id = i % 2 ? "" : "grt_" + std::to_string(i);
    e.data = R"({"n":)" + std::to_string(i) + "}";
    e.prev_hash = prev;
    e.hash = ComputeEventHash(e);
    prev = e.hash;
    chain.push_back(e);
  }
  return chain;
}

VerifyResult VerifyChain(const std::vector<AuditEvent>& events,
                         ChainVerifier verifier = ChainVerifier()) {
  for (const AuditEvent& e : events) verifier.Add(e);
  return verifier.Result();
}

// One way to edit an event, named for the failure message.
struct Edit {
  const char* field;
  std::function<void(AuditEvent&)> apply;
};

std::vector<Edit> EveryFieldEdit() {
  return {
      {"time", [](AuditEvent& e) { e.time += std::chrono::milliseconds(1); }},
      {"type", [](AuditEvent& e) { e.type = AuditType::kRequestDenied; }},
      {"actor", [](AuditEvent& e) { e.actor = "mallory"; }},
      {"subject", [](AuditEvent& e) { e.subject = "mallory"; }},
      {"request_id", [](AuditEvent& e) { e.request_id = "req_other"; }},
      {"grant_id", [](AuditEvent& e) { e.grant_id = "grt_other"; }},
      {"data", [](AuditEvent& e) { e.data = R"({"n":0})"; }},
      {"seq", [](AuditEvent& e) { e.seq += 100; }},
      {"prev_hash", [](AuditEvent& e) { e.prev_hash[0] ^= 1; }},
      {"hash", [](AuditEvent& e) { e.hash[0] ^= 1; }},
  };
}

TEST(ChainVerifierTest, GoodChainVerifies) {
  std::vector<AuditEvent> chain = MakeChain(5);
  VerifyResult result = VerifyChain(chain);
  EXPECT_TRUE(result.ok) << result.reason;
  EXPECT_EQ(result.events, 5);
  EXPECT_EQ(result.head, chain.back().hash);
  EXPECT_FALSE(result.first_bad_seq.has_value());
}

TEST(ChainVerifierTest, EmptyChainIsOkAtGenesis) {
  VerifyResult result = VerifyChain({});
  EXPECT_TRUE(result.ok);
  EXPECT_EQ(result.events, 0);
  EXPECT_EQ(result.head, kGenesisHash);
}

TEST(ChainVerifierTest, EditOfAnyFieldNamesTheEditedEvent) {
  for (const Edit& edit : EveryFieldEdit()) {
    std::vector<AuditEvent> chain = MakeChain(5);
    edit.apply(chain[2]);
    VerifyResult result = VerifyChain(chain);
    EXPECT_FALSE(result.ok) << edit.field;
    EXPECT_EQ(result.first_bad_seq, 3) << edit.field;
    EXPECT_EQ(result.events, 2) << edit.field;
    EXPECT_EQ(result.head, chain[1].hash) << edit.field;
    EXPECT_FALSE(result.reason.empty()) << edit.field;
  }
}

TEST(ChainVerifierTest, EditWithRecomputedHashBreaksTheNextLink) {
  std::vector<AuditEvent> chain = MakeChain(5);
  chain[2].actor = "mallory";
  chain[2].hash = ComputeEventHash(chain[2]);
  EXPECT_EQ(VerifyChain(chain).first_bad_seq, 4);
}

TEST(ChainVerifierTest, DeletedEventIsNamed) {
  std::vector<AuditEvent> chain = MakeChain(5);
  chain.erase(chain.begin() + 2);
  VerifyResult result = VerifyChain(chain);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_seq, 3);
}

TEST(ChainVerifierTest, DeletedFirstEventIsNamed) {
  std::vector<AuditEvent> chain = MakeChain(3);
  chain.erase(chain.begin());
  EXPECT_EQ(VerifyChain(chain).first_bad_seq, 1);
}

TEST(ChainVerifierTest, ReorderedEventsAreNamed) {
  std::vector<AuditEvent> chain = MakeChain(5);
  std::swap(chain[1], chain[2]);
  VerifyResult result = VerifyChain(chain);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_seq, 2);
}

TEST(ChainVerifierTest, RenumberedReorderIsNamed) {
  // Swapped and given each other's seq: the links give it away.
  std::vector<AuditEvent> chain = MakeChain(5);
  std::swap(chain[1], chain[2]);
  std::swap(chain[1].seq, chain[2].seq);
  EXPECT_EQ(VerifyChain(chain).first_bad_seq, 2);
}

TEST(ChainVerifierTest, TruncatedPrevHashIsNamed) {
  std::vector<AuditEvent> chain = MakeChain(5);
  chain[3].prev_hash.pop_back();
  VerifyResult result = VerifyChain(chain);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_seq, 4);
}

TEST(ChainVerifierTest, EmptyPrevHashOnFirstEventIsNamed) {
  std::vector<AuditEvent> chain = MakeChain(2);
  chain[0].prev_hash.clear();
  EXPECT_EQ(VerifyChain(chain).first_bad_seq, 1);
}

TEST(ChainVerifierTest, SliceVerifiesFromItsCheckpoint) {
  std::vector<AuditEvent> chain = MakeChain(6);
  std::vector<AuditEvent> slice(chain.begin() + 3, chain.end());
  VerifyResult result = VerifyChain(slice, ChainVerifier(chain[2].hash, 4));
  EXPECT_TRUE(result.ok) << result.reason;
  EXPECT_EQ(result.events, 3);
  EXPECT_EQ(result.head, chain.back().hash);
}

TEST(ChainVerifierTest, SliceFromTheWrongCheckpointFails) {
  std::vector<AuditEvent> chain = MakeChain(6);
  std::vector<AuditEvent> slice(chain.begin() + 3, chain.end());
  EXPECT_EQ(VerifyChain(slice, ChainVerifier(chain[1].hash, 4)).first_bad_seq,
            4);
  EXPECT_EQ(VerifyChain(slice, ChainVerifier(chain[2].hash, 3)).first_bad_seq,
            3);
}

TEST(ChainVerifierTest, EventsAfterTheFirstBreakAreNotJudged) {
  std::vector<AuditEvent> chain = MakeChain(5);
  chain[1].data = "{}";
  ChainVerifier verifier;
  EXPECT_TRUE(verifier.Add(chain[0]));
  EXPECT_FALSE(verifier.Add(chain[1]));
  EXPECT_FALSE(verifier.Add(chain[2]));  // fine on its own, but after a break
  VerifyResult result = verifier.Result();
  EXPECT_EQ(result.first_bad_seq, 2);
  EXPECT_EQ(result.events, 1);
}

// ---- ComputeEventHash ---------------------------------------------------

std::string Sha256Hex(const std::string& text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md.data(), &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[md[i] >> 4]);
    hex.push_back(kHex[md[i] & 0xf]);
  }
  return hex;
}

// Offline verifiers reimplement the hash; its input format must not drift.
TEST(ComputeEventHashTest, HashesTheDocumentedCanonicalForm) {
  AuditEvent e;
  e.seq = 7;
  e.time = kT0;
  e.type = AuditType::kGrantRevoked;
  e.actor = "bob";
  e.subject = "alice";
  e.request_id = "req_1";
  e.grant_id = "grt_1";
  e.data = R"({"reason":"done"})";
  e.prev_hash = std::string(kGenesisHash);
  std::string canonical =
      "64:" + std::string(kGenesisHash) + "|1:7|24:" + FormatTime(kT0) +
      "|13:grant.revoked|3:bob|5:alice|5:req_1|5:grt_1|17:" + e.data + "|";
  EXPECT_EQ(ComputeEventHash(e), Sha256Hex(canonical));
}

TEST(ComputeEventHashTest, IsLowerCaseHexSha256AndIgnoresTheHashField) {
  AuditEvent e = MakeChain(1)[0];
  std::string hash = ComputeEventHash(e);
  EXPECT_EQ(hash.size(), 64u);
  EXPECT_EQ(hash.find_first_not_of("0123456789abcdef"), std::string::npos);
  e.hash = "anything";
  EXPECT_EQ(ComputeEventHash(e), hash);
}

TEST(ComputeEventHashTest, EveryFieldChangesTheHash) {
  const AuditEvent original = MakeChain(2)[1];
  for (const Edit& edit : EveryFieldEdit()) {
    if (std::string(edit.field) == "hash") continue;
    AuditEvent edited = original;
    edit.apply(edited);
    EXPECT_NE(ComputeEventHash(edited), ComputeEventHash(original))
        << edit.field;
  }
}

TEST(ComputeEventHashTest, MovingTextAcrossFieldsChangesTheHash) {
  AuditEvent a = MakeChain(1)[0];
  AuditEvent b = a;
  a.actor = "ab";
  a.subject = "c";
  b.actor = "a";
  b.subject = "bc";
  EXPECT_NE(ComputeEventHash(a), ComputeEventHash(b));
  // A separator inside a value cannot fake a field boundary either.
  a.actor = "x|1:y";
  a.subject = "";
  b.actor = "x";
  b.subject = "y";
  EXPECT_NE(ComputeEventHash(a), ComputeEventHash(b));
}

// ---- AuditType text -----------------------------------------------------

TEST(AuditTypeTest, EveryTypeRoundTripsThroughText) {
  const AuditType kAll[] = {
      AuditType::kRequestCreated,    AuditType::kRequestRejected,
      AuditType::kRequestApproved,   AuditType::kRequestDenied,
      AuditType::kRequestCancelled,  AuditType::kRequestTimedOut,
      AuditType::kGrantActivated,    AuditType::kGrantExtended,
      AuditType::kGrantRevoked,      AuditType::kGrantExpired,
      AuditType::kGrantRevokeFailed, AuditType::kGrantSessionsKilled,
      AuditType::kEmergencyUsed,     AuditType::kPolicyLoaded,
      AuditType::kDriftFound,        AuditType::kGrantCredentialIssued,
      AuditType::kGrantActivity,     AuditType::kAuditCheckpoint,
      AuditType::kAuditVerifyFailed,
  };
  std::vector<std::string> names;
  for (AuditType t : kAll) {
    StatusOr<AuditType> parsed = ParseAuditType(ToString(t));
    ASSERT_TRUE(parsed.ok()) << ToString(t);
    EXPECT_EQ(*parsed, t);
    names.emplace_back(ToString(t));
  }
  EXPECT_EQ(names[0], "request.created");
  EXPECT_EQ(names[11], "grant.sessions_killed");
  EXPECT_EQ(names[14], "drift.found");
  EXPECT_EQ(names[17], "audit.checkpoint");
  EXPECT_EQ(names[18], "audit.verify_failed");
}

TEST(AuditTypeTest, UnknownTypeIsInvalidArgument) {
  for (const char* text : {"", "request", "REQUEST.CREATED", "unknown"}) {
    EXPECT_EQ(ParseAuditType(text).status().code(),
              StatusCode::kInvalidArgument)
        << text;
  }
}

}  // namespace
}  // namespace jit
