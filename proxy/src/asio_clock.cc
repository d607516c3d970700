#include "asio_clock.h"

#include <boost/asio/steady_timer.hpp>

namespace faultline::proxy {
namespace {

// The wait handler holds only a weak reference and the arming generation, so a timer that
// was re-armed, cancelled or destroyed never runs a stale callback.
class AsioTimer final : public core::Timer {
 public:
  explicit AsioTimer(boost::asio::io_context& context) : state_(std::make_shared<State>(context)) {}
  ~AsioTimer() override { Cancel(); }

  void ArmAt(core::TimePoint deadline, std::function<void()> callback) override {
    State& s = *state_;
    s.callback = std::move(callback);
    s.armed = true;
    const std::uint64_t generation = ++s.generation;
    s.timer.expires_at(deadline);
    s.timer.async_wait(
        [weak = std::weak_ptr<State>(state_), generation](const boost::system::error_code& ec) {
          auto state = weak.lock();
          if (!state || ec || state->generation != generation || !state->armed) return;
          state->armed = false;
          auto fn = std::move(state->callback);
          state->callback = nullptr;
          fn();
        });
  }

  void Cancel() override {
    if (!state_->armed) return;
    state_->armed = false;
    ++state_->generation;
    state_->callback = nullptr;
    state_->timer.cancel();
  }

  bool armed() const override { return state_->armed; }

 private:
  struct State {
    explicit State(boost::asio::io_context& context) : timer(context) {}
    boost::asio::steady_timer timer;
    std::function<void()> callback;
    std::uint64_t generation = 0;
    bool armed = false;
  };
  std::shared_ptr<State> state_;
};

}  // namespace

std::unique_ptr<core::Timer> AsioClock::MakeTimer() {
  return std::make_unique<AsioTimer>(context_);
}

}  // namespace faultline::proxy
