#include "jit/server/jitd_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "jit/base/crash_point.h"
#include "jit/base/status_macros.h"
#include "jit/connectors/exec/exec_connector.h"
#include "jit/connectors/fake/fake_connector.h"
#include "jit/connectors/linux_sudo/linux_sudo_connector.h"
#include "jit/connectors/postgres/postgres_connector.h"
#include "jit/connectors/ssh_cert/ssh_cert_connector.h"
#include "jit/connectors/webhook/webhook_connector.h"
#include "jit/storage/memory/memory_store.h"
#include "jit/storage/postgres/pg_listener.h"
#include "jit/storage/postgres/postgres_store.h"
#include "jit/storage/sqlite/sqlite_store.h"
#include "jit/workflow/events.h"

namespace jit {
namespace {

void RegisterBuiltinConnectors(ConnectorRegistry& registry) {
  registry.Add("fake", &MakeFakeConnector);
  registry.Add("exec", &MakeExecConnector);
  registry.Add("linux_sudo", &MakeLinuxSudoConnector);
  registry.Add("postgres", &MakePostgresConnector);
  registry.Add("ssh_cert", &MakeSshCertConnector);
  registry.Add("webhook", &MakeWebhookConnector);
}

StatusOr<std::unique_ptr<Store>> OpenStore(const Config& c) {
  if (c.storage == "memory")
    return std::unique_ptr<Store>(std::make_unique<MemoryStore>());
  std::error_code ec;
  std::filesystem::create_directories(c.data_dir, ec);
  if (ec)
    return UnavailableError("cannot create data_dir " + c.data_dir + ": " +
                            ec.message());
  std::filesystem::permissions(c.data_dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  if (c.storage == "postgres") {
    JIT_ASSIGN_OR_RETURN(std::unique_ptr<PostgresStore> pg,
                         PostgresStore::Open(c.postgres_dsn));
    return std::unique_ptr<Store>(std::move(pg));
  }
  JIT_ASSIGN_OR_RETURN(std::unique_ptr<SqliteStore> s,
                       SqliteStore::Open(c.data_dir + "/jitd.db"));
  return std::unique_ptr<Store>(std::move(s));
}

}  // namespace

std::shared_ptr<const PolicySnapshot> SnapshotOf(const Config& c) {
  auto snap = std::make_shared<PolicySnapshot>();
  snap->policies = c.policies;
  for (const TokenEntry& t : c.tokens)
    snap->directory[t.subject.name] = t.subject;
  return snap;
}

JitdServer::JitdServer(Config config) : config_(std::move(config)) {}

JitdServer::~JitdServer() { Stop(); }

StatusOr<std::unique_ptr<JitdServer>> JitdServer::Create(Config config) {
  std::unique_ptr<JitdServer> s(new JitdServer(std::move(config)));
  JIT_ASSIGN_OR_RETURN(s->base_store_, OpenStore(s->config_));
  s->env_.data_dir = s->config_.data_dir;
  s->store_ = std::make_unique<NotifyingStore>(*s->base_store_, s->feed_);
  s->policies_ = std::make_unique<PolicyHolder>(SnapshotOf(s->config_));
  ConnectorRegistry registry;
  RegisterBuiltinConnectors(registry);
  for (const ConnectorConfig& cc : s->config_.connectors) {
    JIT_ASSIGN_OR_RETURN(std::unique_ptr<Connector> c,
                         registry.Make(cc, s->env_));
    s->connectors_.Add(cc.name, std::move(c));
  }
  s->deps_ = std::make_unique<WorkflowDeps>(
      WorkflowDeps{*s->store_, *s->policies_, s->connectors_, s->index_,
                   s->metrics_, s->clock_});
  s->deps_->seen_subjects = &s->seen_subjects_;
  s->lifecycle_ = std::make_unique<GrantLifecycle>(*s->deps_);
  s->requests_ = std::make_unique<RequestService>(*s->deps_, *s->lifecycle_);
  JIT_RETURN_IF_ERROR(s->OpenCheckpoints());
  if (s->config_.syslog) {
    // Kept beside the database; the memory store's log starts empty anew.
    const std::string state =
        s->config_.storage == "memory"
            ? ""
            : s->config_.data_dir + "/audit/syslog_forwarded.json";
    JIT_ASSIGN_OR_RETURN(s->syslog_,
                         SyslogForwarder::Create(*s->store_, s->feed_,
                                                 *s->config_.syslog, state));
  }
  s->audit_ = std::make_unique<AuditQuery>(*s->store_, s->metrics_);
  s->audit_->UseCheckpoints(s->checkpoints_.get());
  JIT_RETURN_IF_ERROR(s->OpenAlerts());
  std::vector<DriftTarget> drift;
  for (const DiscoveryConfig& d : s->config_.discovery) {
    Connector* c = s->connectors_.Find(d.connector);
    if (c == nullptr || !c->CanDiscover()) {
      return InvalidArgumentError(
          s->config_.path + ": connector " + d.connector +
          " cannot list holders; remove its discovery block");
    }
    drift.push_back(DriftTarget{
        d.connector, d.mode == "enforce",
        std::chrono::duration_cast<std::chrono::milliseconds>(d.every)});
  }
  s->drift_ = std::make_unique<DriftScanner>(*s->deps_, *s->lifecycle_,
                                             std::move(drift));
  const bool shared = s->config_.storage == "postgres";
  s->scheduler_ = std::make_unique<ExpiryScheduler>(
      *s->store_, *s->lifecycle_, *s->requests_, s->clock_,
      std::chrono::milliseconds(200),
      shared ? ExpiryScheduler::kReplicaBatch : ExpiryScheduler::kDefaultBatch);
  if (shared) s->FollowOtherReplicas();
  if (s->config_.oidc) {
    JIT_ASSIGN_OR_RETURN(s->oidc_,
                         OidcVerifier::Create(*s->config_.oidc, s->clock_));
  }
  s->tokens_ = std::make_unique<TokenService>(*s->deps_,
                                              s->config_.machine_token_max_ttl);
  s->breakglass_ =
      std::make_unique<BreakglassService>(*s->deps_, *s->lifecycle_);
  JIT_RETURN_IF_ERROR(s->OpenMfa());
  s->auth_ = std::make_unique<Authenticator>(
      s->config_.tokens, s->config_.roles, s->oidc_.get(), &s->seen_subjects_,
      s->tokens_.get());
  s->api_deps_ = std::make_unique<ApiDeps>(
      ApiDeps{*s->auth_, *s->requests_, *s->audit_, s->feed_, *s->policies_,
              *s->store_, s->metrics_, s->index_, s->clock_, s->ready_});
  s->auth_limiter_ =
      std::make_unique<AuthRateLimiter>(s->config_.auth_rate_limit, s->clock_);
  s->api_deps_->auth_limiter = s->auth_limiter_.get();
  s->api_deps_->tokens = s->tokens_.get();
  s->api_deps_->breakglass = s->breakglass_.get();
  s->api_deps_->mfa = s->mfa_.get();
  if (s->config_.slack) {
    s->slack_ = std::make_unique<SlackActionService>(
        *s->config_.slack, *s->requests_, *s->policies_, &s->seen_subjects_,
        s->clock_, SlackVerifierOptions{}, s->store_.get());
    s->api_deps_->slack = s->slack_.get();
  }
  s->sessions_ = std::make_unique<SessionTable>(s->clock_);
  s->api_deps_->sessions = s->sessions_.get();
  if (s->config_.oidc && !s->config_.oidc->web_client_id.empty()) {
    JIT_ASSIGN_OR_RETURN(s->web_login_,
                         OidcWebLogin::Create(*s->config_.oidc, s->clock_,
                                              OidcWebLogin::Options{}));
    s->api_deps_->web_login = s->web_login_.get();
  }
  s->console_ = std::make_unique<WebConsole>(s->config_.web_dir);
  s->api_deps_->console = s->console_.get();
  s->routes_ = std::make_unique<ApiRoutes>(*s->api_deps_);
  return s;
}

// TOTP seeds are sealed with a key beside the database (not in it, so a
// dump alone does not reveal them); the memory store keeps nothing, so its
// key is not kept either.
Status JitdServer::OpenMfa() {
  JIT_ASSIGN_OR_RETURN(
      sealer_, config_.storage == "memory"
                   ? SecretSealer::Ephemeral()
                   : SecretSealer::OpenOrCreate(config_.data_dir + "/mfa.key"));
  mfa_ = std::make_unique<MfaService>(*deps_, *sealer_, config_.mfa);
  deps_->step_up = mfa_.get();
  return OkStatus();
}

// The audit signing key lives beside the database; the memory store keeps
// nothing, so its key is not kept either.
Status JitdServer::OpenCheckpoints() {
  const bool keep = config_.storage != "memory";
  const std::string dir = config_.data_dir + "/audit";
  JIT_ASSIGN_OR_RETURN(signer_, keep ? CheckpointSigner::OpenOrCreate(dir)
                                     : CheckpointSigner::Ephemeral());
  checkpoints_ = std::make_unique<CheckpointWriter>(
      *store_, *signer_, clock_,
      CheckpointSchedule{config_.checkpoint_events, config_.checkpoint_every},
      keep ? dir + "/latest_checkpoint.json" : "");
  // A latest-checkpoint file that cannot be trusted must not keep jitd
  // from revoking: it is reported (log, verify, jitd_audit_chain_ok) and
  // left untouched for whoever looks into it.
  if (Status loaded = checkpoints_->Load(); !loaded.ok()) {
    spdlog::error("audit checkpoints stopped: {}", loaded.message());
  }
  return OkStatus();
}

// A verification that fails (GET /v1/audit/verify, start-up, or the
// checkpoint writer finding the log changed) records audit.verify_failed
// once; the notifiers follow the log and send it with the other alerts.
Status JitdServer::OpenAlerts() {
  const bool keep = config_.storage != "memory";
  const std::string dir = config_.data_dir + "/audit";
  verify_alarm_ = std::make_unique<VerifyFailureAlarm>(
      *store_, clock_, keep ? dir + "/verify_alarm.json" : "");
  if (Status loaded = verify_alarm_->Load(); !loaded.ok())
    spdlog::error("audit verify alarm: {}", loaded.message());
  audit_->OnVerified([this](const VerifyResult& r) {
    if (Status s = verify_alarm_->Verified(r); !s.ok())
      spdlog::error("audit.verify_failed not recorded: {}", s.ToString());
  });
  checkpoints_->OnIntegrityFailure([this](const Status&) {
    auto verified = audit_->Verify(Principal{{}, /*admin=*/true});
    if (!verified.ok())
      spdlog::error("audit verify: {}", verified.status().ToString());
  });
  if (config_.notifiers.empty()) return OkStatus();
  const bool notices = std::any_of(
      config_.notifiers.begin(), config_.notifiers.end(),
      [](const NotifierConfig& n) { return n.events.count("grant.expiring"); });
  if (notices) {
    expiry_notices_ = std::make_unique<ExpiryNotices>(
        *deps_, keep ? dir + "/expiry_notices.json" : "");
    if (Status loaded = expiry_notices_->Load(); !loaded.ok())
      spdlog::error("expiry notices: {}", loaded.message());
  }
  JIT_ASSIGN_OR_RETURN(
      alerts_,
      AlertNotifier::Create(*store_, feed_, *policies_, metrics_, clock_,
                            config_.notifiers, keep ? dir : ""));
  return OkStatus();
}

// Revokes cut short by a crash or waiting for their backoff are tried once
// more now, without waiting: the target may have come back while jitd was
// down.
Status JitdServer::ForEachLiveGrant(
    const std::function<Status(const Grant&)>& fn) {
  GrantFilter filter;
  filter.active_only = true;
  filter.limit = 1000;
  for (int page = 0; page < 10'000; ++page) {  // bounded: 10M grants
    JIT_ASSIGN_OR_RETURN(Page<Grant> grants, store_->ListGrants(filter));
    for (const Grant& g : grants.items) JIT_RETURN_IF_ERROR(fn(g));
    if (!grants.next_cursor) break;
    filter.after = *grants.next_cursor;
  }
  return OkStatus();
}

// A revoke a crash cut short is finished before serving (THREATS T10): the
// target may still hold the privilege, whatever the grant's backoff says.
// Likewise a grant that expired while down but that the previous process
// had claimed (ClaimDueRevokes) and not yet ended: with one process per
// store that claim died with it. Not for a shared database, where claims
// may be another live replica's and run out by themselves.
// The same pass keeps the grants that still allow in `allowing`, so the
// check index is built without reading every grant a second time.
Status JitdServer::RetryPendingRevokes(std::vector<Grant>& allowing) {
  const SystemTime now = clock_.Now();
  std::vector<Grant> pending;
  std::vector<Grant> expired;
  JIT_RETURN_IF_ERROR(ForEachLiveGrant([&](const Grant& g) {
    if (g.state == GrantState::kRevokePending) {
      pending.push_back(g);
    } else if (g.state == GrantState::kActive && g.expires_at <= now) {
      expired.push_back(g);
    } else if (Allows(g, now)) {
      allowing.push_back(g);
    }
    return OkStatus();
  }));
  for (StatusOr<Grant>& ended : lifecycle_->EndExpired(expired)) {
    if (ended.ok()) pending.push_back(std::move(ended).value());
  }
  if (pending.empty()) return OkStatus();
  CrashPoint("revoke.retry");
  std::vector<Status> done = lifecycle_->CompleteRevokes(pending);
  for (size_t i = 0; i < done.size() && i < pending.size(); ++i) {
    if (!done[i].ok())
      spdlog::warn("grant_id={} revoke still failing: {}", pending[i].id,
                   done[i].ToString());
  }
  return OkStatus();
}

// Other replicas on the database change grants too: their notifications
// keep this replica's check index in step, and after a lost connection the
// index is rebuilt from the store (meanwhile it still denies past
// expires_at). A reconnect also wakes the expiry loop: overdue revokes run
// first.
void JitdServer::FollowOtherReplicas() {
  PgGrantListener::Callbacks follow;
  follow.changed = [this](const std::string& id) { lifecycle_->Refresh(id); };
  follow.resynced = [this] {
    scheduler_->Poke();
    if (Status s = lifecycle_->RebuildIndex(); !s.ok())
      spdlog::warn("check index not rebuilt: {}", s.ToString());
  };
  listener_ = std::make_unique<PgGrantListener>(config_.postgres_dsn,
                                                std::move(follow));
}

Status JitdServer::Reconcile() {
  // Revoke before serving: a grant that expired while we were down must not
  // allow even one request (DESIGN invariant 4).
  DueWork work = scheduler_->RunDue(clock_.Now());
  // On a shared database a pending revoke may be another live replica's
  // (claimed): it is left to the claims, which run out if their holder died.
  if (config_.storage != "postgres") {
    std::vector<Grant> allowing;
    JIT_RETURN_IF_ERROR(RetryPendingRevokes(allowing));
    JIT_RETURN_IF_ERROR(lifecycle_->RebuildIndex(allowing));
  } else {
    JIT_RETURN_IF_ERROR(lifecycle_->RebuildIndex());
  }
  spdlog::info(
      "start-up: {} expired grant(s) revoked, {} revoke retries ({} failed), "
      "{} request(s) timed out, {} planned activation(s)",
      work.expired, work.revoke_retries, work.revoke_failures, work.timed_out,
      work.activated);
  return RecordPolicyLoaded(kSystemActor);
}

// Start-up work that need not precede serving, run once jitd is ready.
void JitdServer::FinishStartup() {
  if (Status s = ReassertActiveGrants(); !s.ok())
    spdlog::warn("start-up re-assert: {}", s.ToString());
  if (stopping_.load()) return;
  auto verify = audit_->Verify(Principal{{}, /*admin=*/true});
  if (verify.ok() && !verify->ok) {
    spdlog::error(
        "audit chain broken at seq {}: {} (jitd keeps serving and chaining)",
        verify->first_bad_seq.value_or(0), verify->reason);
  }
}

// A crash between committing a grant and the connector call leaves a
// recorded grant the target may not hold yet: grant again (idempotent).
// This runs while jitd serves, so a grant may end meanwhile: each is read
// fresh before, and checked again after, its re-grant, and taken away again
// if it no longer allows, so a re-assert never outlives a revoke.
Status JitdServer::ReassertActiveGrants() {
  JIT_ASSIGN_OR_RETURN(std::vector<Grant> active, store_->ActiveGrants());
  for (const Grant& seen : active) {
    if (stopping_.load()) break;
    StatusOr<Grant> g = store_->GetGrant(seen.id);
    // Never re-grant after expires_at, nor a grant ended meanwhile.
    if (!g.ok() || !Allows(*g, clock_.Now())) continue;
    Connector* c = connectors_.Find(g->connector);
    if (c == nullptr) continue;
    GrantSpec spec = lifecycle_->SpecFor(*g);
    auto deadline = [] {
      return std::chrono::steady_clock::now() + std::chrono::seconds(30);
    };
    if (Status s = c->Grant(spec, deadline()); !s.ok()) {
      spdlog::warn("grant_id={} re-assert at start-up failed: {}", g->id,
                   s.ToString());
      continue;
    }
    StatusOr<Grant> after = store_->GetGrant(seen.id);
    if (after.ok() && Allows(*after, clock_.Now())) continue;
    if (Status s = c->Revoke(spec, deadline()); !s.ok())
      spdlog::error("grant_id={} ended during re-assert; revoke failed: {}",
                    g->id, s.ToString());
  }
  return OkStatus();
}

Status JitdServer::RecordPolicyLoaded(const std::string& actor) {
  auto snap = policies_->Get();
  AuditEvent e;
  e.time = clock_.Now();
  e.type = AuditType::kPolicyLoaded;
  e.actor = actor;
  e.data =
      nlohmann::json{{"file", config_.path},
                     {"policy_version", snap->policies->version_hash()},
                     {"policies", snap->policies->policy_count()},
                     {"entitlements", snap->policies->entitlements().size()}}
          .dump();
  ChangeSet cs;
  cs.events.push_back(std::move(e));
  return store_->Commit(cs);
}

Status JitdServer::Start() {
  JIT_RETURN_IF_ERROR(Reconcile());
  CrashPoint("startup.after_reconcile");
  HttpServerOptions options;
  options.address = config_.listen_address;
  options.port = config_.listen_port;
  options.tls = config_.tls;
  options.tls_handshake_timeout =
      std::chrono::duration_cast<std::chrono::seconds>(
          config_.tls_handshake_timeout);
  http_ = std::make_unique<HttpServer>(
      options, [this](const HttpRequest& r) { return routes_->Handle(r); });
  JIT_RETURN_IF_ERROR(http_->Start());
  if (!config_.enforcement_socket.empty()) {
    HttpServerOptions local;
    local.unix_socket = config_.enforcement_socket;
    local.read_timeout_seconds = 5;
    enforcement_ = std::make_unique<HttpServer>(
        local, [this](const HttpRequest& r) { return EnforcementRoute(r); });
    JIT_RETURN_IF_ERROR(enforcement_->Start());
  }
  scheduler_->Start();
  if (listener_) listener_->Start();
  drift_->Start();
  checkpoints_->Start();
  if (syslog_) syslog_->Start();
  if (alerts_) alerts_->Start();
  if (expiry_notices_) expiry_notices_->Start();
  ready_.store(true);
  startup_ = std::thread([this] { FinishStartup(); });
  return OkStatus();
}

void JitdServer::Stop() {
  ready_.store(false);
  stopping_.store(true);
  if (startup_.joinable()) startup_.join();
  feed_.Shutdown();
  if (http_) http_->Stop();
  if (enforcement_) enforcement_->Stop();
  if (listener_) listener_->Stop();
  if (scheduler_) scheduler_->Stop();
  if (drift_) drift_->Stop();
  if (checkpoints_) checkpoints_->Stop();
  if (syslog_) syslog_->Stop();
  if (alerts_) alerts_->Stop();
  if (expiry_notices_) expiry_notices_->Stop();
}

// The enforcement socket answers only the two check routes: a local PAM
// module needs nothing else, and its peer-uid login is the enforcer role.
HttpResponse JitdServer::EnforcementRoute(const HttpRequest& r) const {
  if (r.path == "/v1/check" || r.path == "/v1/check/target" ||
      r.path == "/healthz") {
    return routes_->Handle(r);
  }
  HttpResponse out;
  out.status = 404;
  out.body = R"({"error":{"code":"not_found","message":"the enforcement )"
             R"(socket serves /v1/check and /v1/check/target only"}})";
  return out;
}

