// drop, duplicate and delay: act on the frames a FrameSelector picks, one frame at a time.

#include <algorithm>
#include <deque>
#include <string>

#include "toxics/framed.h"

namespace faultline::proxy::toxics {
namespace {

// A toxic that acts on each selected frame at once and holds nothing: drop and duplicate.
class InstantFilter : public FramedStage {
 public:
  InstantFilter(const ToxicSpec& spec, StageContext& context, const Framing& framing)
      : FramedStage(context, framing), selector_(spec, framing) {}
  void Update(const ToxicSpec& spec) override { selector_ = FrameSelector(spec, framing()); }

 protected:
  // Does the toxic's work on one selected frame.
  virtual void Act(std::uint64_t index, Chunk frame) = 0;

 private:
  bool Wants(std::uint64_t index, std::string_view bytes) override {
    const bool selected = selector_.Selects(index, bytes, context().rng());
    if (!selected && selector_.ExhaustedAfter(index)) PassEverything();
    return selected;
  }
  void TakeFrame(std::uint64_t index, Chunk frame) override {
    Act(index, std::move(frame));
    if (selector_.ExhaustedAfter(index)) PassEverything();
  }
  void FlushHeld() override {}
  std::size_t held_bytes() const override { return 0; }
  std::uint64_t NextWanted() const override { return selector_.OnlyFrame(); }

  FrameSelector selector_;
};

class Drop final : public InstantFilter {
 public:
  using InstantFilter::InstantFilter;

 private:
  void Act(std::uint64_t index, Chunk frame) override {
    context().Record("drop", index, std::to_string(frame.data.size()) + " bytes");
  }
};

class Duplicate final : public InstantFilter {
 public:
  Duplicate(const ToxicSpec& spec, StageContext& context, const Framing& framing)
      : InstantFilter(spec, context, framing), copies_(spec.Int("copies")) {}
  void Update(const ToxicSpec& spec) override {
    InstantFilter::Update(spec);
    copies_ = spec.Int("copies");
  }

 private:
  void Act(std::uint64_t index, Chunk frame) override {
    // The original goes, and as many copies as the budget has room for (toxic.h).
    std::int64_t made = 0;
    const std::size_t size = std::max<std::size_t>(frame.data.size(), 1);
    for (std::size_t room = context().room(); made < copies_ && room >= 2 * size; room -= size) {
      context().Emit(frame);
      ++made;
    }
    context().Record("duplicate", index, std::to_string(made) + " extra copies");
    if (made < copies_) {
      context().Record("shed", index,
                       std::to_string(copies_ - made) + " of " + std::to_string(copies_) +
                           " copies: over the " + std::to_string(kDirectionBudget >> 20) +
                           " MiB a direction, or the " + std::to_string(kProxyBudget >> 20) +
                           " MiB a proxy, may hold");
    }
    context().Emit(std::move(frame));
  }

  std::int64_t copies_;
};

// Selected frames leave `delay` after they were read; the frames behind one wait for it.
class Delay final : public FramedStage {
 public:
  Delay(const ToxicSpec& spec, StageContext& context, const Framing& framing)
      : FramedStage(context, framing),
        selector_(spec, framing),
        timer_(context.clock().MakeTimer()) {
    Update(spec);
  }
  void Update(const ToxicSpec& spec) override {
    selector_ = FrameSelector(spec, framing());
    delay_ = Millis(spec, "delay");
  }

 private:
  struct Held {
    Chunk chunk;
    core::TimePoint due;
  };

  bool Wants(std::uint64_t index, std::string_view bytes) override {
    selected_ = selector_.Selects(index, bytes, context().rng());
    if (!selected_ && queue_.empty() && selector_.ExhaustedAfter(index)) PassEverything();
    return selected_ || !queue_.empty();
  }
  void TakeFrame(std::uint64_t index, Chunk frame) override {
    last_taken_ = index;
    core::TimePoint due = frame.timestamp;
    if (selected_) {
      due += delay_;
      context().Record("delay", index, core::FormatDuration(delay_));
    }
    Push(Held{std::move(frame), due});
  }
  void TakeTail(Chunk tail) override {
    if (queue_.empty()) {
      context().Emit(std::move(tail));
      return;
    }
    const core::TimePoint due = tail.timestamp;
    Push(Held{std::move(tail), due});
  }
  void TakeEnd() override {
    if (queue_.empty()) {
      context().EmitEnd();
    } else {
      end_.Hold();
    }
  }
  void FlushHeld() override {
    timer_->Cancel();
    while (!queue_.empty()) Pop();
    end_.Release(context());
  }
  std::size_t held_bytes() const override { return held_; }
  std::uint64_t NextWanted() const override { return queue_.empty() ? selector_.OnlyFrame() : 0; }

  void Push(Held held) {
    held_ += held.chunk.data.size();
    queue_.push_back(std::move(held));
    if (queue_.size() == 1) Release();
  }
  void Pop() {
    Held held = std::move(queue_.front());
    queue_.pop_front();
    held_ -= held.chunk.data.size();
    context().Emit(std::move(held.chunk));
  }
  void Release() {
    const core::TimePoint now = context().clock().Now();
    while (!queue_.empty() && queue_.front().due <= now) Pop();
    if (queue_.empty()) {
      end_.Release(context());
      // The delayed frame and those queued behind it have gone: nothing is left to act on.
      if (selector_.ExhaustedAfter(last_taken_)) PassEverything();
    } else {
      timer_->ArmAt(queue_.front().due, [this] { Release(); });
    }
  }

  FrameSelector selector_;
  std::unique_ptr<core::Timer> timer_;
  core::Duration delay_{};
  std::deque<Held> queue_;
  std::size_t held_ = 0;
  HeldEnd end_;
  std::uint64_t last_taken_ = 0;
  bool selected_ = false;
};

}  // namespace

namespace drop {

const ToxicCheck kCheck = nullptr;

std::unique_ptr<Stage> Make(const ToxicSpec& spec, StageContext& context) {
  const Framing framing = FramingOf(spec);
  return std::make_unique<Drop>(spec, context, framing);
}

}  // namespace drop
namespace duplicate {

const ToxicCheck kCheck = nullptr;

std::unique_ptr<Stage> Make(const ToxicSpec& spec, StageContext& context) {
  const Framing framing = FramingOf(spec);
  return std::make_unique<Duplicate>(spec, context, framing);
}

}  // namespace duplicate
namespace delay {

const ToxicCheck kCheck = nullptr;

std::unique_ptr<Stage> Make(const ToxicSpec& spec, StageContext& context) {
  const Framing framing = FramingOf(spec);
  return std::make_unique<Delay>(spec, context, framing);
}

}  // namespace delay

}  // namespace faultline::proxy::toxics
