// libFuzzer entry point; JIT_FUZZ_HARNESS names the harness function.
#include <cstddef>
#include <cstdint>

#include "harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  jit::fuzz::JIT_FUZZ_HARNESS(std::span<const uint8_t>(data, size));
  return 0;
}
