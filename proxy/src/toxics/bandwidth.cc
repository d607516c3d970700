// bandwidth: releases data at `rate` KB/s (1 KB = 1000 bytes). A chunk leaves when its
// transmission at that rate would have finished; chunks bigger than 100 ms of traffic go in
// 100 ms pieces, as Toxiproxy does (datagrams stay whole: each is one piece). rate 0 holds
// everything until the toxic is updated or removed (a "cut cable" that, unlike Toxiproxy's, can
// always be undone promptly).

#include "toxics/chunk_queue.h"
#include "toxics/toxics.h"

namespace faultline::proxy::toxics {
namespace {

class Bandwidth final : public Stage {
 public:
  Bandwidth(const ToxicSpec& spec, StageContext& context)
      : context_(context), timer_(context.clock().MakeTimer()) {
    bytes_per_second_ = Attr(spec, "rate") * 1000;
  }

  void OnChunk(Chunk chunk) override {
    decision_.Record(context_, "throttle",
                     [this] { return std::to_string(bytes_per_second_ / 1000) + " KB/s"; });
    queue_.Push(std::move(chunk));
    if (!timer_->armed()) Pump();
  }

  void OnEnd() override {
    end_.Hold();
    if (!timer_->armed()) Pump();
  }

  void Update(const ToxicSpec& spec) override {
    const std::int64_t rate = Attr(spec, "rate") * 1000;
    if (rate == bytes_per_second_) return;
    bytes_per_second_ = rate;
    decision_.Reset();
    timer_->Cancel();
    piece_scheduled_ = false;
    Pump();
  }

  void Flush() override {
    timer_->Cancel();
    piece_scheduled_ = false;
    queue_.Drain([this](Chunk piece) { context_.Emit(std::move(piece)); });
    end_.Release(context_);
  }

  std::size_t buffered_bytes() const override { return queue_.bytes(); }

 private:
  // Releases each piece when its transmission at the current rate would have finished.
  // The link is busy until the last piece's release; an idle link starts counting anew.
  void Pump() {
    const core::TimePoint now = context_.clock().Now();
    while (!queue_.empty()) {
      if (bytes_per_second_ <= 0) return;  // stalled until updated or removed
      if (!piece_scheduled_) {
        const auto limit =
            static_cast<std::size_t>(std::max<std::int64_t>(1, bytes_per_second_ / 10));
        piece_size_ = context_.env().datagrams ? queue_.front_remaining()
                                               : std::min(queue_.front_remaining(), limit);
        const auto transmit = core::Duration(static_cast<core::Duration::rep>(
            static_cast<double>(piece_size_) * 1e9 / static_cast<double>(bytes_per_second_)));
        piece_due_ = std::max(link_free_at_, now) + transmit;
        piece_scheduled_ = true;
      }
      if (piece_due_ > now) {
        timer_->ArmAt(piece_due_, [this] { Pump(); });
        return;
      }
      piece_scheduled_ = false;
      link_free_at_ = piece_due_;
      context_.Emit(queue_.TakeFront(piece_size_));
    }
    end_.Release(context_);
  }

  StageContext& context_;
  StreamDecision decision_;
  std::unique_ptr<core::Timer> timer_;
  std::int64_t bytes_per_second_ = 0;
  core::TimePoint link_free_at_{};
  core::TimePoint piece_due_{};
  std::size_t piece_size_ = 0;
  bool piece_scheduled_ = false;
  ChunkQueue queue_;
  HeldEnd end_;
};

}  // namespace

namespace bandwidth {

const ToxicCheck kCheck = nullptr;

std::unique_ptr<Stage> Make(const ToxicSpec& spec, StageContext& context) {
  return std::make_unique<Bandwidth>(spec, context);
}

}  // namespace bandwidth

}  // namespace faultline::proxy::toxics
