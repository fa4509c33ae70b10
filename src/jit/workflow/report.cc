#include "jit/workflow/report.h"

#include <algorithm>

#include "jit/base/duration.h"

namespace jit {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxRows = 100;
constexpr size_t kPurposes = 5;

std::string Text(const json& data, const char* key) {
  auto it = data.find(key);
  return it != data.end() && it->is_string() ? it->get<std::string>() : "";
}

// A count or length in ms: 0 unless a non-negative integer, capped so that
// sums of a few million of them cannot overflow (the log may be tampered).
int64_t Number(const json& data, const char* key) {
  constexpr int64_t kCap = int64_t{1} << 40;  // about 35 years in ms
  auto it = data.find(key);
  if (it == data.end() || !it->is_number_integer()) return 0;
  if (it->is_number_unsigned())
    return std::min<uint64_t>(it->get<uint64_t>(), kCap);
  return std::clamp<int64_t>(it->get<int64_t>(), 0, kCap);
}

bool Flag(const json& data, const char* key) {
  auto it = data.find(key);
  return it != data.end() && it->is_boolean() && it->get<bool>();
}

// {count, p50, p90, max} of `values` (nearest rank); zeros when empty.
json Spread(std::vector<int64_t> values) {
  json out = {{"count", values.size()}, {"p50", 0}, {"p90", 0}, {"max", 0}};
  if (values.empty()) return out;
  std::sort(values.begin(), values.end());
  auto rank = [&values](double q) {
    size_t i = static_cast<size_t>(q * static_cast<double>(values.size()));
    return values[std::min(i, values.size() - 1)];
  };
  out["p50"] = rank(0.5);
  out["p90"] = rank(0.9);
  out["max"] = values.back();
  return out;
}

template <typename Stats, typename ToRow>
json Rows(const std::map<std::string, Stats>& m, const ToRow& to_row,
          const char* sort_key) {
  std::vector<json> rows;
  for (const auto& [key, stats] : m) rows.push_back(to_row(key, stats));
  std::stable_sort(
      rows.begin(), rows.end(), [sort_key](const json& a, const json& b) {
        return a[sort_key].get<int64_t>() > b[sort_key].get<int64_t>();
      });
  if (rows.size() > kMaxRows) rows.resize(kMaxRows);
  return rows;
}

}  // namespace

void ReportBuilder::Add(const AuditEvent& e) {
  ++events_;
  const json data = json::parse(e.data, nullptr, /*allow_exceptions=*/false);
  if (!data.is_object()) return;
  switch (e.type) {
    case AuditType::kRequestCreated: {
      ++by_state_["created"];
      const std::string ent = Text(data, "entitlement");
      requests_[e.request_id] = Pending{e.time, ent, e.subject};
      for (Usage* u : {&by_entitlement_[ent], &by_user_[e.subject]}) {
        ++u->requests;
        if (!Text(data, "ticket").empty())
          u->tickets.insert(Text(data, "ticket"));
      }
      Usage& u = by_entitlement_[ent];
      u.purposes.push_back(Text(data, "justification"));
      if (u.purposes.size() > kPurposes) u.purposes.erase(u.purposes.begin());
      break;
    }
    case AuditType::kRequestRejected: {
      ++by_state_["rejected"];
      const std::string ent = Text(data, "entitlement");
      if (!ent.empty()) ++by_entitlement_[ent].rejected;
      auto reasons = data.find("reasons");
      if (reasons != data.end() && reasons->is_array()) {
        for (const json& r : *reasons) {
          if (r.is_string()) ++denied_reasons_[r.get<std::string>()];
        }
      }
      break;
    }
    case AuditType::kRequestApproved: {
      ++by_state_["approved"];
      if (e.actor == "policy") break;  // auto-approval: nobody decided
      ApproverStats& a = by_approver_[e.actor];
      ++a.approvals;
      auto req = requests_.find(e.request_id);
      if (req == requests_.end()) break;
      const int64_t seconds = std::chrono::duration_cast<std::chrono::seconds>(
                                  e.time - req->second.created)
                                  .count();
      a.seconds_to_decide.push_back(seconds);
      if (Flag(data, "final")) seconds_to_approve_.push_back(seconds);
      break;
    }
    case AuditType::kRequestDenied: {
      ++by_state_["denied"];
      ApproverStats& a = by_approver_[e.actor];
      ++a.denials;
      auto req = requests_.find(e.request_id);
      if (req != requests_.end()) {
        a.seconds_to_decide.push_back(
            std::chrono::duration_cast<std::chrono::seconds>(
                e.time - req->second.created)
                .count());
      }
      break;
    }
    case AuditType::kRequestCancelled:
      ++by_state_["cancelled"];
      break;
    case AuditType::kRequestTimedOut:
      ++by_state_["timed_out"];
      break;
    case AuditType::kEmergencyUsed: {
      auto req = requests_.find(e.request_id);
      const std::string ent =
          req != requests_.end() ? req->second.entitlement : "";
      ++by_entitlement_[ent].emergency;
      ++by_user_[e.subject].emergency;
      if (emergencies_.size() < kMaxRows) {
        emergencies_.push_back({{"time", FormatTime(e.time)},
                                {"subject", e.subject},
                                {"entitlement", ent},
                                {"request_id", e.request_id},
                                {"justification", Text(data, "justification")},
                                {"ticket", Text(data, "ticket")}});
      }
      break;
    }
    case AuditType::kGrantActivated: {
      ++grants_;
      ++by_entitlement_[Text(data, "entitlement")].grants;
      ++by_user_[e.subject].grants;
      break;
    }
    case AuditType::kGrantExpired:
    case AuditType::kGrantRevoked: {
      const int64_t held = Number(data, "held_ms");
      grant_seconds_total_ += held / 1000;
      by_entitlement_[Text(data, "entitlement")].held_ms.push_back(held);
      by_user_[e.subject].held_ms.push_back(held);
      break;
    }
    case AuditType::kGrantRevokeFailed:
      ++revoke_failures_;
      if (Flag(data, "alert")) ++revoke_alerts_;
      break;
    case AuditType::kGrantSessionsKilled:
      if (data.contains("revoke_latency_ms"))
        revoke_latency_ms_.push_back(Number(data, "revoke_latency_ms"));
      break;
    case AuditType::kDriftFound: {
      const std::string connector = Text(data, "connector");
      const std::string user = Text(data, "target_user");
      const std::string privilege = Text(data, "privilege");
      Standing& s = standing_[connector + '\0' + user + '\0' + privilege];
      if (s.seen++ == 0) {
        s.connector = connector;
        s.target_user = user;
        s.privilege = privilege;
        s.first_seen = FormatTime(e.time);
      }
      s.since = Text(data, "since");
      s.last_seen = FormatTime(e.time);
      s.last_action = Text(data, "action");
      break;
    }
    default:
      break;
  }
}

