#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "jit/storage/store.h"

namespace jit {

// Makes a fresh, empty store; each test calls it once.
using StoreFactory = std::unique_ptr<Store> (*)();

// The behaviour every Store backend must have (DESIGN "one contract test
// suite runs against every Store"). A backend's test file instantiates it:
//   INSTANTIATE_TEST_SUITE_P(Memory, StoreContractTest,
//                            testing::Values(&MakeMemoryStore));
class StoreContractTest : public testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    store_ = GetParam()();
    ASSERT_NE(store_, nullptr);
  }
  Store& store() { return *store_; }

 private:
  std::unique_ptr<Store> store_;
};

}  // namespace jit
