#include "jit/connectors/ssh_cert/ssh_cert_state.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "jit/base/duration.h"
#include "jit/base/ids.h"

namespace jit {
namespace {

constexpr int kStateVersion = 1;

// Throws nlohmann::json::exception on a missing or mistyped field.
SshCertGrantRecord RecordFromJson(const nlohmann::json& j) {
  SshCertGrantRecord r;
  r.expires_at = FromUnixMillis(j.at("expires_at_ms").get<int64_t>());
  r.certs_valid_until =
      FromUnixMillis(j.at("certs_valid_until_ms").get<int64_t>());
  r.revoked = j.at("revoked").get<bool>();
  // Absent in states written before it was kept: the validity's end.
  r.revoked_at = FromUnixMillis(
      j.value("revoked_at_ms",
              ToUnixMillis(std::max(r.expires_at, r.certs_valid_until))));
  return r;
}

}  // namespace

StatusOr<SshCertState> SshCertState::Load(const std::filesystem::path& file) {
  SshCertState state(file);
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return state;
  std::ifstream in(file, std::ios::binary);
  if (!in) return UnavailableError("cannot read " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  try {
    nlohmann::json j = nlohmann::json::parse(text.str());
    if (j.at("version").get<int>() != kStateVersion) {
      return InternalError(file.string() + ": unknown state version");
    }
    state.next_serial_ = j.at("next_serial").get<uint64_t>();
    for (const auto& [id, rec] : j.at("grants").items()) {
      state.grants_[id] = RecordFromJson(rec);
    }
  } catch (const nlohmann::json::exception& e) {
    return InternalError(
        fmt::format("{}: state does not parse: {}", file.string(), e.what()));
  }
  if (state.next_serial_ == 0) state.next_serial_ = 1;
  return state;
}

Status SshCertState::Save() const {
  nlohmann::json grants = nlohmann::json::object();
  for (const auto& [id, r] : grants_) {
    grants[id] = {{"expires_at_ms", ToUnixMillis(r.expires_at)},
                  {"certs_valid_until_ms", ToUnixMillis(r.certs_valid_until)},
                  {"revoked", r.revoked},
                  {"revoked_at_ms", ToUnixMillis(r.revoked_at)}};
  }
  nlohmann::json j = {{"version", kStateVersion},
                      {"next_serial", next_serial_},
                      {"grants", std::move(grants)}};
  return WriteFileAtomically(
      file_, j.dump(1) + "\n",
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

std::vector<std::string> SshCertState::RevokedIds() const {
  std::vector<std::string> ids;
  for (const auto& [id, r] : grants_) {
    if (r.revoked) ids.push_back(id);
  }
  return ids;
}

bool SshCertState::Prune(SystemTime now, std::chrono::seconds retention) {
  bool dropped = false;
  for (auto it = grants_.begin(); it != grants_.end();) {
    const SshCertGrantRecord& r = it->second;
    SystemTime last = std::max(r.expires_at, r.certs_valid_until);
    if (r.revoked) last = std::max(last, r.revoked_at);
    if (last + retention < now) {
      it = grants_.erase(it);
      dropped = true;
    } else {
      ++it;
    }
  }
  return dropped;
}

}  // namespace jit
