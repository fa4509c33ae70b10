#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "jit/base/status.h"
#include "jit/storage/store.h"
#include "jit/workflow/audit_query.h"

namespace jit {

// Where and how the audit log goes to a syslog collector (config
// `audit.syslog`, docs/audit.md "Syslog").
struct SyslogOptions {
  std::string host;  // a name or an address literal
  uint16_t port = 0;
  // Not empty: TLS, the collector's certificate verified against these CA
  // certificates and against `host`. Empty: plain TCP.
  std::string ca_file;
  int facility = 10;     // 0..23; 10 = authpriv
  std::string hostname;  // the HOSTNAME field; empty: this machine's name
  std::chrono::milliseconds min_backoff{200};     // after a failed attempt,
  std::chrono::milliseconds max_backoff{30'000};  // doubling up to this
  std::chrono::milliseconds io_timeout{10'000};   // connect, handshake, write
  int batch = 100;  // events per read and per write
};

// Follows the audit log and sends every event, in seq order, to a syslog
// collector as RFC 5424 messages with octet-counting framing (RFC 6587),
// over TCP or TLS. Runs on its own thread and only reads the store, so it
// never holds up request handling; a collector that is down makes it retry
// with bounded exponential backoff while events wait in the log.
//
// The seq of the last event the collector took is kept in `state_path`
// (written atomically after every batch), so a restart resends nothing
// that was sent and skips nothing that was not. A connection that fails in
// the middle of a batch may leave part of it delivered; that batch is sent
// again in full (at least once, never lost).
//
// Thread-safe: Start/Stop from any thread; the accessors at any time.
class SyslogForwarder {
 public:
  // Nothing is connected yet. Errors: kInvalidArgument when `ca_file`
  // cannot be loaded or the state file is not one of ours; kUnavailable
  // when the state file exists but cannot be read. `state_path` empty:
  // nothing kept, start from the beginning of the log (memory store).
  static StatusOr<std::unique_ptr<SyslogForwarder>> Create(
      Store& store, AuditFeed& feed, SyslogOptions options,
      std::string state_path);
  ~SyslogForwarder();

  void Start();
  // Ends the thread; returns once it has (at most about io_timeout while a
  // write to a collector that does not read is under way).
  void Stop();

  // The seq of the last event the collector took (0: none yet).
  int64_t forwarded_through() const { return forwarded_.load(); }
  // Connection attempts that failed since Start (TLS verification included).
  int64_t failed_attempts() const { return failed_attempts_.load(); }
  // The last failure, "" after a successful write.
  std::string last_error() const;

 private:
  class Link;  // the connection; used on the forwarder's thread only
  SyslogForwarder(Store& store, AuditFeed& feed, SyslogOptions options,
                  std::string state_path, int64_t forwarded);

  void Run();
  // One step: read the next batch and send it. Returns false when there
  // was nothing to do or it failed (then `error` says why).
  bool ForwardBatch(std::string& error);
  void WaitForEvents();
  void WaitFor(std::chrono::milliseconds d);
  bool Stopping();
  Status SaveState(int64_t seq);
  void SetError(const std::string& error);

  Store& store_;
  AuditFeed& feed_;
  const SyslogOptions options_;
  const std::string state_path_;
  std::unique_ptr<Link> link_;  // set once by Create
  std::atomic<int64_t> forwarded_;
  std::atomic<int64_t> failed_attempts_{0};

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;   // guarded by mu_
  std::string last_error_;  // guarded by mu_
  std::thread thread_;      // started and joined under start_mu_
  std::mutex start_mu_;
};

}  // namespace jit
