#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "jit/audit/event.h"
#include "jit/base/status.h"
#include "jit/domain/request.h"
#include "jit/storage/store.h"

namespace jit {

// Moves `updated.id` from state `from` to `updated.state` (writing every field
// of `updated`) and appends `event`, in one Commit. Errors as Store::Commit:
// kAborted when the stored state is no longer `from` (nothing written),
// kUnavailable when the audit log is not writable (nothing written).
Status TransitionRequest(Store& store, Request updated, RequestState from,
                         AuditEvent event);

// Helpers shared by Store implementations.

// `limit` clamped into [kMinPageLimit, kMaxPageLimit].
int ClampPageLimit(int limit);

// The opaque cursor naming the item at creation position `position` (>= 1):
// a page continues after it.
std::string EncodeCursor(int64_t position);

// The position in a cursor from EncodeCursor; 0 for an empty cursor (start
// from the beginning). kInvalidArgument for anything else.
StatusOr<int64_t> DecodeCursor(std::string_view cursor);

}  // namespace jit
