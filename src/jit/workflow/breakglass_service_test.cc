#include "jit/workflow/breakglass_service.h"

#include <gtest/gtest.h>

#include <latch>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "jit/base/sha256.h"
#include "jit/workflow/test_rig.h"

namespace jit {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::minutes;

class BreakglassServiceTest : public testing::Test {
 protected:
  // Issues `count` codes as erin (admin); the first one's text.
  std::vector<std::string> Issue(int count,
                                 std::vector<std::string> groups = {}) {
    StatusOr<IssuedCodes> issued = service_.Issue(
        rig_.P("erin"), {count, hours(24), std::move(groups), "safe B"});
    EXPECT_TRUE(IsOk(issued));
    return issued.ok() ? issued->codes : std::vector<std::string>{};
  }

  BreakglassInput Input(const std::string& code, const std::string& subject,
                        const std::string& entitlement = "break-glass",
                        Duration duration = minutes(15)) {
    BreakglassInput in;
    in.code = code;
    in.subject = subject;
    in.request.entitlement = entitlement;
    in.request.duration = duration;
    in.request.justification = std::string(kGoodReason);
    in.request.emergency = Emergency::kYes;
    return in;
  }

  std::vector<std::string> Types() {
    std::vector<std::string> out;
    for (const AuditEvent& e : rig_.Audit()) {
      out.emplace_back(ToString(e.type));
    }
    return out;
  }

  TestRig rig_;
  BreakglassService service_{rig_.deps, rig_.lifecycle};
};

TEST_F(BreakglassServiceTest, CodesAreShownOnceAndStoredOnlyAsHashes) {
  StatusOr<IssuedCodes> issued =
      service_.Issue(rig_.P("erin"), {3, hours(24), {}, "envelope 1"});
  ASSERT_TRUE(IsOk(issued));
  ASSERT_EQ(issued->codes.size(), 3u);
  std::set<std::string> distinct(issued->codes.begin(), issued->codes.end());
  EXPECT_EQ(distinct.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const std::string& code = issued->codes[i];
    EXPECT_EQ(code.size(), 23u) << code;  // XXXXX-XXXXX-XXXXX-XXXXX
    StatusOr<Credential> stored = rig_.store.GetCredential(
        CredentialKind::kBreakglassCode, issued->credentials[i].id);
    ASSERT_TRUE(IsOk(stored));
    EXPECT_EQ(stored->secret_sha256,
              Sha256Hex(BreakglassService::NormalizeCode(code)));
    EXPECT_EQ(stored->note, "envelope 1");
    EXPECT_EQ(*stored->expires_at, stored->created_at + hours(24));
  }
  std::vector<AuditEvent> audit = rig_.Audit();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].type, AuditType::kBreakglassIssued);
  EXPECT_EQ(audit[0].actor, "erin");
  EXPECT_EQ(json::parse(audit[0].data)["count"], 3);
  for (const std::string& code : issued->codes) {
    EXPECT_EQ(audit[0].data.find(code.substr(0, 5) + "-" + code.substr(6, 5)),
              std::string::npos);
  }
}

TEST_F(BreakglassServiceTest, OnlyAdminsIssueAndRevokeAndOnlyReadersList) {
  EXPECT_TRUE(HasError(service_.Issue(rig_.P("alice"), {1, hours(24), {}, ""}),
                       StatusCode::kPermissionDenied, "forbidden"));
  EXPECT_TRUE(HasError(service_.Issue(rig_.P("olga"), {1, hours(24), {}, ""}),
                       StatusCode::kPermissionDenied, "forbidden"));
  Issue(1);
  EXPECT_TRUE(
      HasError(service_.List(rig_.P("alice")), StatusCode::kPermissionDenied));
  StatusOr<std::vector<CodeView>> listed = service_.List(rig_.P("olga"));
  ASSERT_TRUE(IsOk(listed));
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].state, CodeState::kUnused);
  EXPECT_TRUE(
      HasError(service_.Revoke(rig_.P("olga"), (*listed)[0].credential.id),
               StatusCode::kPermissionDenied));
}

TEST_F(BreakglassServiceTest, BadIssueInputIsRefusedAndChangesNothing) {
  Principal erin = rig_.P("erin");
  EXPECT_TRUE(HasError(service_.Issue(erin, {0, hours(24), {}, ""}),
                       StatusCode::kInvalidArgument));
  EXPECT_TRUE(HasError(service_.Issue(erin, {101, hours(24), {}, ""}),
                       StatusCode::kInvalidArgument));
  EXPECT_TRUE(HasError(service_.Issue(erin, {1, minutes(59), {}, ""}),
                       StatusCode::kInvalidArgument));
  EXPECT_TRUE(HasError(service_.Issue(erin, {1, hours(24 * 731), {}, ""}),
                       StatusCode::kInvalidArgument));
  EXPECT_TRUE(HasError(service_.Issue(erin, {1, hours(24), {""}, ""}),
                       StatusCode::kInvalidArgument));
  EXPECT_TRUE(rig_.Audit().empty());
}

