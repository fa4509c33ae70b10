#include "jit/base/status.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jit/base/status_macros.h"

namespace jit {
namespace {

using ::testing::ElementsAre;

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_TRUE(OkStatus().ok());
}

TEST(StatusTest, ErrorCarriesCodeMessageReasonAndDetails) {
  Status s = FailedPreconditionError("policy refused", "policy_denied",
                                     {"too long", "no ticket"});
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "policy refused");
  EXPECT_EQ(s.reason(), "policy_denied");
  EXPECT_THAT(s.details(), ElementsAre("too long", "no ticket"));
  EXPECT_EQ(s.ToString(),
            "FAILED_PRECONDITION: policy refused; too long; no ticket");
}

struct HelperCase {
  Status status;
  StatusCode code;
  std::string reason;
};

TEST(StatusTest, EachHelperSetsItsCodeAndApiReason) {
  const std::vector<HelperCase> cases = {
      {InvalidArgumentError("m"), StatusCode::kInvalidArgument,
       "invalid_request"},
      {NotFoundError("m"), StatusCode::kNotFound, "not_found"},
      {AlreadyExistsError("m"), StatusCode::kAlreadyExists, "conflict"},
      {PermissionDeniedError("m"), StatusCode::kPermissionDenied, "forbidden"},
      {PermissionDeniedError("m", "self_approval"),
       StatusCode::kPermissionDenied, "self_approval"},
      {FailedPreconditionError("m"), StatusCode::kFailedPrecondition, ""},
      {AbortedError("m"), StatusCode::kAborted, "conflict"},
      {UnavailableError("m"), StatusCode::kUnavailable, "unavailable"},
      {UnauthenticatedError("m"), StatusCode::kUnauthenticated,
       "unauthenticated"},
      {ResourceExhaustedError("m"), StatusCode::kResourceExhausted,
       "too_large"},
      {DeadlineExceededError("m"), StatusCode::kDeadlineExceeded,
       "unavailable"},
      {InternalError("m"), StatusCode::kInternal, "internal"},
  };
  for (const HelperCase& c : cases) {
    EXPECT_EQ(c.status.code(), c.code) << c.status.ToString();
    EXPECT_EQ(c.status.reason(), c.reason) << c.status.ToString();
    EXPECT_EQ(c.status.message(), "m");
    EXPECT_FALSE(c.status.ok());
  }
}

TEST(StatusTest, EveryCodeHasADistinctName) {
  std::vector<std::string_view> names;
  for (int i = 0; i <= static_cast<int>(StatusCode::kInternal); ++i) {
    std::string_view name = StatusCodeName(static_cast<StatusCode>(i));
    EXPECT_NE(name, "UNKNOWN");
    for (std::string_view seen : names) EXPECT_NE(name, seen);
    names.push_back(name);
  }
  EXPECT_EQ(StatusCodeName(StatusCode::kDeadlineExceeded), "DEADLINE_EXCEEDED");
}

TEST(StatusTest, WithContextPrefixesMessageAndKeepsTheRest) {
  Status s = PermissionDeniedError("not yours", "self_approval")
                 .WithContext("approve req_1");
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "approve req_1: not yours");
  EXPECT_EQ(s.reason(), "self_approval");
}

TEST(StatusTest, WithContextLeavesOkAlone) {
  Status s = OkStatus().WithContext("ctx");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
}

TEST(StatusOrTest, HoldsValue) {
  StatusOr<std::string> v = std::string("hello");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v.status().ok());
  EXPECT_EQ(*v, "hello");
  EXPECT_EQ(v->size(), 5u);
  EXPECT_EQ(v.value(), "hello");
}

TEST(StatusOrTest, HoldsError) {
  StatusOr<int> v = NotFoundError("no such request");
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(v.status().message(), "no such request");
}

TEST(StatusOrTest, ConvertsFromConstructibleType) {
  StatusOr<std::string> v = "literal";
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, "literal");
}

TEST(StatusOrTest, MovesOutMoveOnlyValue) {
  StatusOr<std::unique_ptr<int>> v = std::make_unique<int>(7);
  ASSERT_TRUE(v.ok());
  std::unique_ptr<int> p = std::move(v).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

StatusOr<int> Half(int n) {
  if (n % 2 != 0) return InvalidArgumentError("odd");
  return n / 2;
}

StatusOr<int> Quarter(int n) {
  JIT_ASSIGN_OR_RETURN(int half, Half(n));
  JIT_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

Status CheckEven(int n, int* calls) {
  ++*calls;
  JIT_RETURN_IF_ERROR(Half(n).status());
  return OkStatus();
}

TEST(StatusMacrosTest, AssignOrReturnPassesValuesAndStopsAtFirstError) {
  StatusOr<int> ok = Quarter(8);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 2);
  StatusOr<int> bad = Quarter(6);  // 6 -> 3 -> odd
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST(StatusMacrosTest, ReturnIfErrorReturnsTheError) {
  int calls = 0;
  EXPECT_TRUE(CheckEven(4, &calls).ok());
  Status s = CheckEven(3, &calls);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "odd");
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace jit
