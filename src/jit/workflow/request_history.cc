// RequestService::History: what an approver sees of a requester's past.

#include <algorithm>
#include <deque>

#include "jit/base/status_macros.h"
#include "jit/workflow/request_service.h"

namespace jit {
namespace {

constexpr int kMaxHistory = 50;
// Pages of the requester's requests read at most (oldest first in the
// store, so the newest are at the end of the scan).
constexpr int kMaxHistoryPages = 50;

}  // namespace

StatusOr<std::vector<RequestView>> RequestService::History(
    const Principal& who, const std::string& id, int limit) {
  limit = std::clamp(limit, 1, kMaxHistory);
  JIT_ASSIGN_OR_RETURN(Request r, deps_.store.GetRequest(id));
  const bool decider =
      r.state == RequestState::kPending && CheckApprover(who, r).ok();
  if (!who.ReadsAll() && !who.IsPerson(r.subject, r.person) && !decider)
    return NotFoundError("request " + id + " not found");
  // Only the newest `limit` are kept while the scan goes on.
  std::deque<Request> newest;
  RequestFilter f;
  f.subject = r.subject;
  f.limit = 1000;
  for (int page = 0; page < kMaxHistoryPages; ++page) {
    JIT_ASSIGN_OR_RETURN(Page<Request> got, deps_.store.ListRequests(f));
    for (Request& x : got.items) {
      if (x.id == id) continue;
      newest.push_back(std::move(x));
      if (static_cast<int>(newest.size()) > limit) newest.pop_front();
    }
    if (!got.next_cursor) break;
    f.after = *got.next_cursor;
  }
  std::vector<RequestView> out;
  for (auto it = newest.rbegin(); it != newest.rend(); ++it) {
    JIT_ASSIGN_OR_RETURN(RequestView v, View(std::move(*it)));
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace jit
