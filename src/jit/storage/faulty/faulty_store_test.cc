#include "jit/storage/faulty/faulty_store.h"

#include <gtest/gtest.h>

#include <memory>

#include "jit/storage/memory/memory_store.h"
#include "jit/storage/store_contract_test.h"

namespace jit {
namespace {

// A FaultyStore over its own memory store, with no faults scheduled: it
// must pass the same contract as the store it wraps.
class FaultFreeStore final : public ForwardingStore {
 public:
  // The cast picks ForwardingStore(Store&), not its copy constructor.
  FaultFreeStore() : ForwardingStore(static_cast<Store&>(faulty_)) {}

 private:
  MemoryStore memory_;
  FaultyStore faulty_{memory_};
};

std::unique_ptr<Store> MakeFaultFreeStore() {
  return std::make_unique<FaultFreeStore>();
}

INSTANTIATE_TEST_SUITE_P(FaultyOverMemory, StoreContractTest,
                         testing::Values(&MakeFaultFreeStore));

ChangeSet NewRequest(const std::string& id) {
  Request r;
  r.id = id;
  r.subject = "alice";
  ChangeSet cs;
  cs.requests.push_back({r, std::nullopt});
  AuditEvent e;
  e.type = AuditType::kRequestCreated;
  e.actor = "alice";
  e.request_id = id;
  cs.events.push_back(e);
  return cs;
}

TEST(FaultyStoreTest, FailedCommitWritesNeitherRowNorEvent) {
  MemoryStore memory;
  FaultyStore store(memory);
  store.commits().Set({.every_nth = 2});
  ChangeSet first = NewRequest("req_1");
  ChangeSet second = NewRequest("req_2");
  ChangeSet third = NewRequest("req_3");
  ASSERT_TRUE(store.Commit(first).ok());
  EXPECT_EQ(store.Commit(second).code(), StatusCode::kUnavailable);
  ASSERT_TRUE(store.Commit(third).ok());
  EXPECT_EQ(memory.GetRequest("req_2").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(memory.GetRequest("req_3").ok());
  EXPECT_EQ(memory.GetAuditHead()->seq, 2);
  EXPECT_EQ(third.events[0].seq, 2);  // the chain has no hole
}

TEST(FaultyStoreTest, ApplyThenFailCommitsButReportsTheError) {
  MemoryStore memory;
  FaultyStore store(memory);
  store.commits().Set({.after = 0, .apply_then_fail = true});
  ChangeSet cs = NewRequest("req_1");
  EXPECT_EQ(store.Commit(cs).code(), StatusCode::kUnavailable);
  EXPECT_TRUE(memory.GetRequest("req_1").ok());
  EXPECT_EQ(memory.GetAuditHead()->seq, 1);
}

TEST(FaultyStoreTest, CommitEachFailsEachSetOnItsOwn) {
  MemoryStore memory;
  FaultyStore store(memory);
  store.commits().Set({.every_nth = 2});
  std::vector<ChangeSet> sets = {NewRequest("req_1"), NewRequest("req_2"),
                                 NewRequest("req_3")};
  std::vector<Status> results = store.CommitEach(sets);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].ok());
  EXPECT_EQ(results[1].code(), StatusCode::kUnavailable);
  EXPECT_TRUE(results[2].ok());
  EXPECT_EQ(sets[2].events[0].seq, 2);
  EXPECT_EQ(memory.GetRequest("req_2").status().code(), StatusCode::kNotFound);
}

TEST(FaultyStoreTest, ReadsFailOnTheirOwnSchedule) {
  MemoryStore memory;
  FaultyStore store(memory);
  ChangeSet cs = NewRequest("req_1");
  ASSERT_TRUE(store.Commit(cs).ok());
  store.reads().Set({.after = 0, .code = StatusCode::kDeadlineExceeded});
  EXPECT_EQ(store.GetRequest("req_1").status().code(),
            StatusCode::kDeadlineExceeded);
  EXPECT_EQ(store.GetAuditHead().status().code(),
            StatusCode::kDeadlineExceeded);
  ChangeSet more = NewRequest("req_2");
  EXPECT_TRUE(store.Commit(more).ok());  // commits unaffected
  store.reads().Clear();
  EXPECT_TRUE(store.GetRequest("req_2").ok());
}

}  // namespace
}  // namespace jit
