#include "faultline/core/clock.h"

namespace faultline::core {

class ManualClock::ManualTimer final : public Timer {
 public:
  explicit ManualTimer(ManualClock& clock) : clock_(clock) {}
  ~ManualTimer() override { Cancel(); }

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
  ManualClock& clock_;
  Key key_{};
  std::function<void()> callback_;
  bool armed_ = false;
};

ManualClock::ManualClock(TimePoint start) : now_(start) {}

ManualClock::~ManualClock() = default;

std::unique_ptr<Timer> ManualClock::MakeTimer() { return std::make_unique<ManualTimer>(*this); }

void ManualClock::FireDue(TimePoint until) {
  while (!queue_.empty() && queue_.begin()->first.deadline <= until) {
    auto it = queue_.begin();
    ManualTimer* timer = it->second;
    if (it->first.deadline > now_) {
      now_ = it->first.deadline;
    }
    queue_.erase(it);
    timer->Fire();
  }
  if (until > now_) {
    now_ = until;
  }
}

void ManualClock::Advance(Duration d) { FireDue(now_ + d); }

bool ManualClock::AdvanceToNext() {
  if (queue_.empty()) {
    return false;
  }
  FireDue(queue_.begin()->first.deadline);
  return true;
}

}  // namespace faultline::core