// Revokes are built from the entitlement as configured, so an entitlement
// with live grants may not change or vanish: the revoke would then miss the
// privilege that was granted (DESIGN invariant 4).
Status JitdServer::CheckLiveEntitlementsKept(const PolicySet& next) {
  auto current = policies_->Get()->policies;
  return ForEachLiveGrant([&](const Grant& g) {
    const Entitlement* was = current->FindEntitlement(g.entitlement);
    const Entitlement* now = next.FindEntitlement(g.entitlement);
    bool same = was != nullptr && now != nullptr &&
                was->connector == now->connector &&
                was->params_json == now->params_json;
    if (same) return OkStatus();
    return FailedPreconditionError(
        "entitlement " + g.entitlement + " changes or disappears while grant " +
        g.id + " is live; change it after its grants end");
  });
}

// A new certificate and key serve new connections. Turning TLS on or off
// needs a restart, as the listen address does.
Status JitdServer::ReloadTls(const Config& next) {
  if (!config_.tls || !next.tls) {
    if (config_.tls.has_value() != next.tls.has_value())
      spdlog::warn("tls: turning TLS on or off takes effect at restart");
    return OkStatus();
  }
  if (!http_) return OkStatus();
  JIT_RETURN_IF_ERROR(http_->ReloadTls(*next.tls));
  config_.tls = next.tls;
  spdlog::info("tls certificate reloaded from {}", next.tls->cert_file);
  return OkStatus();
}

