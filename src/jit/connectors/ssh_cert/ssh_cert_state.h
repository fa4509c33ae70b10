#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "jit/base/clock.h"
#include "jit/base/files.h"
#include "jit/base/status.h"

namespace jit {

// One grant the CA knows.
struct SshCertGrantRecord {
  SystemTime expires_at{};  // the grant's, as last given to Grant/Revoke
  // Latest valid_before of any certificate issued under the grant; a
  // revoked entry stays in the KRL at least until then.
  SystemTime certs_valid_until{};
  bool revoked = false;
  // Wall time of the last Revoke; the entry stays in the KRL at least
  // `retention` after it, whatever the validity says.
  SystemTime revoked_at{};
};

// The CA's persisted book-keeping: the next certificate serial and the
// grants (issuable or revoked). Saved as JSON, written atomically (temp file
// + fsync + rename), mode 0600. Not thread-safe: the connector guards it.
class SshCertState {
 public:
  // Reads `file`; a missing file is an empty state (serials from 1).
  // kUnavailable when unreadable, kInternal when it does not parse.
  static StatusOr<SshCertState> Load(const std::filesystem::path& file);
  Status Save() const;

  // Hands out the next serial (never 0, never reused once Save()d).
  uint64_t TakeSerial() { return next_serial_++; }
  std::map<std::string, SshCertGrantRecord>& grants() { return grants_; }
  const std::map<std::string, SshCertGrantRecord>& grants() const {
    return grants_;
  }
  // Ids of revoked grants, sorted.
  std::vector<std::string> RevokedIds() const;
  // Drops grants whose certificates all expired before `now - retention`
  // and, when revoked, that were revoked before `now - retention` too (a
  // revoked one then leaves the KRL: its certificates are dead anyway).
  // `retention` is the margin for clocks: a forward step of jitd's wall
  // clock larger than it can drop an entry early. Returns whether anything
  // was dropped.
  bool Prune(SystemTime now, std::chrono::seconds retention);

 private:
  explicit SshCertState(std::filesystem::path file) : file_(std::move(file)) {}

  std::filesystem::path file_;
  uint64_t next_serial_ = 1;
  std::map<std::string, SshCertGrantRecord> grants_;
};

}  // namespace jit
