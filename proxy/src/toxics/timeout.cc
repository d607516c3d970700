// timeout: drops every byte. With timeout > 0 the connection closes that long after the
// toxic took effect on it, however much traffic arrives meanwhile (Toxiproxy restarts its
// timer on every chunk, so a busy connection never closed). With 0 it never closes.
// Removing the toxic closes connections that lost data, so a corrupted stream is not reused;
// connections that lost nothing carry on.

#include "faultline/core/duration.h"
#include "toxics/toxics.h"

namespace faultline::proxy::toxics {
namespace {

class Timeout final : public Stage {
 public:
  Timeout(const ToxicSpec& spec, StageContext& context)
      : context_(context), timer_(context.clock().MakeTimer()) {
    Update(spec);
  }

  void OnChunk(Chunk chunk) override { dropped_ += chunk.data.size(); }
  void OnEnd() override { context_.EmitEnd(); }
  void Update(const ToxicSpec& spec) override {
    const core::Duration timeout = Millis(spec, "timeout");
    if (timeout.count() == 0) {
      timer_->Cancel();
      return;
    }
    timer_->ArmAt(context_.clock().Now() + timeout, [this, timeout] {
      context_.Record("close", std::nullopt,
                      "timeout " + core::FormatDuration(timeout) + ", " + std::to_string(dropped_) +
                          " bytes dropped");
      context_.CloseConnection(CloseMode::kGraceful);
    });
  }
  void Flush() override {
    timer_->Cancel();
    if (dropped_ > 0) {
      context_.Record("close", std::nullopt,
                      "toxic removed, " + std::to_string(dropped_) + " bytes dropped");
      context_.CloseConnection(CloseMode::kGraceful);
    }
  }
  std::size_t buffered_bytes() const override { return 0; }

 private:
  StageContext& context_;
  std::unique_ptr<core::Timer> timer_;
  std::size_t dropped_ = 0;
};

}  // namespace

namespace timeout {

const ToxicCheck kCheck = nullptr;

std::unique_ptr<Stage> Make(const ToxicSpec& spec, StageContext& context) {
  return std::make_unique<Timeout>(spec, context);
}

}  // namespace timeout

}  // namespace faultline::proxy::toxics
