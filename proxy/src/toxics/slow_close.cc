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
    timer_->ArmAt(context_.clock().Now() + delay_, [this] { context_.EmitEnd(); });
  }
  void Update(const ToxicSpec& spec) override { delay_ = Millis(spec, "delay"); }
  void Flush() override {
    if (timer_->armed()) {
      timer_->Cancel();
      context_.EmitEnd();
    }
  }
  std::size_t buffered_bytes() const override { return 0; }

 private:
  StageContext& context_;
  std::unique_ptr<core::Timer> timer_;
  core::Duration delay_;
};

}  // namespace

std::unique_ptr<Stage> MakeSlowClose(const ToxicSpec& spec, StageContext& context) {
  return std::make_unique<SlowClose>(spec, context);
}

}  // namespace faultline::proxy::toxics
