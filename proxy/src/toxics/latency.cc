// latency: each chunk leaves at (its timestamp + latency + U[-jitter, +jitter)), in order.
// Measuring from the read timestamp means time spent queued behind earlier chunks is not
// added again, and one timer serves the whole queue.

#include <deque>

#include "toxics/toxics.h"

namespace faultline::proxy::toxics {
namespace {

class Latency final : public Stage {
 public:
  Latency(const ToxicSpec& spec, StageContext& context)
      : context_(context), timer_(context.clock().MakeTimer()) {
    Update(spec);
  }

  void OnChunk(Chunk chunk) override {
    decision_.Record(context_, "delay", [this] {
      return core::FormatDuration(latency_) +
             (jitter_.count() > 0 ? " ± " + core::FormatDuration(jitter_) : "") + " per chunk";
    });
    core::Duration delay = latency_;
    if (jitter_.count() > 0) {
      delay += core::Duration(context_.rng().Between(-jitter_.count(), jitter_.count() - 1));
    }
    chunk.timestamp += delay;
    if (queue_.empty() && chunk.timestamp <= context_.clock().Now()) {
      context_.Emit(std::move(chunk));
      return;
    }
    buffered_ += chunk.data.size();
    queue_.push_back(std::move(chunk));
    if (queue_.size() == 1) Arm();
  }

  void OnEnd() override {
    if (queue_.empty()) {
      context_.EmitEnd();
    } else {
      end_.Hold();
    }
  }

  void Update(const ToxicSpec& spec) override {
    latency_ = Millis(spec, "latency");
    jitter_ = Millis(spec, "jitter");
    decision_.Reset();
  }

  void Flush() override {
    timer_->Cancel();
    while (!queue_.empty()) PopFront();
    end_.Release(context_);
  }

  std::size_t buffered_bytes() const override { return buffered_; }

 private:
  void PopFront() {
    Chunk chunk = std::move(queue_.front());
    queue_.pop_front();
    buffered_ -= chunk.data.size();
    context_.Emit(std::move(chunk));
  }

  void Arm() {
    timer_->ArmAt(queue_.front().timestamp, [this] { Release(); });
  }

  void Release() {
    const core::TimePoint now = context_.clock().Now();
    while (!queue_.empty() && queue_.front().timestamp <= now) PopFront();
    if (!queue_.empty()) {
      Arm();
    } else {
      end_.Release(context_);
    }
  }

  StageContext& context_;
  StreamDecision decision_;
  std::unique_ptr<core::Timer> timer_;
  core::Duration latency_{};
  core::Duration jitter_{};
  std::deque<Chunk> queue_;
  std::size_t buffered_ = 0;
  HeldEnd end_;
};

}  // namespace

namespace latency {

const ToxicCheck kCheck = nullptr;

std::unique_ptr<Stage> Make(const ToxicSpec& spec, StageContext& context) {
  return std::make_unique<Latency>(spec, context);
}

}  // namespace latency

}  // namespace faultline::proxy::toxics
