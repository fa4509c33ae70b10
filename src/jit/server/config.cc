#include "jit/server/config.h"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "jit/base/status_macros.h"
#include "jit/identity/oidc_verifier.h"
#include "jit/storage/postgres/pg_dsn.h"

namespace jit {
namespace {

using nlohmann::json;

Status Err(const std::string& path, const YAML::Node& node,
           const std::string& what) {
  int line = node.IsDefined() ? node.Mark().line + 1 : 0;
  return InvalidArgumentError(path + ":" + std::to_string(line) + ": " + what);
}

Status CheckKeys(const std::string& path, const YAML::Node& node,
                 const std::string& where,
                 std::initializer_list<const char*> allowed) {
  if (!node.IsMap()) return Err(path, node, where + " must be a mapping");
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
    bool known = false;
    for (const char* a : allowed) known = known || key == a;
    if (!known) {
      std::string list;
      for (const char* a : allowed)
        list += std::string(list.empty() ? "" : ", ") + a;
      return Err(
          path, kv.first,
          "unknown key \"" + key + "\" in " + where + " (known: " + list + ")");
    }
  }
  return OkStatus();
}

StatusOr<std::string> Scalar(const std::string& path, const YAML::Node& node,
                             const std::string& what) {
  if (!node.IsScalar()) return Err(path, node, what + " must be a string");
  return node.as<std::string>();
}

StatusOr<std::vector<std::string>> Strings(const std::string& path,
                                           const YAML::Node& node,
                                           const std::string& what) {
  std::vector<std::string> out;
  if (!node.IsDefined() || node.IsNull()) return out;
  if (!node.IsSequence()) return Err(path, node, what + " must be a list");
  for (const auto& item : node) {
    JIT_ASSIGN_OR_RETURN(std::string s, Scalar(path, item, what + " entries"));
    out.push_back(std::move(s));
  }
  return out;
}

json ToJson(const YAML::Node& node) {
  if (node.IsMap()) {
    json j = json::object();
    for (const auto& kv : node)
      j[kv.first.as<std::string>()] = ToJson(kv.second);
    return j;
  }
  if (node.IsSequence()) {
    json j = json::array();
    for (const auto& item : node) j.push_back(ToJson(item));
    return j;
  }
  if (node.IsNull()) return nullptr;
  std::string s = node.as<std::string>();
  if (node.Tag() == "!") return s;  // quoted in YAML: keep as text
  if (s == "true" || s == "false") return s == "true";
  return s;
}

StatusOr<Duration> DurationAtLeast(const std::string& path,
                                   const YAML::Node& node,
                                   const std::string& name, Duration min);

// `key` of `node` as a string when present (else `out` is left alone).
Status OptionalScalar(const std::string& path, const YAML::Node& node,
                      const char* key, std::string& out) {
  if (!node[key].IsDefined()) return OkStatus();
  JIT_ASSIGN_OR_RETURN(
      out, Scalar(path, node[key], "auth.oidc." + std::string(key)));
  return OkStatus();
}

Status OptionalSeconds(const std::string& path, const YAML::Node& node,
                       const char* key, Duration min,
                       std::chrono::seconds& out) {
  if (!node[key].IsDefined()) return OkStatus();
  // ParseDuration wants a positive length; a zero leeway is meaningful.
  if (min == Duration(0) && node[key].IsScalar() &&
      (node[key].Scalar() == "0" || node[key].Scalar() == "0s")) {
    out = std::chrono::seconds(0);
    return OkStatus();
  }
  JIT_ASSIGN_OR_RETURN(
      Duration d,
      DurationAtLeast(path, node[key], "auth.oidc." + std::string(key), min));
  out = std::chrono::duration_cast<std::chrono::seconds>(d);
  return OkStatus();
}

Status LoadGroupMap(const std::string& path, const YAML::Node& node,
                    OidcConfig& o) {
  if (!node.IsDefined() || node.IsNull()) return OkStatus();
  if (!node.IsMap()) {
    return Err(path, node,
               "auth.oidc.group_map must map IdP groups to policy groups");
  }
  for (const auto& kv : node) {
    JIT_ASSIGN_OR_RETURN(std::string from,
                         Scalar(path, kv.first, "auth.oidc.group_map keys"));
    JIT_ASSIGN_OR_RETURN(std::string to,
                         Scalar(path, kv.second, "auth.oidc.group_map values"));
    if (from.empty() || to.empty())
      return Err(path, kv.first, "auth.oidc.group_map: empty group name");
    o.group_map[from] = to;
  }
  return OkStatus();
}

// `auth.oidc` (docs/identity.md).
Status LoadOidc(const std::string& path, const YAML::Node& node, Config& c) {
  JIT_RETURN_IF_ERROR(
      CheckKeys(path, node, "auth.oidc",
                {"issuer", "audience", "subject_claim", "groups_claim",
                 "group_map", "only_mapped_groups", "ca_file", "algorithms",
                 "leeway", "jwks_max_age", "jwks_min_refetch", "web_client_id",
                 "web_redirect_uri", "web_scope", "web_resource"}));
  if (!node["issuer"].IsDefined() || !node["audience"].IsDefined())
    return Err(path, node, "auth.oidc needs issuer and audience");
  OidcConfig o;
  const std::pair<const char*, std::string*> texts[] = {
      {"issuer", &o.issuer},
      {"audience", &o.audience},
      {"subject_claim", &o.subject_claim},
      {"groups_claim", &o.groups_claim},
      {"ca_file", &o.ca_file},
      {"web_client_id", &o.web_client_id},
      {"web_redirect_uri", &o.web_redirect_uri},
      {"web_scope", &o.web_scope},
      {"web_resource", &o.web_resource}};
  for (const auto& [key, field] : texts)
    JIT_RETURN_IF_ERROR(OptionalScalar(path, node, key, *field));
  JIT_RETURN_IF_ERROR(LoadGroupMap(path, node["group_map"], o));
  if (YAML::Node only = node["only_mapped_groups"]; only.IsDefined()) {
    JIT_ASSIGN_OR_RETURN(std::string text,
                         Scalar(path, only, "only_mapped_groups"));
    if (text != "true" && text != "false")
      return Err(path, only,
                 "auth.oidc.only_mapped_groups must be true or false");
    o.only_mapped_groups = text == "true";
  }
  if (node["algorithms"].IsDefined()) {
    JIT_ASSIGN_OR_RETURN(o.algorithms, Strings(path, node["algorithms"],
                                               "auth.oidc.algorithms"));
  }
  JIT_RETURN_IF_ERROR(
      OptionalSeconds(path, node, "leeway", Duration(0), o.leeway));
  JIT_RETURN_IF_ERROR(OptionalSeconds(path, node, "jwks_max_age",
                                      std::chrono::seconds(1), o.jwks_max_age));
  JIT_RETURN_IF_ERROR(OptionalSeconds(path, node, "jwks_min_refetch",
                                      Duration(0), o.jwks_min_refetch));
  if (Status valid = ValidateOidcConfig(o); !valid.ok())
    return Err(path, node, valid.message());
  if (!o.ca_file.empty() && !std::ifstream(o.ca_file).good())
    return Err(path, node["ca_file"],
               "cannot read auth.oidc.ca_file " + o.ca_file);
  c.oidc = std::move(o);
  return OkStatus();
}

Status LoadTokens(const std::string& path, const YAML::Node& auth, Config& c) {
  JIT_RETURN_IF_ERROR(
      CheckKeys(path, auth, "auth",
                {"tokens", "oidc", "rate_limit", "machine_tokens", "mfa"}));
  if (auth["oidc"].IsDefined())
    JIT_RETURN_IF_ERROR(LoadOidc(path, auth["oidc"], c));
  YAML::Node tokens = auth["tokens"];
  if (!tokens.IsDefined()) return OkStatus();
  if (!tokens.IsSequence())
    return Err(path, tokens, "auth.tokens must be a list");
  std::set<std::string> hashes;
  std::set<std::string> subjects;
  for (const auto& t : tokens) {
    JIT_RETURN_IF_ERROR(
        CheckKeys(path, t, "a token entry",
                  {"subject", "groups", "token", "token_sha256", "person"}));
    TokenEntry e;
    if (!t["subject"].IsDefined())
      return Err(path, t, "token entry needs subject");
    JIT_ASSIGN_OR_RETURN(e.subject.name, Scalar(path, t["subject"], "subject"));
    JIT_ASSIGN_OR_RETURN(e.subject.groups,
                         Strings(path, t["groups"], "groups"));
    if (t["person"].IsDefined()) {
      JIT_ASSIGN_OR_RETURN(e.subject.person,
                           Scalar(path, t["person"], "person"));
    } else {
      e.subject.person = e.subject.name;
    }
    bool plain = t["token"].IsDefined();
    bool hashed = t["token_sha256"].IsDefined();
    if (plain == hashed)
      return Err(path, t, "give exactly one of token or token_sha256");
    if (plain) {
      JIT_ASSIGN_OR_RETURN(std::string token,
                           Scalar(path, t["token"], "token"));
      if (token.size() < 16)
        return Err(path, t["token"], "token must be at least 16 characters");
      e.token_sha256 = Sha256Hex(token);
    } else {
      JIT_ASSIGN_OR_RETURN(e.token_sha256,
                           Scalar(path, t["token_sha256"], "token_sha256"));
      bool hex = e.token_sha256.size() == 64 &&
                 e.token_sha256.find_first_not_of("0123456789abcdefABCDEF") ==
                     std::string::npos;
      if (!hex) {
        return Err(path, t["token_sha256"],
                   "token_sha256 must be 64 hex digits");
      }
      for (char& ch : e.token_sha256) ch = static_cast<char>(std::tolower(ch));
    }
    if (!hashes.insert(e.token_sha256).second)
      return Err(path, t, "the same token is listed twice");
    if (!subjects.insert(e.subject.name).second) {
      // One subject, one set of groups: an alias is another subject with
      // the same `person`.
      return Err(path, t,
                 "subject \"" + e.subject.name +
                     "\" has a token already (use person: for aliases)");
    }
    c.tokens.push_back(std::move(e));
  }
  return OkStatus();
}

Status LoadRoles(const std::string& path, const YAML::Node& roles, Config& c) {
  if (!roles.IsDefined()) return OkStatus();
  JIT_RETURN_IF_ERROR(
      CheckKeys(path, roles, "roles", {"admin", "auditor", "enforcer"}));
  JIT_ASSIGN_OR_RETURN(c.roles.admin,
                       Strings(path, roles["admin"], "roles.admin"));
  JIT_ASSIGN_OR_RETURN(c.roles.auditor,
                       Strings(path, roles["auditor"], "roles.auditor"));
  JIT_ASSIGN_OR_RETURN(c.roles.enforcer,
                       Strings(path, roles["enforcer"], "roles.enforcer"));
  return OkStatus();
}

// A duration at `node` of at least `min`.
StatusOr<Duration> DurationAtLeast(const std::string& path,
                                   const YAML::Node& node,
                                   const std::string& name, Duration min) {
  JIT_ASSIGN_OR_RETURN(std::string text, Scalar(path, node, name));
  StatusOr<Duration> parsed = ParseDuration(text);
  if (!parsed.ok()) return Err(path, node, parsed.status().message());
  if (*parsed < min) {
    return Err(path, node, name + " must be at least " + FormatDuration(min));
  }
  return *parsed;
}

StatusOr<DiscoveryConfig> LoadDiscovery(const std::string& path,
                                        const YAML::Node& node,
                                        const std::string& connector) {
  if (!node.IsMap()) {
    return Err(path, node, "discovery must be a mapping {mode, every}");
  }
  JIT_RETURN_IF_ERROR(CheckKeys(path, node, "discovery", {"mode", "every"}));
  DiscoveryConfig d;
  d.connector = connector;
  if (node["mode"].IsDefined()) {
    JIT_ASSIGN_OR_RETURN(d.mode, Scalar(path, node["mode"], "discovery.mode"));
  }
  if (d.mode != "report" && d.mode != "enforce") {
    return Err(path, node, "discovery.mode must be report or enforce");
  }
  if (node["every"].IsDefined()) {
    JIT_ASSIGN_OR_RETURN(d.every,
                         DurationAtLeast(path, node["every"], "discovery.every",
                                         std::chrono::seconds(1)));
  }
  return d;
}

// `audit.syslog: {address: HOST:PORT, tls: {ca_file: PATH}, facility: N}`.
Status LoadSyslog(const std::string& path, const YAML::Node& node, Config& c) {
  JIT_RETURN_IF_ERROR(
      CheckKeys(path, node, "audit.syslog", {"address", "tls", "facility"}));
  SyslogOptions o;
  if (!node["address"].IsDefined())
    return Err(path, node, "audit.syslog needs address: HOST:PORT");
  JIT_ASSIGN_OR_RETURN(std::string address,
                       Scalar(path, node["address"], "audit.syslog.address"));
  Status s = ParseListen(address, o.host, o.port);
  if (!s.ok() || o.host.empty() || o.port == 0) {
    return Err(path, node["address"],
               "audit.syslog.address must be HOST:PORT with a port 1..65535");
  }
  YAML::Node tls = node["tls"];
  if (tls.IsDefined()) {
    JIT_RETURN_IF_ERROR(CheckKeys(path, tls, "audit.syslog.tls", {"ca_file"}));
    if (!tls["ca_file"].IsDefined())
      return Err(path, tls, "audit.syslog.tls needs ca_file");
    JIT_ASSIGN_OR_RETURN(
        o.ca_file, Scalar(path, tls["ca_file"], "audit.syslog.tls.ca_file"));
    if (o.ca_file.empty())
      return Err(path, tls["ca_file"], "audit.syslog.tls.ca_file is empty");
  }
  YAML::Node facility = node["facility"];
  if (facility.IsDefined()) {
    JIT_ASSIGN_OR_RETURN(std::string text,
                         Scalar(path, facility, "audit.syslog.facility"));
    auto [end, ec] =
        std::from_chars(text.data(), text.data() + text.size(), o.facility);
    if (ec != std::errc() || end != text.data() + text.size() ||
        o.facility < 0 || o.facility > 23) {
      return Err(path, facility,
                 "audit.syslog.facility must be a number from 0 to 23");
    }
  }
  c.syslog = std::move(o);
  return OkStatus();
}

Status LoadAudit(const std::string& path, const YAML::Node& node, Config& c) {
  if (!node.IsDefined()) return OkStatus();
  if (!node.IsMap()) {
    return Err(path, node,
               "audit must be a mapping {checkpoint_every, "
               "checkpoint_events, syslog}");
  }
  JIT_RETURN_IF_ERROR(
      CheckKeys(path, node, "audit",
                {"checkpoint_every", "checkpoint_events", "syslog"}));
  if (node["syslog"].IsDefined())
    JIT_RETURN_IF_ERROR(LoadSyslog(path, node["syslog"], c));
  if (node["checkpoint_every"].IsDefined()) {
    JIT_ASSIGN_OR_RETURN(
        c.checkpoint_every,
        DurationAtLeast(path, node["checkpoint_every"],
                        "audit.checkpoint_every", std::chrono::seconds(1)));
  }
  YAML::Node events = node["checkpoint_events"];
  if (events.IsDefined()) {
    JIT_ASSIGN_OR_RETURN(std::string text,
                         Scalar(path, events, "audit.checkpoint_events"));
    int64_t value = 0;
    auto [end, ec] =
        std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < 1 ||
        value > 1'000'000) {
      return Err(path, events,
                 "audit.checkpoint_events must be a number from 1 to 1000000");
    }
    c.checkpoint_events = value;
  }
  return OkStatus();
}

