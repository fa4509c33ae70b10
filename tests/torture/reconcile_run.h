#pragma once

#include <cstdint>
#include <string>

namespace jit::torture {

// Reconciliation at scale: seeds `n` grants straight into a fresh SQLite
// store (as jitd would have left them), first all expired while jitd was
// down, then (in a second store) all still active; starts the real jitd on
// each and times start to ready: ready means every expired grant was
// revoked (DESIGN invariant 4) and every active one re-asserted in the
// target and indexed. Checks afterwards that nothing stayed active or
// allowed. Prints the figures; returns 0 when no invariant broke.
int RunReconcileAtScale(int64_t n, const std::string& dir);

}  // namespace jit::torture
