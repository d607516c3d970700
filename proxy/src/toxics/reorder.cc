// reorder: frames are gathered into windows of `window` frames; a full window is permuted
// with the given probability (a random order other than the original), and a window that
// does not fill within max_wait goes out as it is, permuted by the same rule. With `frame`
// k set instead, frame k waits for frame k+1 and the two swap places, once per connection.
// Frames are only reordered: none is lost, split or changed.

#include <numeric>
#include <string>
#include <vector>

#include "toxics/framed.h"

namespace faultline::proxy::toxics {
namespace {

class Reorder final : public FramedStage {
 public:
  Reorder(const ToxicSpec& spec, StageContext& context, const Framing& framing)
      : FramedStage(context, framing), timer_(context.clock().MakeTimer()) {
    Update(spec);
  }

  void Update(const ToxicSpec& spec) override {
    window_ = static_cast<std::size_t>(spec.Int("window"));
    probability_ = core::Probability::FromFraction(spec.Fraction("probability"))
                       .value_or(core::Probability::Always());
    swap_frame_ = static_cast<std::uint64_t>(spec.Int("frame"));
    max_wait_ = Millis(spec, "max_wait");
    if (held_.size() >= Capacity()) Release(/*timed_out=*/false);
  }

 private:
  struct Held {
    std::uint64_t index;
    Chunk chunk;
  };

  std::size_t Capacity() const { return swap_frame_ != 0 ? 2 : window_; }

  bool Wants(std::uint64_t index, std::string_view) override {
    if (swap_frame_ != 0) {
      if (index < swap_frame_) return false;
      if (index > swap_frame_ + 1 && held_.empty()) {
        PassEverything();
        return false;
      }
      return true;
    }
    return !probability_.never() || !held_.empty();
  }

  void TakeFrame(std::uint64_t index, Chunk frame) override {
    held_bytes_ += frame.data.size();
    held_.push_back(Held{index, std::move(frame)});
    if (held_.size() >= Capacity()) {
      Release(false);
    } else if (held_.size() == 1) {
      timer_->ArmAt(context().clock().Now() + max_wait_, [this] { Release(true); });
    }
  }

  void TakeTail(Chunk tail) override {
    Release(false);
    context().Emit(std::move(tail));
  }
  void TakeEnd() override {
    Release(false);
    context().EmitEnd();
  }
  void FlushHeld() override {
    timer_->Cancel();
    EmitInOrder();
  }
  std::size_t held_bytes() const override { return held_bytes_; }
  std::uint64_t NextWanted() const override { return held_.empty() ? swap_frame_ : 0; }

  void EmitInOrder() {
    for (Held& held : held_) context().Emit(std::move(held.chunk));
    held_.clear();
    held_bytes_ = 0;
  }

  // Sends what is held, permuted if this window is drawn to be (always, for a swap).
  void Release(bool timed_out) {
    timer_->Cancel();
    if (held_.empty()) return;
    const bool permute =
        held_.size() >= 2 && (swap_frame_ != 0 || probability_.Sample(context().rng()));
    if (!permute) {
      EmitInOrder();
      if (swap_frame_ != 0) PassEverything();
      return;
    }
    std::vector<std::size_t> order(held_.size());
    std::iota(order.begin(), order.end(), 0);
    if (swap_frame_ != 0) {
      std::swap(order[0], order[1]);
    } else {
      for (std::size_t i = order.size() - 1; i > 0; --i) {
        std::swap(order[i], order[context().rng().Below(i + 1)]);
      }
      // The identity is not a reordering: turn it into the nearest one that is.
      if (std::is_sorted(order.begin(), order.end())) {
        std::swap(order[order.size() - 2], order[order.size() - 1]);
      }
    }
    std::string detail = "order";
    for (std::size_t i : order) detail += " " + std::to_string(held_[i].index);
    if (timed_out) detail += " (window not filled within max_wait)";
    context().Record("reorder", held_.front().index, std::move(detail));
    for (std::size_t i : order) context().Emit(std::move(held_[i].chunk));
    held_.clear();
    held_bytes_ = 0;
    if (swap_frame_ != 0) PassEverything();
  }

  std::unique_ptr<core::Timer> timer_;
  std::size_t window_ = 2;
  core::Probability probability_;
  std::uint64_t swap_frame_ = 0;
  core::Duration max_wait_{};
  std::vector<Held> held_;
  std::size_t held_bytes_ = 0;
};

}  // namespace

namespace reorder {

const ToxicCheck kCheck = [](const ToxicSpec& spec) {
  return spec.Int("window") >= 2 ? core::Ok()
                                 : core::MakeError("attribute 'window' must be at least 2 frames");
};

std::unique_ptr<Stage> Make(const ToxicSpec& spec, StageContext& context) {
  const Framing framing = FramingOf(spec);
  return std::make_unique<Reorder>(spec, context, framing);
}

}  // namespace reorder

}  // namespace faultline::proxy::toxics
