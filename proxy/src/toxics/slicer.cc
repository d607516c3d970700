// slicer: cuts each chunk into pieces of about average_size ± size_variation bytes by
// recursive halving (no bias towards a small first or last piece), with `delay` µs between
// pieces. Order is kept; nothing is lost.

#include <algorithm>
#include <utility>
#include <vector>

#include "toxics/chunk_queue.h"
#include "toxics/toxics.h"

namespace faultline::proxy::toxics {
namespace {

class Slicer final : public Stage {
 public:
  Slicer(const ToxicSpec& spec, StageContext& context)
      : context_(context), timer_(context.clock().MakeTimer()) {
    Update(spec);
  }

  void OnChunk(Chunk chunk) override {
    decision_.Record(context_, "slice", [this] {
      return std::to_string(average_) + " ± " + std::to_string(variation_) + " bytes a piece, " +
             core::FormatDuration(delay_) + " apart";
    });
    std::vector<std::size_t> cuts;
    Cut(0, chunk.data.size(), cuts);
    std::size_t start = 0;
    for (std::size_t end : cuts) {
      Chunk piece{std::vector<char>(chunk.data.begin() + static_cast<std::ptrdiff_t>(start),
                                    chunk.data.begin() + static_cast<std::ptrdiff_t>(end)),
                  chunk.timestamp};
      start = end;
      // Pieces still queued from before an update to delay 0 go first: order is kept.
      if (delay_.count() == 0 && pieces_.empty()) {
        context_.Emit(std::move(piece));
      } else {
        pieces_.Push(std::move(piece));
      }
    }
    if (!timer_->armed()) Pump();
  }

  void OnEnd() override {
    end_.Hold();
    if (!timer_->armed()) Pump();
  }

  void Update(const ToxicSpec& spec) override {
    average_ = static_cast<std::size_t>(Attr(spec, "average_size"));
    variation_ = static_cast<std::size_t>(Attr(spec, "size_variation"));
    delay_ = std::chrono::microseconds(Attr(spec, "delay"));
    decision_.Reset();
    if (delay_.count() == 0 && !pieces_.empty()) {
      // No pause between pieces any more: what is queued goes now, in order.
      timer_->Cancel();
      pieces_.Drain([this](Chunk chunk) { context_.Emit(std::move(chunk)); });
      end_.Release(context_);
    }
  }

  void Flush() override {
    timer_->Cancel();
    pieces_.Drain([this](Chunk chunk) { context_.Emit(std::move(chunk)); });
    end_.Release(context_);
  }

  std::size_t buffered_bytes() const override { return pieces_.bytes(); }

 private:
  // Appends the end offsets of the pieces of [begin, end), halving depth first, left half
  // first. The stack is explicit: a variation near the length can cut one byte at a time.
  void Cut(std::size_t begin, std::size_t end, std::vector<std::size_t>& cuts) {
    std::vector<std::pair<std::size_t, std::size_t>> pending{{begin, end}};
    while (!pending.empty()) {
      const auto [start, stop] = pending.back();
      pending.pop_back();
      if (stop - start <= average_ + variation_) {
        if (stop > start) cuts.push_back(stop);
        continue;
      }
      std::int64_t mid = static_cast<std::int64_t>(start + (stop - start) / 2);
      if (variation_ > 0) {
        const auto v = static_cast<std::int64_t>(variation_);
        mid += context_.rng().Between(-v, v - 1);
      }
      // A variation as large as the average may reach past either end: a piece keeps at
      // least one byte.
      const auto cut = static_cast<std::size_t>(std::clamp<std::int64_t>(
          mid, static_cast<std::int64_t>(start) + 1, static_cast<std::int64_t>(stop) - 1));
      pending.emplace_back(cut, stop);
      pending.emplace_back(start, cut);
    }
  }

  // Emits one held piece now and the next after `delay`.
  void Pump() {
    if (!pieces_.empty()) {
      context_.Emit(pieces_.TakeFront(pieces_.front_remaining()));
      timer_->ArmAt(context_.clock().Now() + delay_, [this] { Pump(); });
      return;
    }
    end_.Release(context_);
  }

  StageContext& context_;
  StreamDecision decision_;
  std::unique_ptr<core::Timer> timer_;
  std::size_t average_ = 1;
  std::size_t variation_ = 0;
  core::Duration delay_{};
  ChunkQueue pieces_;
  HeldEnd end_;
};

}  // namespace

namespace slicer {

const ToxicCheck kCheck = [](const ToxicSpec& spec) {
  return spec.Int("average_size") > 0
             ? core::Ok()
             : core::MakeError("attribute 'average_size' must be greater than 0");
};

std::unique_ptr<Stage> Make(const ToxicSpec& spec, StageContext& context) {
  return std::make_unique<Slicer>(spec, context);
}

}  // namespace slicer

}  // namespace faultline::proxy::toxics
