#include "jit/storage/memory/memory_store.h"

#include <gtest/gtest.h>

#include <memory>

#include "jit/storage/store_contract_test.h"
#include "jit/storage/store_util.h"

namespace jit {
namespace {

std::unique_ptr<Store> MakeMemoryStore() {
  return std::make_unique<MemoryStore>();
}

INSTANTIATE_TEST_SUITE_P(Memory, StoreContractTest,
                         testing::Values(&MakeMemoryStore));

Request PendingRequest() {
  Request r;
  r.id = "req_1";
  r.subject = "alice";
  return r;
}

AuditEvent Event(AuditType type) {
  AuditEvent e;
  e.type = type;
  e.actor = "bob";
  return e;
}

TEST(MemoryStoreTest, UnwritableAuditRefusesTheStateChange) {
  MemoryStore store;
  ChangeSet create;
  create.requests.push_back({PendingRequest(), std::nullopt});
  ASSERT_TRUE(store.Commit(create).ok());
  store.FailAuditWrites(true);

  Request approved = PendingRequest();
  approved.state = RequestState::kApproved;
  Status s = TransitionRequest(store, approved, RequestState::kPending,
                               Event(AuditType::kRequestApproved));
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.GetRequest("req_1")->state, RequestState::kPending);
  EXPECT_EQ(store.GetAuditHead()->seq, 0);
}

TEST(MemoryStoreTest, UnwritableAuditStillAllowsChangesWithoutEvents) {
  MemoryStore store;
  store.FailAuditWrites(true);
  ChangeSet create;
  create.requests.push_back({PendingRequest(), std::nullopt});
  EXPECT_TRUE(store.Commit(create).ok());
}

TEST(MemoryStoreTest, AuditWritesResumeWhenTheFaultClears) {
  MemoryStore store;
  store.FailAuditWrites(true);
  ChangeSet cs;
  cs.events.push_back(Event(AuditType::kPolicyLoaded));
  ASSERT_EQ(store.Commit(cs).code(), StatusCode::kUnavailable);
  EXPECT_EQ(cs.events[0].seq, 0);
  store.FailAuditWrites(false);
  ASSERT_TRUE(store.Commit(cs).ok());  // the same ChangeSet, retried
  EXPECT_EQ(cs.events[0].seq, 1);
  EXPECT_EQ(store.GetAuditHead()->seq, 1);
}

}  // namespace
}  // namespace jit
