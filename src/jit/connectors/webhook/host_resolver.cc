#include "jit/connectors/webhook/host_resolver.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <system_error>
#include <utility>

namespace jit {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

StatusOr<AddressList> LookupOrError(const HostLookup& lookup,
                                    const std::string& host) {
  StatusOr<AddressList> result = lookup(host);
  if (result.ok() && result->empty())
    return UnavailableError("no address for " + host);
  return result;
}

}  // namespace

StatusOr<AddressList> SystemHostLookup(const std::string& host) {
  boost::system::error_code ec;
  tcp::resolver::results_type results;
  try {
    net::io_context io;
    tcp::resolver resolver(io);
    // A synchronous resolve calls getaddrinfo on this thread: no helper
    // thread is left behind.
    results = resolver.resolve(host, "", tcp::resolver::flags{}, ec);
  } catch (const boost::system::system_error& e) {
    ec = e.code();
  }
  if (ec) {
    return UnavailableError(
        fmt::format("cannot resolve {}: {}", host, ec.message()));
  }
  AddressList addresses;
  for (const auto& entry : results) {
    net::ip::address a = entry.endpoint().address();
    if (std::find(addresses.begin(), addresses.end(), a) == addresses.end())
      addresses.push_back(a);
  }
  return addresses;
}

HostResolver::HostResolver(HostLookup lookup) : lookup_(std::move(lookup)) {}

HostResolver::~HostResolver() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    threads.swap(threads_);
  }
  queued_.notify_all();
  for (std::thread& t : threads) t.join();
}

StatusOr<std::shared_ptr<HostResolver::Job>> HostResolver::Start(
    const std::string& host) {
  auto running = pending_.find(host);
  if (running != pending_.end()) return running->second;
  if (pending_.size() >= kMaxPendingLookups) {
    return UnavailableError(fmt::format(
        "cannot resolve {}: {} other name lookups are still pending", host,
        pending_.size()));
  }
  auto job = std::make_shared<Job>(host);
  queue_.push_back(job);
  if (queue_.size() > idle_threads_ && threads_.size() < kMaxLookupThreads) {
    try {
      threads_.emplace_back(&HostResolver::Work, this);
    } catch (const std::system_error& e) {
      if (threads_.empty()) {
        queue_.pop_back();
        return UnavailableError(fmt::format(
            "cannot resolve {}: no lookup thread: {}", host, e.what()));
      }
    }
  }
  pending_.emplace(host, job);
  queued_.notify_one();
  return job;
}

StatusOr<AddressList> HostResolver::Resolve(const std::string& host,
                                            MonoTime end) {
  std::unique_lock lock(mu_);
  StatusOr<std::shared_ptr<Job>> started = Start(host);
  if (!started.ok()) return started.status();
  std::shared_ptr<Job> job = *std::move(started);
  if (!done_.wait_until(lock, end, [&job] { return job->done; })) {
    return DeadlineExceededError("timed out: resolving " + host);
  }
  return job->result;
}

void HostResolver::Work() {
  std::unique_lock lock(mu_);
  while (true) {
    ++idle_threads_;
    queued_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    --idle_threads_;
    if (stopping_) return;
    std::shared_ptr<Job> job = queue_.front();
    queue_.pop_front();
    lock.unlock();
    StatusOr<AddressList> result = LookupOrError(lookup_, job->host);
    lock.lock();
    job->result = std::move(result);
    job->done = true;
    pending_.erase(job->host);
    done_.notify_all();
  }
}

}  // namespace jit