Status LoadConnectors(const std::string& path, const YAML::Node& list,
                      Config& c) {
  if (!list.IsDefined()) return OkStatus();
  if (!list.IsSequence()) return Err(path, list, "connectors must be a list");
  std::set<std::string> names;
  for (const auto& item : list) {
    if (!item.IsMap()) return Err(path, item, "a connector must be a mapping");
    if (!item["name"].IsDefined() || !item["type"].IsDefined()) {
      return Err(path, item, "a connector needs name and type");
    }
    ConnectorConfig cc;
    JIT_ASSIGN_OR_RETURN(cc.name, Scalar(path, item["name"], "name"));
    JIT_ASSIGN_OR_RETURN(cc.type, Scalar(path, item["type"], "type"));
    if (!names.insert(cc.name).second) {
      return Err(path, item, "connector name \"" + cc.name + "\" used twice");
    }
    json whole = ToJson(item);
    if (item["discovery"].IsDefined()) {
      JIT_ASSIGN_OR_RETURN(DiscoveryConfig d,
                           LoadDiscovery(path, item["discovery"], cc.name));
      c.discovery.push_back(std::move(d));
      whole.erase("discovery");  // the server's key, not the connector's
    }
    cc.config_json = whole.dump();
    cc.origin = path + ":" + std::to_string(item.Mark().line + 1);
    c.connectors.push_back(std::move(cc));
  }
  return OkStatus();
}

