#pragma once

#include <chrono>
#include <mutex>

namespace jit {

using SystemTime = std::chrono::system_clock::time_point;
using MonoTime = std::chrono::steady_clock::time_point;
using Duration = std::chrono::milliseconds;

// Two clocks in one: Now() is UTC wall time, the only time that is stored;
// MonotonicNow() never jumps and is used for waiting and for bounding a grant
// against wall-clock jumps (THREATS T13). Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual SystemTime Now() const = 0;
  virtual MonoTime MonotonicNow() const = 0;
};

class SystemClock final : public Clock {
 public:
  SystemTime Now() const override { return std::chrono::system_clock::now(); }
  MonoTime MonotonicNow() const override { return std::chrono::steady_clock::now(); }
};

// A clock that moves only when told. Advance() moves both times; JumpWall()
// moves only wall time, as an NTP step or an operator's `date -s` would.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(SystemTime start) : wall_(start), mono_(MonoTime{}) {}
  SystemTime Now() const override {
    std::lock_guard lock(mu_);
    return wall_;
  }
  MonoTime MonotonicNow() const override {
    std::lock_guard lock(mu_);
    return mono_;
  }
  void Advance(std::chrono::nanoseconds d) {
    std::lock_guard lock(mu_);
    wall_ += std::chrono::duration_cast<SystemTime::duration>(d);
    mono_ += d;
  }
  void JumpWall(std::chrono::nanoseconds d) {
    std::lock_guard lock(mu_);
    wall_ += std::chrono::duration_cast<SystemTime::duration>(d);
  }
  void SetWall(SystemTime t) {
    std::lock_guard lock(mu_);
    wall_ = t;
  }

 private:
  mutable std::mutex mu_;
  SystemTime wall_;  // guarded by mu_
  MonoTime mono_;    // guarded by mu_
};

}  // namespace jit
