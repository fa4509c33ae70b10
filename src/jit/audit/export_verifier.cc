#include "jit/audit/export_verifier.h"

#include <openssl/evp.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "jit/base/duration.h"

// Deliberately shares no code with the writer side (event.cc's
// ComputeEventHash, the stores): the canonical form is rebuilt here from
// docs/audit.md, so a writer bug cannot vouch for itself.
namespace jit {
namespace {

using Json = nlohmann::json;

constexpr size_t kRecentHashes = 4096;
constexpr size_t kMaxLineBytes = 1 << 20;
constexpr int kMaxDepth = 64;
constexpr std::string_view kGenesis =
    "0000000000000000000000000000000000000000000000000000000000000000";

// Nesting deeper than kMaxDepth, counted outside strings: printing or
// copying such a value would recurse that deep.
bool TooDeep(std::string_view line) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : line) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    if (c == '[' || c == '{') ++depth;
    if (c == ']' || c == '}') --depth;
    if (depth > kMaxDepth) return true;
  }
  return false;
}

// A JSON value, or discarded for text that is not JSON, too long or too
// deep to handle safely.
Json ParseLine(std::string_view line) {
  if (line.size() > kMaxLineBytes || TooDeep(line))
    return Json(Json::value_t::discarded);
  return Json::parse(line, nullptr, /*allow_exceptions=*/false);
}

std::optional<std::string> TextOf(const Json& j, const char* key,
                                  bool null_is_empty = false) {
  auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (null_is_empty && it->is_null()) return std::string();
  return std::nullopt;
}

std::string Sha256OfCanon(const std::string& canon) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(canon.data(), canon.size(), digest, &size, EVP_sha256(),
                 nullptr) != 1) {
    return "";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

StatusOr<std::string> CanonicalHash(const Json& e) {
  if (!e.is_object()) return InvalidArgumentError("event is not an object");
  auto seq = e.find("seq");
  if (seq == e.end() || !seq->is_number_integer() ||
      (seq->is_number_unsigned() &&
       seq->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)))
    return InvalidArgumentError("event without an integer seq");
  auto data = e.find("data");
  if (data == e.end()) return InvalidArgumentError("event without data");
  // Data is exported as the object it holds when that object prints back
  // to the stored text, and as the stored text otherwise.
  std::string data_text =
      data->is_string() ? data->get<std::string>() : data->dump(-1, ' ', false);
  std::string canon;
  auto add = [&canon](std::string_view v) {
    canon += std::to_string(v.size());
    canon += ':';
    canon += v;
    canon += '|';
  };
  std::optional<std::string> fields[8] = {
      TextOf(e, "prev_hash"),
      std::to_string(seq->get<int64_t>()),
      TextOf(e, "time"),
      TextOf(e, "type"),
      TextOf(e, "actor"),
      TextOf(e, "subject"),
      TextOf(e, "request_id", /*null_is_empty=*/true),
      TextOf(e, "grant_id", /*null_is_empty=*/true)};
  for (const auto& f : fields) {
    if (!f) return InvalidArgumentError("event with a missing text field");
    add(*f);
  }
  add(data_text);
  return Sha256OfCanon(canon);
}

StatusOr<Checkpoint> CheckpointIn(const Json& j) {
  if (!j.is_object()) return InvalidArgumentError("checkpoint missing");
  return CheckpointFromJson(j.dump());
}

}  // namespace

StatusOr<std::string> ExportedEventHash(std::string_view line) {
  Json e = ParseLine(line);
  if (e.is_discarded()) return InvalidArgumentError("not JSON");
  return CanonicalHash(e);
}

std::string ExportVerifier::Unproven() const {
  return "; nothing after seq " + std::to_string(proven_through_) +
         ", the last signature that holds, is proven";
}

bool ExportVerifier::Fail(std::optional<int64_t> seq, std::string why) {
  broken_ = true;
  v_.ok = false;
  v_.first_bad_seq = seq;
  v_.bad_line = line_;
  v_.reason = std::move(why);
  return false;
}

bool ExportVerifier::AddLine(std::string_view line) {
  if (broken_) return false;
  ++line_;
  if (end_seen_) return Fail(next_seq_, "data after the end line");
  if (!header_seen_) return Header(line);
  Json j = ParseLine(line);
  if (j.is_object() && j.contains("jitd_audit_export_end")) return End(line);
  return Event(line);
}

