#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "jit/base/environment.h"
#include "jit/base/status.h"
#include "jit/connectors/connector.h"

namespace jit {

struct FakeConnectorOptions {
  // When set, held grants are kept in this JSON file (replaced atomically on
  // every change) so they survive a restart of the process.
  std::optional<std::string> state_file;
  // Start in the state SetFailing(true) gives.
  bool start_failing = false;
  // When set, every Grant/Revoke/RevokeHolding that succeeds appends one
  // line "OP GRANT_ID EFFECT" to this file (OP grant|revoke, EFFECT
  // new|held|removed|absent), after the state file: a record outside jitd
  // of what the target saw, for crash tests counting effective revokes.
  std::optional<std::string> call_log;
};

// A connector whose "target system" is an in-memory set of held grants, with
// controls for tests: injected failures, latency, sessions that survive a
// kill. Thread-safe.
//
// Every Connector call, in this order: counts itself (grant_calls(),
// revoke_calls()); returns kDeadlineExceeded at once if `deadline` has
// passed; waits out the configured latency, or until `deadline`, returning
// kDeadlineExceeded if that came first; fails if a failure is injected;
// otherwise does its work. A failed call changes nothing.
class FakeConnector final : public Connector {
 public:
  FakeConnector() = default;
  FakeConnector(const FakeConnector&) = delete;
  FakeConnector& operator=(const FakeConnector&) = delete;

  // Builds one, loading grants held in `options.state_file` if it exists.
  // Errors: kUnavailable when the file cannot be read, kInvalidArgument when
  // it is not a state file.
  static StatusOr<std::unique_ptr<FakeConnector>> Create(
      FakeConnectorOptions options);

  // Connector. Grant/Revoke fail with kUnavailable when the state file cannot
  // be written (the grant set is then unchanged).
  Status Grant(const GrantSpec& g, Deadline deadline) override;
  Status Revoke(const GrantSpec& g, Deadline deadline) override;
  StatusOr<bool> IsActive(const GrantSpec& g, Deadline deadline) override;
  StatusOr<std::vector<Session>> ListSessions(const GrantSpec& g,
                                              Deadline deadline) override;
  // Ends the grant's sessions and returns an empty list, or, after
  // SetSurvivingSessions(true), leaves them and returns them all.
  StatusOr<std::vector<Session>> KillSessions(const GrantSpec& g,
                                              Deadline deadline) override;

  // Discovery: holdings of granted privileges (privilege = entitlement)
  // plus planted ones. Covers() matches target user and entitlement.
  bool CanDiscover() const override { return true; }
  StatusOr<std::vector<Holding>> Discover(Deadline deadline) override;
  bool Covers(const GrantSpec& g, const Holding& h) const override;
  // Removes every holding of h.privilege by h.target_user, granted or planted.
  Status RevokeHolding(const Holding& h, Deadline deadline) override;
  StatusOr<std::vector<Activity>> ActivitySince(const GrantSpec& g,
                                                SystemTime since,
                                                Deadline deadline) override;

  // Test control, in memory only: a standing privilege jitd did not grant,
  // and something done under grant `grant_id` as the target would record it.
  void PlantStanding(Holding h);
  void RecordActivity(const std::string& grant_id, Activity a);
  std::vector<Holding> Planted() const;

  // The next `n` Connector calls (of any method) fail with `code`.
  void FailNext(int n, StatusCode code);
  // While true, every Connector call fails with kUnavailable.
  void SetFailing(bool failing);
  // Each Connector call takes this long; lowering it wakes waiting calls.
  void SetLatency(std::chrono::milliseconds latency);
  // Whether KillSessions leaves sessions alive (and reports them).
  void SetSurvivingSessions(bool survive);
  // Simulates a session opened under grant `grant_id` in the target.
  void OpenSession(const std::string& grant_id, const std::string& session_id);

  bool Holds(const std::string& grant_id) const;
  std::vector<std::string> HeldGrants() const;  // sorted
  int grant_calls() const;
  int revoke_calls() const;

 private:
  struct Held {
    std::string request_id;
    std::string subject;
    std::string target_user;
    std::string entitlement;
    std::string expires_at;  // RFC 3339
  };

  // The common prologue described above; `counter` is bumped first.
  Status BeginCall(std::unique_lock<std::mutex>& lock, Deadline deadline,
                   int* counter);
  Status Persist() const;  // requires mu_
  // Appends to call_log_; a line that cannot be written is dropped (the
  // state file, already written, is what the target holds).
  void LogCall(std::string_view op, const std::string& grant_id,
               std::string_view effect) const;  // requires mu_
  Status Load();

  mutable std::mutex mu_;
  std::condition_variable latency_changed_;
  std::optional<std::string> state_file_;                  // fixed after Create
  std::optional<std::string> call_log_;                    // fixed after Create
  std::map<std::string, Held> held_;                       // guarded by mu_
  std::map<std::string, std::vector<Session>> sessions_;   // guarded by mu_
  std::vector<Holding> planted_;                           // guarded by mu_
  std::map<std::string, std::vector<Activity>> activity_;  // guarded by mu_
  int fail_next_ = 0;                                      // guarded by mu_
  StatusCode fail_code_ = StatusCode::kUnavailable;        // guarded by mu_
  bool failing_ = false;                                   // guarded by mu_
  bool surviving_sessions_ = false;                        // guarded by mu_
  std::chrono::milliseconds latency_{0};                   // guarded by mu_
  int grant_calls_ = 0;                                    // guarded by mu_
  int revoke_calls_ = 0;                                   // guarded by mu_
};

// ConnectorFactory for `type: fake`. Keys: name, type, state_file (path),
// call_log (path), fail (bool: start failing). kInvalidArgument for unknown
// keys or wrong types, naming the origin.
StatusOr<std::unique_ptr<Connector>> MakeFakeConnector(
    const ConnectorConfig& config, const Environment& env);

}  // namespace jit
