// jit audit tail, verify, export.

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "jit/audit/checkpoint.h"
#include "jit/audit/export_formats.h"
#include "jit/audit/export_verifier.h"
#include "jit/base/duration.h"
#include "jit/base/status_macros.h"
#include "jit/cli/cli_context.h"
#include "jit/cli/terminal_text.h"

namespace jit {
namespace {

constexpr Duration kPollInterval = std::chrono::seconds(1);
constexpr int kPageLimit = 1000;
constexpr int kMaxPages = 1000000;

struct TailArgs {
  int count = 20;
  bool follow = false;
};

struct ExportArgs {
  std::string from, to;
  std::string format = "jsonl";  // jsonl (signed), csv, ocsf
};

struct VerifyArgs {
  std::string offline;  // an export file: verify without a server
  std::string pubkey;
};

struct AuditGroup : CommandGroup {
  TailArgs tail;
  ExportArgs export_args;
  VerifyArgs verify;
};

using EventSink = std::function<void(const Json& event)>;

// Calls `sink` for every event with seq > `after`, in order, paging with
// after/limit until a page comes back empty. Returns the last seq seen.
StatusOr<int64_t> ReadEvents(const ApiClient& api, int64_t after,
                             const EventSink& sink) {
  for (int page = 0; page < kMaxPages; ++page) {
    StatusOr<Json> body = api.Get(
        WithQuery("/v1/audit", {{"after", std::to_string(after)},
                                {"limit", std::to_string(kPageLimit)}}));
    if (!body.ok()) return body.status();
    const Json& items = JsonArray(*body, "items");
    if (items.empty()) return after;
    for (const Json& event : items) {
      const std::optional<int64_t> seq = JsonInt(event, "seq");
      if (!seq || *seq <= after) {
        return InternalError(
            "GET /v1/audit: events out of order or without seq");
      }
      after = *seq;
      sink(event);
    }
  }
  return InternalError("GET /v1/audit: too many pages");
}

std::string EventLine(const std::string& seq, const std::string& time,
                      const std::string& type, const std::string& actor,
                      const std::string& subject, const std::string& request,
                      const std::string& grant) {
  std::string line =
      fmt::format("{:>6}  {:<24}  {:<22}  {:<12}  {:<12}  {:<36}  {}", seq,
                  time, type, actor, subject, request, grant);
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

void PrintEvent(const CliContext& ctx, const Json& e) {
  if (ctx.json()) {
    WriteJson(ctx.out(), e, /*indent=*/-1);
    return;
  }
  auto field = [&e](std::string_view key) {
    return SanitizeForTerminal(JsonText(e, key));
  };
  ctx.out() << EventLine(field("seq"), field("time"), field("type"),
                         field("actor"), field("subject"), field("request_id"),
                         field("grant_id"))
            << '\n';
}

// The seq after which the last `count` events start: from the event count
// that /v1/audit/verify reports, or 0 (read everything) when it does not.
int64_t TailStart(const ApiClient& api, int count) {
  StatusOr<Json> verify = api.Get("/v1/audit/verify");
  if (!verify.ok()) return 0;
  const std::optional<int64_t> events = JsonInt(*verify, "events");
  if (!events) return 0;
  return std::max<int64_t>(0, *events - count);
}

bool StopRequested(const CliEnv& env) {
  return env.stop_requested && env.stop_requested();
}

// Prints events as they come: SSE from /v1/audit/stream, reconnecting after
// the last seq seen; polling /v1/audit once the stream is not available.
int Follow(const CliContext& ctx, const ApiClient& api, int64_t last_seq) {
  bool use_stream = true;
  while (!StopRequested(ctx.env())) {
    if (!use_stream) {
      StatusOr<int64_t> last = ReadEvents(
          api, last_seq, [&ctx](const Json& e) { PrintEvent(ctx, e); });
      if (!last.ok()) return ctx.Fail(last.status());
      last_seq = *last;
      ctx.env().sleep(kPollInterval);
      continue;
    }
    int received = 0;
    Status streamed = api.Stream(
        WithQuery("/v1/audit/stream", {{"after", std::to_string(last_seq)}}),
        [&](const std::string&, const std::string&, const std::string& data) {
          StatusOr<Json> event = ParseJson(data);
          if (!event.ok()) return true;  // keep-alives and other events
          const std::optional<int64_t> seq = JsonInt(*event, "seq");
          if (!seq || *seq <= last_seq) return true;
          last_seq = *seq;
          ++received;
          PrintEvent(ctx, *event);
          ctx.out().flush();
          return true;
        });
    if (!streamed.ok()) use_stream = false;
    if (streamed.ok() && received == 0) ctx.env().sleep(kPollInterval);
  }
  return kExitOk;
}

int RunTail(const CliContext& ctx, const ApiClient& api, const TailArgs& args) {
  if (args.count < 0) {
    return ctx.UsageError(InvalidArgumentError("-n must not be negative"));
  }
  std::deque<Json> last;
  StatusOr<int64_t> last_seq =
      ReadEvents(api, TailStart(api, args.count), [&](const Json& e) {
        last.push_back(e);
        if (last.size() > static_cast<size_t>(args.count)) last.pop_front();
      });
  if (!last_seq.ok()) return ctx.Fail(last_seq.status());
  if (!ctx.json()) {
    ctx.out() << EventLine("SEQ", "TIME", "TYPE", "ACTOR", "SUBJECT", "REQUEST",
                           "GRANT")
              << '\n';
  }
  for (const Json& e : last) PrintEvent(ctx, e);
  if (!args.follow) return kExitOk;
  ctx.out().flush();
  return Follow(ctx, api, *last_seq);
}

int RunVerify(const CliContext& ctx, const ApiClient& api) {
  StatusOr<Json> verify = api.Get("/v1/audit/verify");
  if (!verify.ok()) return ctx.Fail(verify.status());
  const bool ok = JsonBool(*verify, "ok");
  if (ctx.json()) {
    ctx.PrintJson(*verify);
  } else if (ok) {
    ctx.out() << SanitizeForTerminal(fmt::format(
                     "ok: {} events, head {}, {} signed checkpoints",
                     JsonText(*verify, "events"), JsonText(*verify, "head"),
                     JsonText(*verify, "checkpoints")))
              << '\n';
  } else {
    ctx.out() << SanitizeForTerminal(fmt::format(
                     "BROKEN at seq {}: {}", JsonText(*verify, "first_bad_seq"),
                     JsonText(*verify, "reason")))
              << '\n';
  }
  return ok ? kExitOk : kExitFailure;
}

// Checks an export file with a public key, without any server.
int RunVerifyOffline(const CliContext& ctx, const VerifyArgs& args) {
  if (args.pubkey.empty()) {
    return ctx.UsageError(InvalidArgumentError(
        "--offline needs --pubkey KEY.pem (from `jit audit pubkey`)"));
  }
  StatusOr<std::string> pem = ReadTextFile(args.pubkey);
  if (!pem.ok()) return ctx.UsageError(pem.status());
  StatusOr<CheckpointKey> key = CheckpointKey::FromPem(*pem);
  if (!key.ok()) {
    return ctx.UsageError(InvalidArgumentError(
        fmt::format("{}: {}", args.pubkey, key.status().message())));
  }
  std::ifstream in(args.offline, std::ios::binary);
  if (!in) return ctx.UsageError(NotFoundError("cannot read " + args.offline));
  ExportVerifier verifier(*key);
  for (std::string line; std::getline(in, line);) {
    if (!verifier.AddLine(line)) break;
  }
  const ExportVerdict v = verifier.Finish();
  if (ctx.json()) {
    Json out = {{"ok", v.ok},
                {"events", v.events},
                {"first_seq", v.first_seq},
                {"last_seq", v.last_seq},
                {"head", v.head},
                {"checkpoints", v.checkpoints},
                {"key_id", key->key_id()}};
    if (!v.ok) {
      out["first_bad_seq"] = v.first_bad_seq ? Json(*v.first_bad_seq) : Json();
      out["line"] = v.bad_line;
      out["reason"] = v.reason;
    }
    ctx.PrintJson(out);
  } else if (v.ok) {
    ctx.out() << SanitizeForTerminal(fmt::format(
                     "ok: {} events (seq {}..{}), head {}, {} signed "
                     "checkpoints, signed by key {}",
                     v.events, v.first_seq, v.last_seq, v.head, v.checkpoints,
                     key->key_id()))
              << '\n';
  } else {
    const std::string where =
        v.first_bad_seq ? fmt::format("seq {}", *v.first_bad_seq) : "header";
    ctx.out() << SanitizeForTerminal(fmt::format("BROKEN at {} (line {}): {}",
                                                 where, v.bad_line, v.reason))
              << '\n';
  }
  return v.ok ? kExitOk : kExitFailure;
}

// The signed start or end ("start"/"end") of the export [from, to).
StatusOr<Json> SignedBoundary(const ApiClient& api, int64_t seq,
                              const std::string& which, const std::string& from,
                              const std::string& to) {
  return api.Get(
      WithQuery("/v1/audit/checkpoint", {{"seq", std::to_string(seq)},
                                         {"boundary", which},
                                         {"from", from},
                                         {"to", to}}));
}

StatusOr<std::optional<SystemTime>> OptionalTime(const std::string& text) {
  if (text.empty()) return std::optional<SystemTime>();
  StatusOr<SystemTime> t = ParseTime(text);
  if (!t.ok()) return t.status();
  return std::optional<SystemTime>(*t);
}

// Writes the events with from <= time < to as CSV (header first) or OCSF
// JSON Lines: events only, no signatures (docs/audit.md "Exports").
int RunFormattedExport(const CliContext& ctx, const ApiClient& api,
                       const ExportArgs& args) {
  StatusOr<std::optional<SystemTime>> from = OptionalTime(args.from);
  if (!from.ok()) return ctx.UsageError(from.status());
  StatusOr<std::optional<SystemTime>> to = OptionalTime(args.to);
  if (!to.ok()) return ctx.UsageError(to.status());
  const bool csv = args.format == "csv";
  if (csv) ctx.out() << CsvHeader();
  bool done = false;
  Status bad;
  StatusOr<int64_t> read = ReadEvents(api, 0, [&](const Json& json) {
    if (done || !bad.ok()) return;
    StatusOr<AuditEvent> e = ParseAuditEventJson(json.dump());
    if (!e.ok()) {
      bad = InternalError("GET /v1/audit: " + e.status().message());
      return;
    }
    if (*from && e->time < **from) return;
    if (*to && e->time >= **to) {
      done = true;
      return;
    }
    ctx.out() << (csv ? CsvRow(*e) : OcsfJson(*e) + "\n");
  });
  if (!bad.ok()) return ctx.Fail(bad);  // the first problem met
  if (!read.ok()) return ctx.Fail(read.status());
  return kExitOk;
}

}  // namespace

Status WriteSignedExport(const ApiClient& api, const std::string& from_text,
                         const std::string& to_text, std::ostream& out) {
  JIT_ASSIGN_OR_RETURN(std::optional<SystemTime> from, OptionalTime(from_text));
  JIT_ASSIGN_OR_RETURN(std::optional<SystemTime> to, OptionalTime(to_text));
  bool header_written = false;
  int64_t last_before = 0;  // seq of the last event before the range
  int64_t last_seq = 0, events = 0;
  bool done = false;
  auto write_header = [&](int64_t anchor_seq) -> Status {
    StatusOr<Json> anchor =
        SignedBoundary(api, anchor_seq, "start", from_text, to_text);
    if (!anchor.ok()) return anchor.status();
    WriteJson(out,
              Json{{"jitd_audit_export", 1},
                   {"from", from_text.empty() ? Json() : Json(from_text)},
                   {"to", to_text.empty() ? Json() : Json(to_text)},
                   {"anchor", *anchor}},
              /*indent=*/-1);
    header_written = true;
    last_seq = anchor_seq;
    return OkStatus();
  };
  Status header_error;
  StatusOr<int64_t> read = ReadEvents(api, 0, [&](const Json& e) {
    if (done || !header_error.ok()) return;
    const int64_t seq = JsonInt(e, "seq").value_or(0);
    StatusOr<SystemTime> t = ParseTime(JsonText(e, "time"));
    // Before the range until its first event; after that every event up to
    // `to` belongs to it, even one stamped a little earlier by a
    // transaction that committed later.
    if (!header_written && t.ok() && from && *t < *from) {
      last_before = seq;
      return;
    }
    if (t.ok() && to && *t >= *to) {
      done = true;
      return;
    }
    if (!header_written) header_error = write_header(seq - 1);
    if (!header_error.ok()) return;
    WriteJson(out, e, /*indent=*/-1);
    last_seq = seq;
    ++events;
  });
  JIT_RETURN_IF_ERROR(read.status());
  JIT_RETURN_IF_ERROR(header_error);
  if (!header_written) JIT_RETURN_IF_ERROR(write_header(last_before));
  JIT_ASSIGN_OR_RETURN(
      Json end, SignedBoundary(api, last_seq, "end", from_text, to_text));
  WriteJson(out,
            Json{{"jitd_audit_export_end",
                  {{"events", events}, {"checkpoint", end}}}},
            /*indent=*/-1);
  return OkStatus();
}

namespace {

// Writes the events with from <= time < to between a signed anchor (the
// hash just before the first) and a signed end (the hash of the last), so
// that the file proves its own completeness (docs/audit.md).
int RunExport(const CliContext& ctx, const ApiClient& api,
              const ExportArgs& args) {
  for (const std::string* text : {&args.from, &args.to}) {
    if (auto t = OptionalTime(*text); !t.ok())
      return ctx.UsageError(t.status());
  }
  if (args.format != "jsonl") return RunFormattedExport(ctx, api, args);
  // A fixed end: events committed while the export runs are left out, and
  // the server can check the end against it.
  const std::string to =
      args.to.empty() ? FormatTime(ctx.env().clock.Now()) : args.to;
  Status written = WriteSignedExport(api, args.from, to, ctx.out());
  return written.ok() ? kExitOk : ctx.Fail(written);
}

int RunPubkey(const CliContext& ctx, const ApiClient& api) {
  StatusOr<std::string> pem = api.GetText("/v1/audit/pubkey");
  if (!pem.ok()) return ctx.Fail(pem.status());
  ctx.out() << *pem;
  return kExitOk;
}

}  // namespace

void AddAuditCommands(CLI::App& app, CliContext& ctx) {
  AuditGroup& group = ctx.Keep(std::make_unique<AuditGroup>());
  CLI::App* audit = app.add_subcommand("audit", "read and check the audit log");
  audit->require_subcommand(1);

  CLI::App* tail = audit->add_subcommand("tail", "the last events");
  tail->add_option("-n", group.tail.count, "how many (20)");
  tail->add_flag("-f,--follow", group.tail.follow, "keep printing new events");
  ctx.OnRunWithApi(tail, [&ctx, &args = group.tail](const ApiClient& api) {
    return RunTail(ctx, api, args);
  });

  CLI::App* verify = audit->add_subcommand(
      "verify", "check the hash chain; exit 0 intact, 1 broken");
  verify->add_option("--offline", group.verify.offline,
                     "check an export file here, without a server");
  verify->add_option("--pubkey", group.verify.pubkey,
                     "the audit public key (PEM) for --offline");
  ctx.OnRun(verify, [&ctx, &args = group.verify]() {
    if (!args.offline.empty()) return RunVerifyOffline(ctx, args);
    return ctx.RunWithApi(
        [&ctx](const ApiClient& api) { return RunVerify(ctx, api); });
  });

  CLI::App* out = audit->add_subcommand(
      "export", "events as JSON Lines between a signed start and end");
  out->add_option("--from", group.export_args.from,
                  "first event time (RFC 3339), default: the beginning");
  out->add_option("--to", group.export_args.to,
                  "end time, exclusive (RFC 3339), default: now");
  out->add_option("--format", group.export_args.format,
                  "jsonl (signed, default), csv or ocsf (events only)")
      ->check(CLI::IsMember({"jsonl", "csv", "ocsf"}));
  ctx.OnRunWithApi(out,
                   [&ctx, &args = group.export_args](const ApiClient& api) {
                     return RunExport(ctx, api, args);
                   });

  CLI::App* pubkey = audit->add_subcommand(
      "pubkey", "the public key that checks exports (PEM)");
  ctx.OnRunWithApi(
      pubkey, [&ctx](const ApiClient& api) { return RunPubkey(ctx, api); });
}

}  // namespace jit