TEST_F(BreakglassServiceTest, TypedCodesAreNormalized) {
  std::string code = Issue(1)[0];
  std::string normal = BreakglassService::NormalizeCode(code);
  ASSERT_EQ(normal.size(), 20u);
  std::string typed;
  for (char c : code) {
    if (c == '-') continue;
    typed += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (typed.size() % 4 == 0) typed += ' ';
  }
  EXPECT_EQ(BreakglassService::NormalizeCode(typed), normal);
  EXPECT_EQ(BreakglassService::NormalizeCode("O1IL0-00000-00000-00000"),
            "01110000000000000000");
  EXPECT_EQ(BreakglassService::NormalizeCode("short"), "");
  EXPECT_EQ(BreakglassService::NormalizeCode(normal + "0"), "");
  EXPECT_EQ(BreakglassService::NormalizeCode("UUUUU-00000-00000-00000"), "");
  EXPECT_EQ(BreakglassService::NormalizeCode(std::string(1000, '0')), "");
}

TEST_F(BreakglassServiceTest, ACodeActivatesAtOnceWithoutApproval) {
  std::string code = Issue(2)[0];
  StatusOr<RequestView> v = service_.Activate(Input(code, "alice"));
  ASSERT_TRUE(IsOk(v));
  EXPECT_EQ(v->request.state, RequestState::kActive);
  EXPECT_EQ(v->request.emergency, Emergency::kYes);
  EXPECT_EQ(v->request.approvals_required, 0);
  EXPECT_EQ(v->request.subject, "alice");
  EXPECT_TRUE(rig_.Allowed("alice", "break-glass"));
  Grant g = rig_.StoredGrant(v->request.grant_id);
  EXPECT_EQ(g.expires_at - g.starts_at, minutes(15));

  EXPECT_EQ(rig_.TypesOf(v->request.id),
            (std::vector<std::string>{"request.created", "emergency.used",
                                      "request.approved", "grant.activated"}));
  std::vector<AuditEvent> events = rig_.EventsOf(v->request.id);
  json used = json::parse(events[1].data);
  EXPECT_EQ(used["breakglass"], true);
  EXPECT_EQ(used["notify"], json::array({"sec-oncall"}));
  EXPECT_TRUE(used["code_id"].get<std::string>().starts_with("bgc_"));

  StatusOr<EmergencyReview> review = rig_.store.GetReview(v->request.id);
  ASSERT_TRUE(IsOk(review));
  EXPECT_EQ(review->state, ReviewState::kOpen);
  EXPECT_EQ(review->subject, "alice");
  EXPECT_EQ(review->code_id, used["code_id"]);

  StatusOr<std::vector<CodeView>> listed = service_.List(rig_.P("erin"));
  ASSERT_TRUE(IsOk(listed));
  int used_count = 0;
  for (const CodeView& c : *listed) {
    if (c.state == CodeState::kUsed) {
      ++used_count;
      EXPECT_EQ(c.used_for, v->request.id);
      EXPECT_EQ(c.credential.ended_by, "alice");
    }
  }
  EXPECT_EQ(used_count, 1);
  EXPECT_TRUE(rig_.VerifyAudit().ok);
}

TEST_F(BreakglassServiceTest, TheDurationIsCappedByTheEmergencyMaximum) {
  std::string code = Issue(1)[0];
  EXPECT_TRUE(HasError(
      service_.Activate(Input(code, "alice", "break-glass", minutes(16))),
      StatusCode::kFailedPrecondition, "policy_denied"));
  // Refused: the code is still good.
  EXPECT_TRUE(IsOk(service_.Activate(Input(code, "alice"))));
}

TEST_F(BreakglassServiceTest, ACodeWorksOnce) {
  std::string code = Issue(1)[0];
  ASSERT_TRUE(IsOk(service_.Activate(Input(code, "alice"))));
  const size_t events = rig_.Audit().size();
  EXPECT_TRUE(HasError(service_.Activate(Input(code, "alice")),
                       StatusCode::kUnauthenticated));
  EXPECT_TRUE(HasError(service_.Activate(Input(code, "alice-alt")),
                       StatusCode::kUnauthenticated));
  EXPECT_EQ(rig_.Audit().size(), events);
}

