#pragma once
// Time is injected. Components read the time and arm timers only through a Clock, so tests
// drive them with a ManualClock (no sleeps) and production uses the event loop's timers.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "faultline/core/duration.h"

namespace faultline::core {

using TimePoint = std::chrono::steady_clock::time_point;

// A one-shot timer owned by one component. Arming again replaces the pending callback;
// destroying or cancelling the timer guarantees the callback will not run afterwards.
class Timer {
 public:
  virtual ~Timer() = default;
  virtual void ArmAt(TimePoint deadline, std::function<void()> callback) = 0;
  virtual void Cancel() = 0;
  virtual bool armed() const = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  // Timers fire on the thread that drives this clock.
  virtual std::unique_ptr<Timer> MakeTimer() = 0;
};

// Timers kept in deadline order (ties in arming order), fired on the thread of whoever drives
// the clock: what ManualClock and PolledClock share.
class QueuedClock : public Clock {
 public:
  ~QueuedClock() override;
  std::unique_ptr<Timer> MakeTimer() override;
  std::size_t pending() const { return queue_.size(); }
  // The earliest armed deadline; none when nothing is armed.
  std::optional<TimePoint> next_deadline() const;

 protected:
  // Fires every timer due at or before `until`, in deadline order; Reached(deadline) is
  // called before each.
  void FireDue(TimePoint until);
  virtual void Reached(TimePoint deadline) = 0;

 private:
  class QueuedTimer;
  struct Key {
    TimePoint deadline;
    std::uint64_t sequence;
    bool operator<(const Key& o) const {
      return deadline != o.deadline ? deadline < o.deadline : sequence < o.sequence;
    }
  };
  std::uint64_t next_sequence_ = 0;
  std::map<Key, QueuedTimer*> queue_;
};

// A clock that moves only when told to. Advance() fires due timers in deadline order (ties
// in arming order) on the calling thread, with Now() equal to each timer's deadline while it
// runs. Single-threaded, like the event loop it stands in for.
class ManualClock final : public QueuedClock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{} + std::chrono::hours(1));

  TimePoint Now() const override { return now_; }

  // Moves time forward by `d`, firing every timer that falls due on the way.
  void Advance(Duration d);
  // Moves to the next pending deadline (if any) and fires what is due there. Returns false
  // when nothing is pending.
  bool AdvanceToNext();

 private:
  void Reached(TimePoint deadline) override;
  TimePoint now_;
};

// The steady clock, with timers that fire when its owner polls: a loop that does other work
// between polls calls FireDue() and may sleep until next_deadline(). Single-threaded.
class PolledClock final : public QueuedClock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  // Fires every timer due now.
  void FireDue() { QueuedClock::FireDue(Now()); }

 private:
  void Reached(TimePoint) override {}
};

}  // namespace faultline::core
