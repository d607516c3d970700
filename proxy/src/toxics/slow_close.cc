// slow_close: data passes untouched; the end of stream is held for `delay` before the
// half-close is forwarded.

#include "toxics/toxics.h"

namespace faultline::proxy::toxics {
namespace {

class SlowClose final : public Stage {
 public:
  SlowClose(const ToxicSpec& spec, StageContext& context)
      : context_(context), timer_(context.clock().MakeTimer()), delay_(Millis(spec, "delay")) {}

  void OnChunk(Chunk chunk) override { context_.Emit(std::move(chunk)); }
  void OnEnd() override {
    decision_.Record(context_, "close_delay", [this] { return core::FormatDuration(delay_); });
    timer_->ArmAt(context_.clock().Now() + delay_, [this] { context_.EmitEnd(); });
  }
  void Update(const ToxicSpec& spec) override {
    delay_ = Millis(spec, "delay");
    decision_.Reset();
  }
  void Flush() override {
    if (timer_->armed()) {
      timer_->Cancel();
      context_.EmitEnd();
    }
  }
  std::size_t buffered_bytes() const override { return 0; }

 private:
  StageContext& context_;
  StreamDecision decision_;
  std::unique_ptr<core::Timer> timer_;
  core::Duration delay_;
};

}  // namespace

namespace slow_close {

const ToxicCheck kCheck = nullptr;

std::unique_ptr<Stage> Make(const ToxicSpec& spec, StageContext& context) {
  return std::make_unique<SlowClose>(spec, context);
}

}  // namespace slow_close

}  // namespace faultline::proxy::toxics
