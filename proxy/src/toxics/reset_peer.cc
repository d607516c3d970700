// reset_peer: when data first arrives, waits `timeout`, then resets both sides (RST). The
// data is held, not forwarded; if the toxic is removed before it fires, the held data goes
// on and nothing is lost. Linger 0 is set only when firing, so toxicity 0 never turns a
// normal close into a reset (Toxiproxy #603), and it works on connections opened before the
// toxic was added.

#include "faultline/core/duration.h"
#include "toxics/chunk_queue.h"
#include "toxics/toxics.h"

namespace faultline::proxy::toxics {
namespace {

class ResetPeer final : public Stage {
 public:
  ResetPeer(const ToxicSpec& spec, StageContext& context)
      : context_(context), timer_(context.clock().MakeTimer()), timeout_(Millis(spec, "timeout")) {}

  void OnChunk(Chunk chunk) override {
    held_.Push(std::move(chunk));
    if (!triggered_) {
      triggered_ = true;
      Arm();
    }
  }
  void OnEnd() override {
    if (triggered_) return;  // the reset is coming; the half-close is moot
    context_.EmitEnd();
  }
  void Update(const ToxicSpec& spec) override {
    timeout_ = Millis(spec, "timeout");
    if (triggered_) Arm();
  }
  void Flush() override {
    timer_->Cancel();
    held_.Drain([this](Chunk chunk) { context_.Emit(std::move(chunk)); });
  }
  std::size_t buffered_bytes() const override { return held_.bytes(); }

 private:
  void Arm() {
    if (timeout_.count() == 0) {
      Reset();
      return;
    }
    timer_->ArmAt(context_.clock().Now() + timeout_, [this] { Reset(); });
  }
  void Reset() {
    context_.Record(
        "reset", std::nullopt,
        std::to_string(held_.bytes()) + " bytes held, after " + core::FormatDuration(timeout_));
    context_.CloseConnection(CloseMode::kReset);
  }

  StageContext& context_;
  std::unique_ptr<core::Timer> timer_;
  core::Duration timeout_;
  ChunkQueue held_;
  bool triggered_ = false;
};

}  // namespace

namespace reset_peer {

const ToxicCheck kCheck = nullptr;

std::unique_ptr<Stage> Make(const ToxicSpec& spec, StageContext& context) {
  return std::make_unique<ResetPeer>(spec, context);
}

}  // namespace reset_peer

}  // namespace faultline::proxy::toxics