// `storage: {postgres: DSN}` or `storage: {postgres: {dsn_file: PATH}}`. An
// inline DSN must not carry a password (the file may be world-readable).
Status LoadPostgresStorage(const std::string& path, const YAML::Node& storage,
                           Config& c) {
  JIT_RETURN_IF_ERROR(CheckKeys(path, storage, "storage", {"postgres"}));
  YAML::Node pg = storage["postgres"];
  if (!pg.IsDefined()) return Err(path, storage, "storage.postgres is missing");
  Status checked;
  if (pg.IsMap()) {
    JIT_RETURN_IF_ERROR(CheckKeys(path, pg, "storage.postgres", {"dsn_file"}));
    JIT_ASSIGN_OR_RETURN(std::string file, Scalar(path, pg["dsn_file"],
                                                  "storage.postgres.dsn_file"));
    StatusOr<std::string> dsn = ReadDsnFile(file);
    if (!dsn.ok()) return Err(path, pg["dsn_file"], dsn.status().message());
    c.postgres_dsn = std::move(dsn).value();
    checked = CheckDsn(c.postgres_dsn, DsnPassword::kAllowed);
  } else {
    JIT_ASSIGN_OR_RETURN(c.postgres_dsn,
                         Scalar(path, pg, "storage.postgres (a DSN)"));
    checked = CheckDsn(c.postgres_dsn, DsnPassword::kRefused);
  }
  if (!checked.ok()) return Err(path, pg, checked.message());
  c.storage = "postgres";
  return OkStatus();
}

