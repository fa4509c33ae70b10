#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "jit/api/authenticator.h"
#include "jit/api/http_server.h"
#include "jit/api/routes.h"
#include "jit/base/clock.h"
#include "jit/base/command_runner.h"
#include "jit/base/environment.h"
#include "jit/expiry/expiry_scheduler.h"
#include "jit/server/config.h"
#include "jit/storage/postgres/pg_listener.h"
#include "jit/storage/store.h"
#include "jit/workflow/alert_notifier.h"
#include "jit/workflow/audit_query.h"
#include "jit/workflow/checkpoint_writer.h"
#include "jit/workflow/deps.h"
#include "jit/workflow/drift_scanner.h"
#include "jit/workflow/expiry_notices.h"
#include "jit/workflow/grant_lifecycle.h"
#include "jit/workflow/mfa_service.h"
#include "jit/workflow/request_service.h"
#include "jit/workflow/syslog_forwarder.h"

namespace jit {

// The composition root: builds store, connectors, services and loops from a
// Config and runs them. Start-up order keeps DESIGN invariant 4: everything
// that expired while jitd was down is revoked before the listener opens.
// Not thread-safe except Reload() and Stop(), which may be called from a
// signal-handling thread.
class JitdServer {
 public:
  // Builds everything, opens the store (creating data_dir), builds
  // connectors. Errors: kInvalidArgument (config), kUnavailable (store).
  static StatusOr<std::unique_ptr<JitdServer>> Create(Config config);
  ~JitdServer();

  // Reconciles (revokes what expired, rebuilds the check index), opens the
  // listener, starts the expiry loop and turns ready; then, in the
  // background, retries pending revokes, re-asserts active grants and
  // verifies the audit chain (docs/api.md, /readyz).
  Status Start();
  void Stop();
  // Re-reads the config file: policies, entitlements, tokens, roles. On any
  // error the previous config stays in force and the error is returned
  // (THREATS T20). Listen address, storage and connectors need a restart.
  Status Reload();

  uint16_t port() const { return http_ ? http_->port() : 0; }
  const Config& config() const { return config_; }

 private:
  HttpResponse EnforcementRoute(const HttpRequest& r) const;
  explicit JitdServer(Config config);
  Status OpenCheckpoints();
  Status OpenMfa();
  Status OpenAlerts();
  Status Reconcile();
  // Calls `fn` for every grant in state active or revoke_pending; stops at
  // the first error.
  Status ForEachLiveGrant(const std::function<Status(const Grant&)>& fn);
  Status RetryPendingRevokes(std::vector<Grant>& allowing);
  void FollowOtherReplicas();
  void FinishStartup();
  Status ReassertActiveGrants();
  Status CheckLiveEntitlementsKept(const PolicySet& next);
  Status RecordPolicyLoaded(const std::string& actor);
  Status ReloadTls(const Config& next);

  Config config_;
  SystemClock system_clock_;
  // Everything in jitd reads time through this one: a wall clock stepped
  // back cannot delay expiry (THREATS T13).
  NonRetreatingClock clock_{system_clock_};
  PosixCommandRunner commands_;
  Environment env_{clock_, commands_, {}};
  std::unique_ptr<Store> base_store_;
  AuditFeed feed_;
  std::unique_ptr<NotifyingStore> store_;
  Metrics metrics_;
  GrantIndex index_;
  std::unique_ptr<PolicyHolder> policies_;
  ConnectorSet connectors_;
  std::unique_ptr<WorkflowDeps> deps_;
  std::unique_ptr<GrantLifecycle> lifecycle_;
  std::unique_ptr<RequestService> requests_;
  std::unique_ptr<CheckpointSigner> signer_;  // key in data_dir/audit
  std::unique_ptr<CheckpointWriter> checkpoints_;
  std::unique_ptr<SyslogForwarder> syslog_;  // config audit.syslog
  std::unique_ptr<AuditQuery> audit_;
  std::unique_ptr<VerifyFailureAlarm> verify_alarm_;
  std::unique_ptr<AlertNotifier> alerts_;  // config notifiers
  // grant.expiring events, when a notifier lists them.
  std::unique_ptr<ExpiryNotices> expiry_notices_;
  std::unique_ptr<SlackActionService> slack_;  // config integrations.slack
  std::unique_ptr<ExpiryScheduler> scheduler_;
  // Storage postgres: other replicas' grant changes, for index_.
  std::unique_ptr<PgGrantListener> listener_;
  std::unique_ptr<DriftScanner> drift_;  // config connectors[].discovery
  SeenSubjects seen_subjects_{clock_};   // OIDC subjects, for activation
  std::unique_ptr<OidcVerifier> oidc_;   // config auth.oidc; used by auth_
  // Machine tokens; used by auth_.
  std::unique_ptr<TokenService> tokens_;
  // Break-glass codes, emergency activation with them, their reviews.
  std::unique_ptr<BreakglassService> breakglass_;
  // TOTP seeds (key in data_dir/mfa.key) and second-factor checks; config
  // auth.mfa. Used by requests_ through deps_ and by the routes.
  std::unique_ptr<SecretSealer> sealer_;
  std::unique_ptr<MfaService> mfa_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<AuthRateLimiter> auth_limiter_;  // config auth.rate_limit
  std::atomic<bool> ready_{false};
  std::atomic<bool> stopping_{false};
  std::thread startup_;                      // FinishStartup, joined by Stop
  std::unique_ptr<SessionTable> sessions_;   // web console sign-ins
  std::unique_ptr<OidcWebLogin> web_login_;  // auth.oidc.web_client_id
  std::unique_ptr<WebConsole> console_;      // config web.dir
  std::unique_ptr<ApiDeps> api_deps_;
  std::unique_ptr<ApiRoutes> routes_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<HttpServer> enforcement_;  // config enforcement_socket
};

// The policy snapshot (policies + directory of static-token subjects).
std::shared_ptr<const PolicySnapshot> SnapshotOf(const Config& c);

}  // namespace jit
