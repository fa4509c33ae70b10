#pragma once

#include <boost/asio/ip/address.hpp>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "jit/base/clock.h"
#include "jit/base/status.h"

namespace jit {

using AddressList = std::vector<boost::asio::ip::address>;

// Looks up the addresses of one host name, blocking until it has an answer.
// Must be callable from several threads at once. kUnavailable when the name
// does not resolve.
using HostLookup = std::function<StatusOr<AddressList>(const std::string&)>;

// The system resolver (getaddrinfo: /etc/hosts, DNS, ...), each address
// once. Blocks as long as the system
// resolver does; it cannot be cancelled.
StatusOr<AddressList> SystemHostLookup(const std::string& host);

// Distinct host names being looked up (queued or running) at once, per
// resolver; more are refused rather than queued without end.
inline constexpr size_t kMaxPendingLookups = 8;
// Threads a resolver starts, on demand, at most.
inline constexpr size_t kMaxLookupThreads = 4;

// Runs a HostLookup on threads of its own, so that a caller waits for an
// answer only until its deadline even when the lookup itself blocks (a slow
// DNS server holds getaddrinfo until the system resolver gives up). A
// lookup whose caller stopped waiting runs on and its answer is dropped;
// callers asking for a name already being looked up share that lookup.
// Answers are not cached: every call sees a fresh answer.
//
// Thread-safe. The destructor waits for lookups still running (the system
// resolver cannot be interrupted); nobody may be in Resolve by then.
class HostResolver {
 public:
  explicit HostResolver(HostLookup lookup);
  ~HostResolver();
  HostResolver(const HostResolver&) = delete;
  HostResolver& operator=(const HostResolver&) = delete;

  // The addresses of `host` (never empty). kDeadlineExceeded when no answer
  // came by `end` (steady clock); kUnavailable when the name does not
  // resolve, or when kMaxPendingLookups other names are still being looked
  // up (nothing was started for this one).
  StatusOr<AddressList> Resolve(const std::string& host, MonoTime end);

 private:
  struct Job {
    std::string host;
    bool done = false;             // guarded by mu_
    StatusOr<AddressList> result;  // guarded by mu_; set when done
    explicit Job(std::string h)
        : host(std::move(h)), result(UnavailableError("not looked up")) {}
  };

  // Finds or starts the lookup of `host`. Called with mu_ held.
  StatusOr<std::shared_ptr<Job>> Start(const std::string& host);
  void Work();

  const HostLookup lookup_;
  std::mutex mu_;
  std::condition_variable queued_;          // a job was queued, or stopping_
  std::condition_variable done_;            // some job is done
  std::deque<std::shared_ptr<Job>> queue_;  // guarded by mu_
  std::map<std::string, std::shared_ptr<Job>> pending_;  // guarded by mu_
  size_t idle_threads_ = 0;                              // guarded by mu_
  bool stopping_ = false;                                // guarded by mu_
  std::vector<std::thread> threads_;                     // guarded by mu_
};

}  // namespace jit