// A whole number in [min, max] at `node`.
StatusOr<int64_t> IntegerIn(const std::string& path, const YAML::Node& node,
                            const std::string& name, int64_t min, int64_t max) {
  JIT_ASSIGN_OR_RETURN(std::string text, Scalar(path, node, name));
  int64_t value = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min ||
      value > max) {
    return Err(path, node,
               name + " must be a number from " + std::to_string(min) + " to " +
                   std::to_string(max));
  }
  return value;
}

// `auth.machine_tokens: {max_ttl: DURATION}`.
Status LoadMachineTokens(const std::string& path, const YAML::Node& node,
                         Config& c) {
  if (!node.IsDefined()) return OkStatus();
  JIT_RETURN_IF_ERROR(
      CheckKeys(path, node, "auth.machine_tokens", {"max_ttl"}));
  if (node["max_ttl"].IsDefined()) {
    JIT_ASSIGN_OR_RETURN(
        c.machine_token_max_ttl,
        DurationAtLeast(path, node["max_ttl"], "auth.machine_tokens.max_ttl",
                        std::chrono::minutes(1)));
  }
  return OkStatus();
}

// `auth.mfa: {max_age: DURATION, amr_values: [...], acr_values: [...]}`.
Status LoadMfa(const std::string& path, const YAML::Node& node, Config& c) {
  if (!node.IsDefined()) return OkStatus();
  JIT_RETURN_IF_ERROR(CheckKeys(path, node, "auth.mfa",
                                {"max_age", "amr_values", "acr_values"}));
  MfaOptions& o = c.mfa;
  if (node["max_age"].IsDefined()) {
    JIT_ASSIGN_OR_RETURN(
        Duration d, DurationAtLeast(path, node["max_age"], "auth.mfa.max_age",
                                    std::chrono::seconds(1)));
    o.max_age = std::chrono::duration_cast<std::chrono::seconds>(d);
  }
  if (node["amr_values"].IsDefined()) {
    JIT_ASSIGN_OR_RETURN(
        o.amr_values, Strings(path, node["amr_values"], "auth.mfa.amr_values"));
  }
  if (node["acr_values"].IsDefined()) {
    JIT_ASSIGN_OR_RETURN(
        o.acr_values, Strings(path, node["acr_values"], "auth.mfa.acr_values"));
  }
  return OkStatus();
}

