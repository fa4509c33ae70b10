#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "jit/audit/checkpoint.h"

namespace jit {

// What an audit export (JSON Lines, docs/audit.md "Export format") proved.
struct ExportVerdict {
  bool ok = false;
  int64_t events = 0;       // events that checked out
  int64_t first_seq = 0;    // first event's seq (anchor seq + 1)
  int64_t last_seq = 0;     // seq of the last good event (or the anchor's)
  std::string head;         // hash of the last good event
  int64_t checkpoints = 0;  // in-log checkpoints whose signature checked out
  std::string from, to;     // the range the export says it covers
  std::optional<int64_t> first_bad_seq;
  int64_t bad_line = 0;  // 1-based line of the first problem, 0 = none
  std::string reason;
};

// Checks an export line by line without jitd: the signed anchor, every
// event's seq, prev_hash and hash (recomputed here from the documented
// canonical form, independently of the code that writes the log), the
// signatures of checkpoints inside the log, and the signed end line that
// proves nothing was cut off. Edits, deletions, reordering and truncation
// are all reported with the first bad seq. Not thread-safe; one instance
// per export.
class ExportVerifier {
 public:
  explicit ExportVerifier(CheckpointKey key) : key_(std::move(key)) {}
  // Returns false once the export is judged broken (later lines ignored).
  bool AddLine(std::string_view line);
  // The verdict after the last line; an export without its end line is
  // broken (truncated).
  ExportVerdict Finish();

 private:
  bool Fail(std::optional<int64_t> seq, std::string why);
  std::string Unproven() const;
  bool Header(std::string_view line);
  bool Event(std::string_view line);
  bool End(std::string_view line);

  CheckpointKey key_;
  ExportVerdict v_;
  int64_t line_ = 0;
  bool header_seen_ = false;
  bool end_seen_ = false;
  bool broken_ = false;
  int64_t next_seq_ = 0;
  int64_t proven_through_ = 0;  // last seq a signature that holds vouches for
  std::string prev_;
  // Recent (seq, hash) pairs, to check checkpoints that cover them.
  std::deque<std::pair<int64_t, std::string>> recent_;
};

// The canonical hash of one exported event (docs/audit.md), computed from
// its JSON fields. kInvalidArgument when a field is missing or mistyped.
StatusOr<std::string> ExportedEventHash(std::string_view line);

}  // namespace jit