json ReportBuilder::Finish() const {
  auto usage_row = [](const char* key_name) {
    return [key_name](const std::string& key, const Usage& u) {
      json held = Spread(u.held_ms);
      int64_t total = 0;
      for (int64_t ms : u.held_ms) total += ms;
      return json{{key_name, key},
                  {"requests", u.requests},
                  {"grants", u.grants},
                  {"rejected", u.rejected},
                  {"emergency", u.emergency},
                  {"held_seconds_total", total / 1000},
                  {"held_seconds_p50", held["p50"].get<int64_t>() / 1000},
                  {"held_seconds_max", held["max"].get<int64_t>() / 1000},
                  {"tickets", u.tickets.size()},
                  {"recent_purposes", u.purposes}};
    };
  };
  json by_approver = Rows(
      by_approver_,
      [](const std::string& who, const ApproverStats& a) {
        return json{{"approver", who},
                    {"approvals", a.approvals},
                    {"denials", a.denials},
                    {"decisions", a.approvals + a.denials},
                    {"seconds_to_decide", Spread(a.seconds_to_decide)}};
      },
      "decisions");
  json standing = json::array();
  for (const auto& [key, s] : standing_) {
    if (standing.size() == kMaxRows) break;
    standing.push_back({{"connector", s.connector},
                        {"target_user", s.target_user},
                        {"privilege", s.privilege},
                        {"since", s.since.empty() ? json() : json(s.since)},
                        {"first_seen", s.first_seen},
                        {"last_seen", s.last_seen},
                        {"times_seen", s.seen},
                        {"last_action", s.last_action}});
  }
  json denied = json::array();
  for (const auto& [reason, count] : denied_reasons_)
    denied.push_back({{"reason", reason}, {"count", count}});
  std::stable_sort(
      denied.begin(), denied.end(), [](const json& a, const json& b) {
        return a["count"].get<int64_t>() > b["count"].get<int64_t>();
      });
  std::map<std::string, int64_t> requests_by_entitlement;
  for (const auto& [ent, u] : by_entitlement_) {
    if (u.requests > 0) requests_by_entitlement[ent] = u.requests;
  }
  return {{"events", events_},
          {"requests", by_state_},
          {"requests_by_entitlement", requests_by_entitlement},
          {"denied_reasons", denied_reasons_},
          {"denied", denied},
          {"emergency_uses", emergencies_.size()},
          {"emergencies", emergencies_},
          {"grants", grants_},
          {"grant_seconds_total", grant_seconds_total_},
          {"revoke_failures", revoke_failures_},
          {"revoke_alerts", revoke_alerts_},
          {"by_entitlement",
           Rows(by_entitlement_, usage_row("entitlement"), "requests")},
          {"by_user", Rows(by_user_, usage_row("subject"), "requests")},
          {"by_approver", by_approver},
          {"seconds_to_approve", Spread(seconds_to_approve_)},
          {"revoke_latency_ms", Spread(revoke_latency_ms_)},
          {"standing_privileges", standing}};
}

}  // namespace jit
