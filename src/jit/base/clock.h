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
  MonoTime MonotonicNow() const override {
    return std::chrono::steady_clock::now();
  }
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

// Wall time that is never set back: it follows the inner clock forward but,
// when the inner wall clock is stepped backwards, keeps counting on from
// where it was at the pace of the monotonic clock. Expiry decided with it
// comes no later than the grant's duration in real time (THREATS T13); a
// step forward ends grants early, which fails closed. Thread-safe.
class NonRetreatingClock final : public Clock {
 public:
  explicit NonRetreatingClock(const Clock& inner)
      : inner_(inner),
        last_wall_(inner.Now()),
        last_mono_(inner.MonotonicNow()) {}
  SystemTime Now() const override {
    std::lock_guard lock(mu_);
    SystemTime wall = inner_.Now();
    MonoTime mono = inner_.MonotonicNow();
    SystemTime floor =
        last_wall_ +
        std::chrono::duration_cast<SystemTime::duration>(mono - last_mono_);
    last_wall_ = wall > floor ? wall : floor;
    last_mono_ = mono;
    return last_wall_;
  }
  MonoTime MonotonicNow() const override { return inner_.MonotonicNow(); }

 private:
  const Clock& inner_;
  mutable std::mutex mu_;
  mutable SystemTime last_wall_;  // guarded by mu_
  mutable MonoTime last_mono_;    // guarded by mu_
};

}  // namespace jit