Status JitdServer::Reload() {
  StatusOr<Config> next = LoadConfig(config_.path);
  if (!next.ok()) {
    spdlog::error("reload refused, previous config stays in force: {}",
                  next.status().message());
    return next.status();
  }
  for (const Entitlement& e : next->policies->entitlements()) {
    if (connectors_.Find(e.connector) == nullptr) {
      Status s =
          InvalidArgumentError("entitlement " + e.name + " names connector " +
                               e.connector + ", which needs a restart to add");
      spdlog::error("reload refused: {}", s.message());
      return s;
    }
  }
  for (const NotifierConfig& n : next->notifiers) {
    if (alerts_ && alerts_->NotifiedThrough(n.name)) continue;
    Status s =
        InvalidArgumentError("notifier " + n.name + " needs a restart to add");
    spdlog::error("reload refused: {}", s.message());
    return s;
  }
  if (Status s = CheckLiveEntitlementsKept(*next->policies); !s.ok()) {
    spdlog::error("reload refused: {}", s.message());
    return s;
  }
  if (next->oidc != config_.oidc) {
    Status s = InvalidArgumentError("auth.oidc changes need a restart");
    spdlog::error("reload refused: {}", s.message());
    return s;
  }
  if (Status s = ReloadTls(*next); !s.ok()) {
    spdlog::error("reload refused: {}", s.message());
    return s;
  }
  policies_->Set(SnapshotOf(*next));
  auth_->Replace(next->tokens, next->roles);
  config_.policies = next->policies;
  config_.tokens = next->tokens;
  config_.roles = next->roles;
  spdlog::info("config reloaded from {}", config_.path);
  return RecordPolicyLoaded("reload");
}

}  // namespace jit