bool ExportVerifier::Header(std::string_view line) {
  Json j = ParseLine(line);
  if (!j.is_object() || !j.contains("jitd_audit_export") ||
      j["jitd_audit_export"] != 1)
    return Fail(std::nullopt, "not a jitd audit export (version 1 header)");
  StatusOr<Checkpoint> anchor = CheckpointIn(j.value("anchor", Json()));
  if (!anchor.ok())
    return Fail(std::nullopt, "header: " + anchor.status().message());
  v_.from = TextOf(j, "from").value_or("");
  v_.to = TextOf(j, "to").value_or("");
  if (anchor->scope != ExportScope("start", v_.from, v_.to) ||
      !key_.Verify(*anchor)) {
    return Fail(std::nullopt,
                "header: the anchor is not this export's start signed by key " +
                    key_.key_id() + " (signed by " + anchor->key_id + ")");
  }
  if (anchor->seq == 0 && anchor->hash != kGenesis)
    return Fail(std::nullopt, "header: anchor at seq 0 is not the genesis");
  header_seen_ = true;
  next_seq_ = anchor->seq + 1;
  prev_ = anchor->hash;
  proven_through_ = anchor->seq;
  v_.first_seq = next_seq_;
  v_.last_seq = anchor->seq;
  v_.head = prev_;
  return true;
}

bool ExportVerifier::Event(std::string_view line) {
  Json e = ParseLine(line);
  if (e.is_discarded()) return Fail(next_seq_, "line is not JSON");
  StatusOr<std::string> hash = CanonicalHash(e);
  if (!hash.ok()) return Fail(next_seq_, hash.status().message());
  const int64_t seq = e["seq"].get<int64_t>();
  if (seq != next_seq_) {
    return Fail(next_seq_, "expected seq " + std::to_string(next_seq_) +
                               ", found " + std::to_string(seq) +
                               " (event missing or reordered)");
  }
  if (TextOf(e, "prev_hash") != prev_)
    return Fail(seq, "prev_hash does not match the hash of the event before");
  if (TextOf(e, "hash") != *hash)
    return Fail(seq, "hash does not match the event's content (edited)");
  if (TextOf(e, "type") == "audit.checkpoint") {
    const Json& data = e["data"];
    StatusOr<Checkpoint> cp = data.is_string()
                                  ? CheckpointFromJson(data.get<std::string>())
                                  : CheckpointIn(data);
    if (!cp.ok()) return Fail(seq, "checkpoint: " + cp.status().message());
    {
      // One key per log; a checkpoint naming another is relabelled or forged.
      if (!cp->scope.empty() || cp->key_id != key_.key_id() ||
          !key_.Verify(*cp))
        return Fail(seq, "checkpoint signature does not check out with key " +
                             key_.key_id());
      for (const auto& [s, h] : recent_) {
        if (s != cp->seq) continue;
        if (h != cp->hash)
          return Fail(proven_through_ + 1,
                      "event " + std::to_string(cp->seq) +
                          " differs from the checkpoint signed at seq " +
                          std::to_string(seq) + " (rewritten)" + Unproven());
        proven_through_ = std::max(proven_through_, s);
      }
      ++v_.checkpoints;
    }
  }
  recent_.emplace_back(seq, *hash);
  if (recent_.size() > kRecentHashes) recent_.pop_front();
  prev_ = *hash;
  v_.last_seq = seq;
  v_.head = *hash;
  ++v_.events;
  ++next_seq_;
  return true;
}

bool ExportVerifier::End(std::string_view line) {
  Json j = ParseLine(line)["jitd_audit_export_end"];
  if (!j.is_object() || !j.contains("events") ||
      !j["events"].is_number_integer())
    return Fail(next_seq_, "end line without an event count");
  StatusOr<Checkpoint> cp = CheckpointIn(j.value("checkpoint", Json()));
  if (!cp.ok()) return Fail(next_seq_, "end line: " + cp.status().message());
  if (cp->scope != ExportScope("end", v_.from, v_.to) || !key_.Verify(*cp))
    return Fail(next_seq_, "end line: not this export's end signed by key " +
                               key_.key_id());
  if (cp->seq == v_.last_seq && cp->hash != prev_) {
    return Fail(proven_through_ + 1,
                "the signed end covers seq " + std::to_string(cp->seq) +
                    " with another hash (rewritten)" + Unproven());
  }
  if (cp->seq != v_.last_seq) {
    return Fail(v_.last_seq + 1,
                "export ends at seq " + std::to_string(v_.last_seq) +
                    " but its signed end covers seq " +
                    std::to_string(cp->seq) + " (events missing at the end)");
  }
  if (j["events"].get<int64_t>() != v_.events)
    return Fail(next_seq_, "end line counts " +
                               std::to_string(j["events"].get<int64_t>()) +
                               " events, the export has " +
                               std::to_string(v_.events));
  end_seen_ = true;
  return true;
}

ExportVerdict ExportVerifier::Finish() {
  if (broken_) return v_;
  if (!header_seen_) {
    ++line_;
    Fail(std::nullopt, "empty: no export header");
    return v_;
  }
  if (!end_seen_) {
    ++line_;
    Fail(next_seq_, "no signed end line after seq " +
                        std::to_string(v_.last_seq) + " (export truncated)");
    return v_;
  }
  v_.ok = true;
  return v_;
}

}  // namespace jit
