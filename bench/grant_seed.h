#pragma once

// Fills a store with many active grants, as jitd itself would have left
// them: an active auto-approved request, its active grant and the
// grant.activated audit event, written through Store::Commit in batches.

#include <cstdint>
#include <string>

#include "jit/base/clock.h"
#include "jit/base/status.h"
#include "jit/storage/store.h"

namespace jit::bench {

// The config every seeded store is read with: connector "demo" (fake),
// entitlements ent-0..ent-9 (target user = subject), policy dev-auto for
// group dev; subjects user-0000000.. each hold the ten entitlements.
extern const char* const kSeedConfig;

inline constexpr int kSeedEntitlements = 10;

std::string SeedSubject(int64_t i);
std::string SeedEntitlement(int64_t i);

// Adds to `cs` what one auto-approved grant commits in jitd: its request
// and grant rows and, when `with_events`, the three audit events the
// request path writes with them (request.created with the request's facts,
// request.approved, grant.activated).
void AddAutoGrant(ChangeSet& cs, int64_t i, SystemTime starts_at,
                  SystemTime expires_at, bool with_events);

// Writes grants 0..n-1, every one starting at `starts_at` and expiring at
// `expires_at`. Errors: whatever Commit returns (earlier batches stay).
Status SeedGrants(Store& store, int64_t n, SystemTime starts_at,
                  SystemTime expires_at);

}  // namespace jit::bench