TEST_F(BreakglassServiceTest, WrongExpiredAndRevokedCodesAreRefused) {
  std::vector<std::string> codes = Issue(2);
  EXPECT_TRUE(
      HasError(service_.Activate(Input("00000-00000-00000-00000", "alice")),
               StatusCode::kUnauthenticated));
  EXPECT_TRUE(HasError(service_.Activate(Input("not a code", "alice")),
                       StatusCode::kUnauthenticated));
  StatusOr<std::vector<CodeView>> listed = service_.List(rig_.P("erin"));
  ASSERT_TRUE(IsOk(listed));
  // Which listed code is codes[0]: the one whose hash matches.
  std::string first_id;
  for (const CodeView& c : *listed) {
    if (c.credential.secret_sha256 ==
        Sha256Hex(BreakglassService::NormalizeCode(codes[0]))) {
      first_id = c.credential.id;
    }
  }
  ASSERT_FALSE(first_id.empty());
  ASSERT_TRUE(IsOk(service_.Revoke(rig_.P("erin"), first_id)));
  EXPECT_TRUE(HasError(service_.Revoke(rig_.P("erin"), first_id),
                       StatusCode::kAborted));
  EXPECT_TRUE(HasError(service_.Activate(Input(codes[0], "alice")),
                       StatusCode::kUnauthenticated));
  rig_.clock.Advance(hours(24));
  EXPECT_TRUE(HasError(service_.Activate(Input(codes[1], "alice")),
                       StatusCode::kUnauthenticated));
  listed = service_.List(rig_.P("erin"));
  ASSERT_TRUE(IsOk(listed));
  std::multiset<std::string> states;
  for (const CodeView& c : *listed) states.emplace(ToString(c.state));
  EXPECT_EQ(states, (std::multiset<std::string>{"expired", "revoked"}));
  EXPECT_FALSE(rig_.Allowed("alice", "break-glass"));
}

TEST_F(BreakglassServiceTest, PolicyStillDecidesAndARefusalKeepsTheCode) {
  std::string code = Issue(1)[0];
  // dev-shell's policy does not allow emergencies.
  EXPECT_TRUE(HasError(
      service_.Activate(Input(code, "alice", "dev-shell", minutes(10))),
      StatusCode::kFailedPrecondition, "policy_denied"));
  // mallory is in no group a break-glass policy names.
  EXPECT_TRUE(HasError(service_.Activate(Input(code, "mallory")),
                       StatusCode::kFailedPrecondition, "policy_denied"));
  // Unknown to jitd and the code vouches for no groups.
  EXPECT_TRUE(HasError(service_.Activate(Input(code, "stranger")),
                       StatusCode::kFailedPrecondition, "policy_denied"));
  for (const AuditEvent& e : rig_.Audit()) {
    if (e.type != AuditType::kRequestRejected) continue;
    EXPECT_EQ(json::parse(e.data)["breakglass"], true);
  }
  EXPECT_TRUE(IsOk(service_.Activate(Input(code, "alice"))));
}

TEST_F(BreakglassServiceTest, AnUnknownPersonCountsWithTheCodesGroups) {
  std::string code = Issue(1, {"dev"})[0];
  StatusOr<RequestView> v = service_.Activate(Input(code, "oncall-zoe"));
  ASSERT_TRUE(IsOk(v));
  EXPECT_EQ(v->request.state, RequestState::kActive);
  EXPECT_EQ(v->request.subject_groups, std::vector<std::string>{"dev"});
  EXPECT_TRUE(rig_.Allowed("oncall-zoe", "break-glass"));
}

TEST_F(BreakglassServiceTest, AKnownPersonKeepsTheirOwnGroups) {
  // The code vouches for dev, but mallory is known (no groups): jitd's
  // knowledge wins over the code's.
  std::string code = Issue(1, {"dev"})[0];
  EXPECT_TRUE(HasError(service_.Activate(Input(code, "mallory")),
                       StatusCode::kFailedPrecondition, "policy_denied"));
}

TEST_F(BreakglassServiceTest, BadActivationInputIsRefused) {
  std::string code = Issue(1)[0];
  EXPECT_TRUE(HasError(service_.Activate(Input(code, "")),
                       StatusCode::kInvalidArgument));
  EXPECT_TRUE(HasError(service_.Activate(Input(code, "a b")),
                       StatusCode::kInvalidArgument));
  EXPECT_TRUE(HasError(service_.Activate(Input(code, "alice", "")),
                       StatusCode::kInvalidArgument));
  EXPECT_TRUE(
      HasError(service_.Activate(Input(code, "alice", "break-glass", {})),
               StatusCode::kInvalidArgument));
  BreakglassInput later = Input(code, "alice");
  later.request.start_at = rig_.clock.Now() + hours(1);
  EXPECT_TRUE(HasError(service_.Activate(later), StatusCode::kInvalidArgument));
  EXPECT_EQ(rig_.Audit().size(), 1u);  // only breakglass.issued
}

