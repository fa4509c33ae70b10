#include "jit/storage/memory/memory_store.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

#include "jit/base/duration.h"
#include "jit/base/status_macros.h"
#include "jit/storage/store_util.h"

namespace jit {
namespace {

// Times keep millisecond precision, as in every other Store.
SystemTime ToMillis(SystemTime t) { return FromUnixMillis(ToUnixMillis(t)); }

void ToMillis(std::optional<SystemTime>& t) {
  if (t) *t = ToMillis(*t);
}

Request Normalized(Request r) {
  r.created_at = ToMillis(r.created_at);
  r.updated_at = ToMillis(r.updated_at);
  ToMillis(r.start_at);
  ToMillis(r.approval_deadline);
  return r;
}

Grant Normalized(Grant g) {
  g.starts_at = ToMillis(g.starts_at);
  g.expires_at = ToMillis(g.expires_at);
  ToMillis(g.ended_at);
  ToMillis(g.next_attempt_at);
  ToMillis(g.revoke_pending_since);
  return g;
}

Credential Normalized(Credential c) {
  c.created_at = ToMillis(c.created_at);
  ToMillis(c.expires_at);
  ToMillis(c.ended_at);
  return c;
}

EmergencyReview Normalized(EmergencyReview r) {
  r.opened_at = ToMillis(r.opened_at);
  ToMillis(r.signed_off_at);
  return r;
}

Approval Normalized(Approval a) {
  a.at = ToMillis(a.at);
  return a;
}

// The row `id` as this Commit sees it: staged by an earlier write of the
// same ChangeSet, else stored, else null.
template <typename TableT, typename Row>
const Row* FindRow(const TableT& table,
                   const std::map<std::string, Row>& staged,
                   const std::string& id) {
  if (auto it = staged.find(id); it != staged.end()) return &it->second;
  auto pos = table.position_of.find(id);
  if (pos == table.position_of.end()) return nullptr;
  return &table.rows.at(pos->second);
}

// THREATS T2: one decision per approver, also under another alias of the
// same person.
bool AlreadyDecided(const std::vector<Approval>& decided, const Approval& a) {
  return std::any_of(decided.begin(), decided.end(), [&](const Approval& d) {
    if (d.request_id != a.request_id) return false;
    if (d.approver == a.approver) return true;
    return !a.approver_person.empty() && d.approver_person == a.approver_person;
  });
}

// Up to `limit` rows matching `match`, in creation order.
template <typename Row, typename Pred>
std::vector<Row> Collect(const std::map<int64_t, Row>& rows, int limit,
                         Pred match) {
  std::vector<Row> out;
  for (const auto& [position, row] : rows) {
    if (static_cast<int>(out.size()) >= limit) break;
    if (match(row)) out.push_back(row);
  }
  return out;
}

// One page of rows matching `match` after cursor position `after`.
template <typename Row, typename Pred>
Page<Row> PageOf(const std::map<int64_t, Row>& rows, int64_t after, int limit,
                 Pred match) {
  Page<Row> page;
  int64_t last = 0;
  for (auto it = rows.upper_bound(after); it != rows.end(); ++it) {
    if (!match(it->second)) continue;
    if (static_cast<int>(page.items.size()) == limit) {
      page.next_cursor = EncodeCursor(last);
      break;
    }
    page.items.push_back(it->second);
    last = it->first;
  }
  return page;
}

}  // namespace

struct MemoryStore::Staged {
  std::map<std::string, Request> requests;   // id -> value to store
  std::vector<std::string> new_request_ids;  // inserts, in order
  std::map<std::string, Grant> grants;
  std::vector<std::string> new_grant_ids;
  std::vector<Approval> approvals;
  std::vector<Credential> credentials;  // every credential after the writes
  bool credentials_changed = false;
  std::vector<EmergencyReview> reviews;  // every review after the writes
  bool reviews_changed = false;
  std::vector<AuditEvent> events;  // with seq, prev_hash, hash
};

void MemoryStore::FailAuditWrites(bool fail) {
  std::lock_guard lock(mu_);
  fail_audit_writes_ = fail;
}

Status MemoryStore::Commit(ChangeSet& cs) {
  std::lock_guard lock(mu_);
  Staged staged;
  JIT_RETURN_IF_ERROR(StageRequests(cs, staged));
  JIT_RETURN_IF_ERROR(StageGrants(cs, staged));
  JIT_RETURN_IF_ERROR(StageApprovals(cs, staged));
  JIT_RETURN_IF_ERROR(StageCredentials(cs, staged));
  JIT_RETURN_IF_ERROR(StageReviews(cs, staged));
  JIT_RETURN_IF_ERROR(StageEvents(cs, staged));
  cs.events = staged.events;
  Apply(staged);
  return OkStatus();
}

Status MemoryStore::StageRequests(const ChangeSet& cs, Staged& staged) const {
  for (const RequestWrite& w : cs.requests) {
    const std::string& id = w.request.id;
    const Request* stored = FindRow(requests_, staged.requests, id);
    if (!w.expected) {
      if (stored) return AlreadyExistsError("request " + id + " exists");
      staged.new_request_ids.push_back(id);
    } else if (!stored || stored->state != *w.expected) {
      return AbortedError("request " + id + " is no longer " +
                          std::string(ToString(*w.expected)));
    }
    staged.requests[id] = Normalized(w.request);
  }
  return OkStatus();
}

Status MemoryStore::StageGrants(const ChangeSet& cs, Staged& staged) const {
  for (const GrantWrite& w : cs.grants) {
    const std::string& id = w.grant.id;
    const Grant* stored = FindRow(grants_, staged.grants, id);
    if (!w.expected) {
      if (stored) return AlreadyExistsError("grant " + id + " exists");
      staged.new_grant_ids.push_back(id);
    } else if (!stored || stored->state != *w.expected) {
      return AbortedError("grant " + id + " is no longer " +
                          std::string(ToString(*w.expected)));
    } else if (w.fenced && stored->generation != w.grant.generation - 1) {
      return AbortedError("grant " + id + " was changed by another writer");
    }
    staged.grants[id] = Normalized(w.grant);
  }
  return OkStatus();
}

bool MemoryStore::RequestExists(const std::string& id,
                                const Staged& staged) const {
  return FindRow(requests_, staged.requests, id) != nullptr;
}

Status MemoryStore::StageApprovals(const ChangeSet& cs, Staged& staged) const {
  static const std::vector<Approval> kNone;
  for (const Approval& a : cs.approvals) {
    if (!RequestExists(a.request_id, staged)) {
      return AbortedError("request " + a.request_id + " does not exist");
    }
    auto stored = approvals_.find(a.request_id);
    const auto& decided = stored == approvals_.end() ? kNone : stored->second;
    if (AlreadyDecided(decided, a) || AlreadyDecided(staged.approvals, a)) {
      return AlreadyExistsError(a.approver + " already decided request " +
                                a.request_id);
    }
    staged.approvals.push_back(Normalized(a));
  }
  return OkStatus();
}

Status MemoryStore::StageCredentials(const ChangeSet& cs,
                                     Staged& staged) const {
  if (cs.credentials.empty()) return OkStatus();
  staged.credentials = credentials_;
  staged.credentials_changed = true;
  for (const CredentialWrite& w : cs.credentials) {
    const Credential& c = w.credential;
    auto same_id = [&](const Credential& s) {
      return s.kind == c.kind && s.id == c.id;
    };
    auto it = std::find_if(staged.credentials.begin(), staged.credentials.end(),
                           same_id);
    if (w.op == CredentialOp::kEnd) {
      if (it == staged.credentials.end() || it->ended_at) {
        return AbortedError("credential " + c.id + " is ended or missing");
      }
      it->ended_at =
          c.ended_at ? std::optional(ToMillis(*c.ended_at)) : std::nullopt;
      it->ended_by = c.ended_by;
      continue;
    }
    bool secret_taken =
        std::any_of(staged.credentials.begin(), staged.credentials.end(),
                    [&](const Credential& s) {
                      return s.secret_sha256 == c.secret_sha256;
                    });
    if (it != staged.credentials.end() || secret_taken) {
      return AlreadyExistsError("credential " + c.id + " exists");
    }
    staged.credentials.push_back(Normalized(c));
  }
  return OkStatus();
}

Status MemoryStore::StageEvents(const ChangeSet& cs, Staged& staged) const {
  if (cs.events.empty()) return OkStatus();
  if (fail_audit_writes_) {
    return UnavailableError("audit log is not writable");
  }
  AuditHead head = HeadLocked();
  for (AuditEvent e : cs.events) {
    e.time = ToMillis(e.time);
    e.seq = ++head.seq;
    e.prev_hash = head.hash;
    e.hash = ComputeEventHash(e);
    head.hash = e.hash;
    staged.events.push_back(std::move(e));
  }
  return OkStatus();
}

void MemoryStore::Apply(Staged& staged) {
  for (const std::string& id : staged.new_request_ids) {
    requests_.position_of[id] = next_position_++;
  }
  for (auto& [id, r] : staged.requests) {
    requests_.rows[requests_.position_of.at(id)] = std::move(r);
  }
  for (const std::string& id : staged.new_grant_ids) {
    grants_.position_of[id] = next_position_++;
  }
  for (auto& [id, g] : staged.grants) {
    grants_.rows[grants_.position_of.at(id)] = std::move(g);
  }
  for (Approval& a : staged.approvals) {
    approvals_[a.request_id].push_back(std::move(a));
  }
  if (staged.credentials_changed) credentials_ = std::move(staged.credentials);
  if (staged.reviews_changed) reviews_ = std::move(staged.reviews);
  for (AuditEvent& e : staged.events) audit_.push_back(std::move(e));
}

AuditHead MemoryStore::HeadLocked() const {
  if (audit_.empty()) return AuditHead{};
  return AuditHead{audit_.back().seq, audit_.back().hash};
}

StatusOr<Request> MemoryStore::GetRequest(const std::string& id) {
  std::lock_guard lock(mu_);
  auto pos = requests_.position_of.find(id);
  if (pos == requests_.position_of.end()) {
    return NotFoundError("no request " + id);
  }
  return requests_.rows.at(pos->second);
}

StatusOr<Grant> MemoryStore::GetGrant(const std::string& id) {
  std::lock_guard lock(mu_);
  auto pos = grants_.position_of.find(id);
  if (pos == grants_.position_of.end()) return NotFoundError("no grant " + id);
  return grants_.rows.at(pos->second);
}

StatusOr<Page<Request>> MemoryStore::ListRequests(const RequestFilter& f) {
  JIT_ASSIGN_OR_RETURN(int64_t after, DecodeCursor(f.after));
  std::lock_guard lock(mu_);
  return PageOf(requests_.rows, after, ClampPageLimit(f.limit),
                [&](const Request& r) {
                  return (!f.state || r.state == *f.state) &&
                         (!f.subject || r.subject == *f.subject);
                });
}

StatusOr<Page<Grant>> MemoryStore::ListGrants(const GrantFilter& f) {
  JIT_ASSIGN_OR_RETURN(int64_t after, DecodeCursor(f.after));
  std::lock_guard lock(mu_);
  return PageOf(grants_.rows, after, ClampPageLimit(f.limit),
                [&](const Grant& g) {
                  return (!f.active_only || g.state != GrantState::kEnded) &&
                         (!f.subject || g.subject == *f.subject);
                });
}

StatusOr<std::vector<Approval>> MemoryStore::ListApprovals(
    const std::string& request_id) {
  std::lock_guard lock(mu_);
  auto it = approvals_.find(request_id);
  if (it == approvals_.end()) return std::vector<Approval>{};
  return it->second;
}

StatusOr<std::vector<Request>> MemoryStore::RequestsOfGrant(
    const std::string& grant_id) {
  std::lock_guard lock(mu_);
  return Collect(
      requests_.rows, std::numeric_limits<int>::max(), [&](const Request& r) {
        return r.grant_id == grant_id && r.state == RequestState::kActive;
      });
}

StatusOr<std::vector<Grant>> MemoryStore::DueRevokes(SystemTime now,
                                                     int limit) {
  now = ToMillis(now);
  std::lock_guard lock(mu_);
  return Collect(grants_.rows, limit, [&](const Grant& g) {
    if (g.state == GrantState::kActive) return g.expires_at <= now;
    if (g.state == GrantState::kRevokePending) {
      return !g.next_attempt_at || *g.next_attempt_at <= now;
    }
    return false;
  });
}

StatusOr<std::vector<Grant>> MemoryStore::ClaimDueRevokes(
    SystemTime now, int limit, std::chrono::milliseconds lease) {
  now = ToMillis(now);
  std::lock_guard lock(mu_);
  std::vector<Grant> out;
  for (auto& [position, g] : grants_.rows) {
    if (static_cast<int>(out.size()) >= limit) break;
    bool unclaimed = !g.next_attempt_at || *g.next_attempt_at <= now;
    bool due = (g.state == GrantState::kActive && g.expires_at <= now) ||
               g.state == GrantState::kRevokePending;
    if (!due || !unclaimed) continue;
    g.next_attempt_at = ToMillis(now + lease);
    ++g.generation;
    out.push_back(g);
  }
  return out;
}

StatusOr<std::vector<Request>> MemoryStore::DueActivations(SystemTime now,
                                                           int limit) {
  now = ToMillis(now);
  std::lock_guard lock(mu_);
  return Collect(requests_.rows, limit, [&](const Request& r) {
    return r.state == RequestState::kApproved &&
           (!r.start_at || *r.start_at <= now);
  });
}

StatusOr<std::vector<Request>> MemoryStore::DueTimeouts(SystemTime now,
                                                        int limit) {
  now = ToMillis(now);
  std::lock_guard lock(mu_);
  return Collect(requests_.rows, limit, [&](const Request& r) {
    return r.state == RequestState::kPending && r.approval_deadline &&
           *r.approval_deadline <= now;
  });
}

StatusOr<std::vector<Grant>> MemoryStore::ActiveGrants() {
  std::lock_guard lock(mu_);
  std::vector<Grant> out;
  for (const auto& [position, g] : grants_.rows) {
    if (g.state == GrantState::kActive) out.push_back(g);
  }
  return out;
}

StatusOr<std::vector<AuditEvent>> MemoryStore::ReadAudit(int64_t after_seq,
                                                         int limit) {
  std::lock_guard lock(mu_);
  auto it = std::partition_point(
      audit_.begin(), audit_.end(),
      [&](const AuditEvent& e) { return e.seq <= after_seq; });
  std::vector<AuditEvent> out;
  for (; it != audit_.end() && static_cast<int>(out.size()) < limit; ++it) {
    out.push_back(*it);
  }
  return out;
}

StatusOr<AuditHead> MemoryStore::GetAuditHead() {
  std::lock_guard lock(mu_);
  return HeadLocked();
}

StatusOr<Credential> MemoryStore::GetCredential(CredentialKind kind,
                                                const std::string& id) {
  std::lock_guard lock(mu_);
  for (const Credential& c : credentials_) {
    if (c.kind == kind && c.id == id) return c;
  }
  return NotFoundError("no " + std::string(ToString(kind)) + " " + id);
}

StatusOr<Credential> MemoryStore::FindCredentialBySecret(
    const std::string& secret_sha256) {
  std::lock_guard lock(mu_);
  for (const Credential& c : credentials_) {
    if (c.secret_sha256 == secret_sha256) return c;
  }
  return NotFoundError("no credential with this secret");
}

StatusOr<std::vector<Credential>> MemoryStore::ListCredentials(
    CredentialKind kind) {
  std::lock_guard lock(mu_);
  std::vector<Credential> out;
  for (const Credential& c : credentials_) {
    if (c.kind == kind) out.push_back(c);
  }
  return out;
}

Status MemoryStore::StageReviews(const ChangeSet& cs, Staged& staged) const {
  if (cs.reviews.empty()) return OkStatus();
  staged.reviews = reviews_;
  staged.reviews_changed = true;
  for (const ReviewWrite& w : cs.reviews) {
    const EmergencyReview& r = w.review;
    auto it = std::find_if(
        staged.reviews.begin(), staged.reviews.end(),
        [&](const EmergencyReview& s) { return s.request_id == r.request_id; });
    if (w.op == ReviewOp::kSignOff) {
      if (it == staged.reviews.end() || it->state != ReviewState::kOpen) {
        return AbortedError("review of " + r.request_id +
                            " is not open or missing");
      }
      it->state = ReviewState::kSignedOff;
      it->signed_off_by = r.signed_off_by;
      it->signed_off_by_person = r.signed_off_by_person;
      it->signed_off_at = r.signed_off_at;
      it->comment = r.comment;
      *it = Normalized(*it);
      continue;
    }
    if (it != staged.reviews.end()) {
      return AlreadyExistsError("review of " + r.request_id + " exists");
    }
    if (!RequestExists(r.request_id, staged)) {
      return AbortedError("request " + r.request_id + " does not exist");
    }
    staged.reviews.push_back(Normalized(r));
  }
  return OkStatus();
}

StatusOr<EmergencyReview> MemoryStore::GetReview(
    const std::string& request_id) {
  std::lock_guard lock(mu_);
  for (const EmergencyReview& r : reviews_) {
    if (r.request_id == request_id) return r;
  }
  return NotFoundError("no review of request " + request_id);
}

StatusOr<std::vector<EmergencyReview>> MemoryStore::ListReviews(
    std::optional<ReviewState> state, int limit) {
  std::lock_guard lock(mu_);
  std::vector<EmergencyReview> out;
  for (auto it = reviews_.rbegin(); it != reviews_.rend(); ++it) {
    if (static_cast<int>(out.size()) >= limit) break;
    if (!state || it->state == *state) out.push_back(*it);
  }
  return out;
}

StatusOr<IdempotentResponse> MemoryStore::GetIdempotent(
    const std::string& principal, const std::string& route,
    const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = idempotent_.find({principal, route, key});
  if (it == idempotent_.end()) {
    return NotFoundError("no stored response for this idempotency key");
  }
  return it->second;
}

Status MemoryStore::PutIdempotent(const IdempotentResponse& r) {
  std::lock_guard lock(mu_);
  IdempotentResponse stored = r;
  stored.at = ToMillis(stored.at);
  auto [it, inserted] =
      idempotent_.emplace(std::tuple(r.principal, r.route, r.key), stored);
  if (!inserted) {
    return AlreadyExistsError("a response is stored for this idempotency key");
  }
  return OkStatus();
}

}  // namespace jit
