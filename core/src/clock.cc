#include "faultline/core/clock.h"

namespace faultline::core {

class QueuedClock::QueuedTimer final : public Timer {
 public:
  explicit QueuedTimer(QueuedClock& clock) : clock_(clock) {}
  ~QueuedTimer() override { Cancel(); }

  void ArmAt(TimePoint deadline, std::function<void()> callback) override {
    Cancel();
    key_ = Key{deadline, clock_.next_sequence_++};
    callback_ = std::move(callback);
    clock_.queue_.emplace(key_, this);
    armed_ = true;
  }
  void Cancel() override {
    if (armed_) {
      clock_.queue_.erase(key_);
      armed_ = false;
    }
  }
  bool armed() const override { return armed_; }

  // Called by the clock after removing this timer from the queue.
  void Fire() {
    armed_ = false;
    auto callback = std::move(callback_);
    callback_ = nullptr;
    callback();  // may re-arm or destroy this timer
  }

 private:
  QueuedClock& clock_;
  Key key_{};
  std::function<void()> callback_;
  bool armed_ = false;
};

QueuedClock::~QueuedClock() = default;

std::unique_ptr<Timer> QueuedClock::MakeTimer() { return std::make_unique<QueuedTimer>(*this); }

std::optional<TimePoint> QueuedClock::next_deadline() const {
  if (queue_.empty()) return std::nullopt;
  return queue_.begin()->first.deadline;
}

void QueuedClock::FireDue(TimePoint until) {
  while (!queue_.empty() && queue_.begin()->first.deadline <= until) {
    auto it = queue_.begin();
    QueuedTimer* timer = it->second;
    Reached(it->first.deadline);
    queue_.erase(it);
    timer->Fire();
  }
}

ManualClock::ManualClock(TimePoint start) : now_(start) {}

void ManualClock::Reached(TimePoint deadline) {
  if (deadline > now_) now_ = deadline;
}

void ManualClock::Advance(Duration d) {
  const TimePoint until = now_ + d;
  FireDue(until);
  if (until > now_) now_ = until;
}

bool ManualClock::AdvanceToNext() {
  const auto next = next_deadline();
  if (!next) return false;
  FireDue(*next);
  return true;
}

}  // namespace faultline::core