TEST_F(BreakglassServiceTest, OfManyRacingUsesOfOneCodeExactlyOneWins) {
  constexpr int kThreads = 16;
  std::string code = Issue(1)[0];
  std::vector<StatusCode> results(kThreads, StatusCode::kInternal);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      BreakglassInput in = Input(code, "alice");
      start.arrive_and_wait();
      results[i] = service_.Activate(in).status().code();
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(std::count(results.begin(), results.end(), StatusCode::kOk), 1);
  EXPECT_EQ(
      std::count(results.begin(), results.end(), StatusCode::kUnauthenticated),
      kThreads - 1);
  StatusOr<std::vector<EmergencyReview>> reviews =
      service_.ListReviews(rig_.P("olga"), std::nullopt);
  ASSERT_TRUE(IsOk(reviews));
  EXPECT_EQ(reviews->size(), 1u);
  EXPECT_TRUE(rig_.VerifyAudit().ok);
}

TEST_F(BreakglassServiceTest, TheUserCannotSignOffTheirOwnReview) {
  StatusOr<RequestView> v = service_.Activate(Input(Issue(1)[0], "alice"));
  ASSERT_TRUE(IsOk(v));
  const std::string& id = v->request.id;
  // alice, and alice-alt (the same person), may not; neither may a
  // requester without a reader role.
  rig_.SetGroups("alice", {"dev", "audit"});
  EXPECT_TRUE(HasError(service_.SignOff(rig_.P("alice"), id, "looked fine"),
                       StatusCode::kPermissionDenied, "self_review"));
  rig_.SetGroups("alice-alt", {"sre", "audit"});
  EXPECT_TRUE(HasError(service_.SignOff(rig_.P("alice-alt"), id, "fine"),
                       StatusCode::kPermissionDenied, "self_review"));
  EXPECT_TRUE(HasError(service_.SignOff(rig_.P("bob"), id, "fine"),
                       StatusCode::kPermissionDenied, "forbidden"));
  EXPECT_TRUE(HasError(service_.SignOff(rig_.P("olga"), id, "  "),
                       StatusCode::kInvalidArgument));
  EXPECT_TRUE(HasError(service_.SignOff(rig_.P("olga"), "req_missing", "x"),
                       StatusCode::kNotFound));
  EXPECT_EQ(rig_.store.GetReview(id)->state, ReviewState::kOpen);

  StatusOr<EmergencyReview> done =
      service_.SignOff(rig_.P("olga"), id, "matched incident INC-7");
  ASSERT_TRUE(IsOk(done));
  EXPECT_EQ(done->state, ReviewState::kSignedOff);
  EXPECT_EQ(done->signed_off_by, "olga");
  EXPECT_TRUE(HasError(service_.SignOff(rig_.P("erin"), id, "again"),
                       StatusCode::kAborted));
  std::vector<AuditEvent> events = rig_.EventsOf(id);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().type, AuditType::kEmergencyReviewed);
  EXPECT_EQ(events.back().actor, "olga");
  EXPECT_EQ(json::parse(events.back().data)["comment"],
            "matched incident INC-7");

  StatusOr<std::vector<EmergencyReview>> open =
      service_.ListReviews(rig_.P("erin"), ReviewState::kOpen);
  ASSERT_TRUE(IsOk(open));
  EXPECT_TRUE(open->empty());
  EXPECT_TRUE(HasError(service_.ListReviews(rig_.P("bob"), std::nullopt),
                       StatusCode::kPermissionDenied));
}

TEST_F(BreakglassServiceTest, TheGrantStillExpiresOnTime) {
  StatusOr<RequestView> v = service_.Activate(Input(Issue(1)[0], "alice"));
  ASSERT_TRUE(IsOk(v));
  rig_.clock.Advance(minutes(15));
  rig_.RunDue();
  EXPECT_FALSE(rig_.Allowed("alice", "break-glass"));
  EXPECT_EQ(rig_.StoredRequest(v->request.id).state, RequestState::kExpired);
  // The review stays open after the grant ended.
  EXPECT_EQ(rig_.store.GetReview(v->request.id)->state, ReviewState::kOpen);
}

}  // namespace
}  // namespace jit