// `auth.rate_limit: {failures: N, per: DURATION, max_sources: N}`.
Status LoadRateLimit(const std::string& path, const YAML::Node& node,
                     Config& c) {
  if (!node.IsDefined()) return OkStatus();
  JIT_RETURN_IF_ERROR(CheckKeys(path, node, "auth.rate_limit",
                                {"failures", "per", "max_sources"}));
  AuthRateLimitOptions& o = c.auth_rate_limit;
  if (node["failures"].IsDefined()) {
    JIT_ASSIGN_OR_RETURN(
        int64_t n, IntegerIn(path, node["failures"], "auth.rate_limit.failures",
                             1, 100'000));
    o.failures = static_cast<int>(n);
  }
  if (node["per"].IsDefined()) {
    JIT_ASSIGN_OR_RETURN(
        o.per, DurationAtLeast(path, node["per"], "auth.rate_limit.per",
                               std::chrono::seconds(1)));
  }
  if (node["max_sources"].IsDefined()) {
    JIT_ASSIGN_OR_RETURN(
        int64_t n, IntegerIn(path, node["max_sources"],
                             "auth.rate_limit.max_sources", 100, 10'000'000));
    o.max_keys = static_cast<size_t>(n);
  }
  if (o.per / o.failures < std::chrono::milliseconds(1)) {
    return Err(path, node,
               "auth.rate_limit allows more than one failure per millisecond");
  }
  return OkStatus();
}

// `tls: {cert: FILE, key: FILE, handshake_timeout: DURATION}`. The files are
// read when the listener starts.
Status LoadTls(const std::string& path, const YAML::Node& node, Config& c) {
  if (!node.IsDefined()) return OkStatus();
  JIT_RETURN_IF_ERROR(
      CheckKeys(path, node, "tls", {"cert", "key", "handshake_timeout"}));
  if (!node["cert"].IsDefined() || !node["key"].IsDefined())
    return Err(path, node, "tls needs cert and key (PEM files)");
  TlsFiles files;
  JIT_ASSIGN_OR_RETURN(files.cert_file, Scalar(path, node["cert"], "tls.cert"));
  JIT_ASSIGN_OR_RETURN(files.key_file, Scalar(path, node["key"], "tls.key"));
  if (files.cert_file.empty() || files.key_file.empty())
    return Err(path, node, "tls.cert and tls.key must not be empty");
  if (node["handshake_timeout"].IsDefined()) {
    JIT_ASSIGN_OR_RETURN(
        c.tls_handshake_timeout,
        DurationAtLeast(path, node["handshake_timeout"],
                        "tls.handshake_timeout", std::chrono::seconds(1)));
  }
  c.tls = std::move(files);
  return OkStatus();
}

// `web: {dir: PATH}`: where the built web console is.
Status LoadWeb(const std::string& path, const YAML::Node& node, Config& c) {
  if (!node.IsDefined()) return OkStatus();
  JIT_RETURN_IF_ERROR(CheckKeys(path, node, "web", {"dir"}));
  if (node["dir"].IsDefined()) {
    JIT_ASSIGN_OR_RETURN(c.web_dir, Scalar(path, node["dir"], "web.dir"));
  }
  return OkStatus();
}

// `notifiers: [{name, type, url, ...}]`; each entry read by
// ParseNotifierConfig.
Status LoadNotifiers(const std::string& path, const YAML::Node& list,
                     Config& c) {
  if (!list.IsDefined() || list.IsNull()) return OkStatus();
  if (!list.IsSequence()) return Err(path, list, "notifiers must be a list");
  std::set<std::string> names;
  for (const auto& item : list) {
    const std::string origin =
        path + ":" + std::to_string(item.Mark().line + 1);
    JIT_ASSIGN_OR_RETURN(NotifierConfig n,
                         ParseNotifierConfig(ToJson(item), origin));
    if (!names.insert(n.name).second)
      return Err(path, item, "notifier name \"" + n.name + "\" used twice");
    c.notifiers.push_back(std::move(n));
  }
  return OkStatus();
}

// `integrations: {slack: {signing_secret_file, users}}`.
Status LoadIntegrations(const std::string& path, const YAML::Node& node,
                        Config& c) {
  if (!node.IsDefined() || node.IsNull()) return OkStatus();
  JIT_RETURN_IF_ERROR(CheckKeys(path, node, "integrations", {"slack"}));
  const YAML::Node slack = node["slack"];
  if (!slack.IsDefined() || slack.IsNull()) return OkStatus();
  const std::string origin = path + ":" + std::to_string(slack.Mark().line + 1);
  JIT_ASSIGN_OR_RETURN(SlackIntegrationConfig s,
                       ParseSlackIntegrationConfig(ToJson(slack), origin));
  c.slack = std::move(s);
  return OkStatus();
}

// Every name in a policy's emergency.notify must be a configured notifier.
Status CheckNotifyNames(const std::string& path, const YAML::Node& root,
                        const Config& c) {
  const YAML::Node policies = root["policies"];
  if (!policies.IsDefined() || !policies.IsSequence()) return OkStatus();
  for (const auto& p : policies) {
    // Missing keys of a const node are invalid nodes: ask IsDefined first.
    if (!p.IsMap() || !p["emergency"].IsDefined() || !p["emergency"].IsMap())
      continue;
    const YAML::Node notify = p["emergency"]["notify"];
    if (!notify.IsDefined() || !notify.IsSequence()) continue;
    for (const auto& name : notify) {
      const std::string text = name.IsScalar() ? name.as<std::string>() : "";
      const bool known =
          std::any_of(c.notifiers.begin(), c.notifiers.end(),
                      [&](const NotifierConfig& n) { return n.name == text; });
      if (!known) {
        return Err(path, name,
                   "emergency.notify names unknown notifier \"" + text +
                       "\" (add it under notifiers:)");
      }
    }
  }
  return OkStatus();
}

Status LoadTop(const std::string& path, const YAML::Node& root, Config& c) {
  JIT_RETURN_IF_ERROR(
      CheckKeys(path, root, "the config file",
                {"listen", "data_dir", "storage", "auth", "roles", "connectors",
                 "entitlements", "policies", "log_level", "enforcement_socket",
                 "audit", "tls", "notifiers", "web", "integrations"}));
  if (root["listen"].IsDefined()) {
    JIT_ASSIGN_OR_RETURN(std::string listen,
                         Scalar(path, root["listen"], "listen"));
    Status s = ParseListen(listen, c.listen_address, c.listen_port);
    if (!s.ok()) return Err(path, root["listen"], s.message());
  }
  if (root["data_dir"].IsDefined()) {
    JIT_ASSIGN_OR_RETURN(c.data_dir,
                         Scalar(path, root["data_dir"], "data_dir"));
  }
  if (root["enforcement_socket"].IsDefined()) {
    JIT_ASSIGN_OR_RETURN(
        c.enforcement_socket,
        Scalar(path, root["enforcement_socket"], "enforcement_socket"));
    if (c.enforcement_socket.empty() || c.enforcement_socket.size() > 100) {
      return Err(path, root["enforcement_socket"],
                 "enforcement_socket must be a path of 1 to 100 bytes");
    }
  }
  if (root["log_level"].IsDefined()) {
    JIT_ASSIGN_OR_RETURN(c.log_level,
                         Scalar(path, root["log_level"], "log_level"));
    static const std::set<std::string> kLevels = {
        "trace", "debug", "info", "warn", "error", "critical", "off"};
    if (!kLevels.count(c.log_level)) {
      return Err(
          path, root["log_level"],
          "log_level must be trace, debug, info, warn, error, critical or off");
    }
  }
  YAML::Node storage = root["storage"];
  if (storage.IsDefined()) {
    if (storage.IsMap()) {
      JIT_RETURN_IF_ERROR(LoadPostgresStorage(path, storage, c));
    } else if (!storage.IsScalar()) {
      return Err(path, storage,
                 "storage must be sqlite, memory or {postgres: DSN}");
    } else {
      c.storage = storage.as<std::string>();
      if (c.storage != "sqlite" && c.storage != "memory") {
        return Err(path, storage,
                   "storage must be sqlite, memory or {postgres: DSN}");
      }
    }
  }
  if (root["auth"].IsDefined())
    JIT_RETURN_IF_ERROR(LoadTokens(path, root["auth"], c));
  JIT_RETURN_IF_ERROR(LoadRoles(path, root["roles"], c));
  JIT_RETURN_IF_ERROR(LoadConnectors(path, root["connectors"], c));
  JIT_RETURN_IF_ERROR(LoadAudit(path, root["audit"], c));
  JIT_RETURN_IF_ERROR(LoadTls(path, root["tls"], c));
  JIT_RETURN_IF_ERROR(LoadWeb(path, root["web"], c));
  // A missing key of a const node is invalid: ask IsDefined first.
  if (root["auth"].IsDefined() && root["auth"].IsMap())
    JIT_RETURN_IF_ERROR(LoadRateLimit(path, root["auth"]["rate_limit"], c));
  if (root["auth"].IsDefined() && root["auth"].IsMap())
    JIT_RETURN_IF_ERROR(
        LoadMachineTokens(path, root["auth"]["machine_tokens"], c));
  if (root["auth"].IsDefined() && root["auth"].IsMap())
    JIT_RETURN_IF_ERROR(LoadMfa(path, root["auth"]["mfa"], c));
  return OkStatus();
}

}  // namespace

bool IsLoopbackHost(std::string_view host) {
  std::string text(host);
  if (text == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

Status CheckListenSecurity(const Config& c, InsecureListen insecure) {
  if (c.tls || IsLoopbackHost(c.listen_address)) return OkStatus();
  if (insecure == InsecureListen::kAllow) return OkStatus();
  return FailedPreconditionError(
      "refusing to serve plain HTTP on " + c.listen_address +
      ", which is not a loopback address: bearer tokens would cross the "
      "network in clear text. Configure tls: {cert, key}, listen on "
      "127.0.0.1, or pass --insecure (e.g. behind a TLS-terminating proxy)");
}

Status ParseListen(const std::string& text, std::string& address,
                   uint16_t& port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return InvalidArgumentError(
        "listen must be HOST:PORT, e.g. 127.0.0.1:8420");
  }
  std::string host = text.substr(0, colon);
  if (host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned value = 0;
  std::string p = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || end != p.data() + p.size() || value > 65535) {
    return InvalidArgumentError("listen port must be 0..65535");
  }
  address = host;
  port = static_cast<uint16_t>(value);
  return OkStatus();
}

StatusOr<Config> LoadConfig(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return InvalidArgumentError(path + ": cannot read the file");
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(path + ":" + std::to_string(e.mark.line + 1) +
                                ": " + e.msg);
  }
  Config c;
  c.path = path;
  try {
    JIT_RETURN_IF_ERROR(LoadTop(path, root, c));
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(path + ":" + std::to_string(e.mark.line + 1) +
                                ": " + e.msg);
  }
  JIT_ASSIGN_OR_RETURN(c.policies, PolicySet::Load(root, path));
  try {
    JIT_RETURN_IF_ERROR(LoadNotifiers(path, root["notifiers"], c));
    JIT_RETURN_IF_ERROR(LoadIntegrations(path, root["integrations"], c));
    JIT_RETURN_IF_ERROR(CheckNotifyNames(path, root, c));
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(path + ":" + std::to_string(e.mark.line + 1) +
                                ": " + e.msg);
  }
  std::set<std::string> connector_names;
  for (const ConnectorConfig& cc : c.connectors)
    connector_names.insert(cc.name);
  for (const Entitlement& e : c.policies->entitlements()) {
    if (!connector_names.count(e.connector)) {
      return InvalidArgumentError(path + ": entitlement " + e.name +
                                  " names unknown connector \"" + e.connector +
                                  "\"");
    }
  }
  return c;
}

}  // namespace jit
