#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

// The fuzz harness bodies. Each takes one input of any bytes, drives the code
// under test and checks properties of the result; a broken property aborts
// with a message on stderr (libFuzzer then keeps the input as a crash). The
// same functions run under libFuzzer (fuzz_main.cc, clang) and in the replay
// test over fuzz/corpus and fuzz/regressions (replay_test.cc, any compiler).
// Stateless; safe to call any number of times in one process.

namespace jit::fuzz {

// YAML text -> PolicySet::Load; a loaded set answers consistently.
void FuzzPolicyLoader(std::span<const uint8_t> data);
// Text -> ParseDuration/ParseTime; whatever parses formats back to itself.
void FuzzDuration(std::span<const uint8_t> data);
// An HTTP body -> JsonBody::Parse and the field reads of every route.
void FuzzJsonBody(std::span<const uint8_t> data);
// A generated audit chain with mutations -> ChainVerifier.
void FuzzAuditVerifier(std::span<const uint8_t> data);
// Grant fields -> the sudoers validators and RenderDropIn.
void FuzzSudoersDropIn(std::span<const uint8_t> data);

struct Harness {
  std::string_view name;  // also the folder under fuzz/corpus and regressions
  void (*run)(std::span<const uint8_t>);
};

inline constexpr Harness kHarnesses[] = {
    {"policy_loader", &FuzzPolicyLoader},
    {"duration", &FuzzDuration},
    {"json_body", &FuzzJsonBody},
    {"audit_verifier", &FuzzAuditVerifier},
    {"sudoers_dropin", &FuzzSudoersDropIn},
};

// Aborts with `what` when `condition` is false. Not assert(): it must hold in
// every build type, including the Release-like replay build.
void Check(bool condition, std::string_view what);

}  // namespace jit::fuzz
