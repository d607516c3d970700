// hold and point: a place in one direction's stream (the start of the connection, after N
// bytes, the k-th frame, the first frame matching a pattern). A point only announces that it
// was reached; a hold parks everything from there on until it is released by its timeout,
// by the API, or by the point it waits for, and then announces itself as reached, so holds
// can chain. Each acts once per connection.

#include <memory>
#include <string>

#include "faultline/proxy/holds.h"
#include "toxics/chunk_queue.h"
#include "toxics/framed.h"

namespace faultline::proxy::toxics {
namespace {

constexpr auto kDefaultHoldTimeout = std::chrono::seconds(60);

// Where the place is. After N bytes uses a framing whose first frame is those N bytes.
class Place {
 public:
  Place(const ToxicSpec& spec, const Framing& framing)
      : bytes_(static_cast<std::uint64_t>(spec.Int("bytes"))),
        frame_(static_cast<std::uint64_t>(spec.Int("frame"))),
        match_(spec, framing) {}

  bool at_start() const { return bytes_ == 0 && frame_ == 0 && !match_.set(); }
  // Whether the data at `index` is at (for a hold: the first frame to park) the place.
  bool HoldsAt(std::uint64_t index, std::string_view bytes) const {
    if (bytes_ != 0) return index == 2;
    if (frame_ != 0) return index == frame_;
    return match_.Finds(bytes);
  }
  // Whether a point is reached once the frame at `index` has passed.
  bool ReachedAfter(std::uint64_t index, std::string_view bytes) const {
    if (bytes_ != 0) return index == 1;
    return HoldsAt(index, bytes);
  }
  // The frame number of the place, when only the number matters (else 0).
  std::uint64_t frame_only() const { return bytes_ == 0 && !match_.set() ? frame_ : 0; }
  static Framing Adjust(const ToxicSpec& spec, Framing framing) {
    if (spec.Int("bytes") > 0) {
      framing.kind = Framing::Kind::kPrefix;
      framing.frame_size = static_cast<std::size_t>(spec.Int("bytes"));
    }
    return framing;
  }

 private:
  std::uint64_t bytes_;
  std::uint64_t frame_;
  FrameMatch match_;
};

std::string Key(StageContext& context) { return context.env().proxy + "/" + context.spec().name; }

class Point final : public FramedStage {
 public:
  Point(const ToxicSpec& spec, StageContext& context, const Framing& framing)
      : FramedStage(context, Place::Adjust(spec, framing)), place_(spec, framing) {
    if (place_.at_start()) Reach(std::nullopt);
  }
  void Update(const ToxicSpec&) override {}  // the place cannot move under a live stream

 private:
  bool Wants(std::uint64_t index, std::string_view bytes) override {
    return place_.ReachedAfter(index, bytes);
  }
  void TakeFrame(std::uint64_t index, Chunk frame) override {
    context().Emit(std::move(frame));
    context().Sync();  // reached once the frame is on its way, not merely queued
    Reach(index);
  }
  void FlushHeld() override {}
  std::size_t held_bytes() const override { return 0; }
  std::uint64_t NextWanted() const override { return place_.frame_only(); }

  void Reach(std::optional<std::uint64_t> index) {
    context().Record("point", index, "reached");
    if (HoldBoard* board = context().env().holds) board->Reach(Key(context()));
    PassEverything();
  }

  Place place_;
};

class Hold final : public FramedStage {
 public:
  Hold(const ToxicSpec& spec, StageContext& context, const Framing& framing)
      : FramedStage(context, Place::Adjust(spec, framing)),
        place_(spec, framing),
        timer_(context.clock().MakeTimer()),
        alive_(std::make_shared<Hold*>(this)) {
    Update(spec);
    if (place_.at_start()) Catch(std::nullopt);
  }

  ~Hold() override {
    if (state_ == State::kHolding) {
      Unpark();
      context().Record("release", frame_, "connection closed while held");
    }
  }

  void Update(const ToxicSpec& spec) override {
    timeout_ = Millis(spec, "timeout");
    if (timeout_.count() == 0) timeout_ = kDefaultHoldTimeout;
    if (state_ == State::kHolding) ArmTimeout();
  }

 private:
  enum class State { kWaiting, kHolding, kDone };

  bool Wants(std::uint64_t index, std::string_view bytes) override {
    if (state_ == State::kWaiting && place_.HoldsAt(index, bytes)) Catch(index);
    return state_ == State::kHolding;
  }
  void TakeFrame(std::uint64_t, Chunk frame) override { Park(std::move(frame)); }
  void TakeTail(Chunk tail) override { Park(std::move(tail)); }
  void TakeEnd() override {
    if (state_ == State::kHolding) {
      end_.Hold();
    } else {
      context().EmitEnd();  // released while the end was on its way in
    }
  }
  void FlushHeld() override {
    if (state_ == State::kHolding) Release("toxic removed", /*reached=*/false);
  }
  std::size_t held_bytes() const override { return queue_.bytes(); }
  std::uint64_t NextWanted() const override {
    return state_ == State::kWaiting ? place_.frame_only() : 0;
  }

  void Park(Chunk chunk) {
    if (state_ != State::kHolding) {
      context().Emit(std::move(chunk));  // released while this data was on its way in
      return;
    }
    queue_.Push(std::move(chunk));
  }

  void ArmTimeout() {
    timer_->ArmAt(context().clock().Now() + timeout_,
                  [this] { Release("timeout " + core::FormatDuration(timeout_), true); });
  }

  void Catch(std::optional<std::uint64_t> index) {
    state_ = State::kHolding;
    frame_ = index;
    ArmTimeout();
    HoldBoard* board = context().env().holds;
    const std::string& release_on = context().spec().Text("release_on");
    std::uint64_t catch_number = 0;
    if (board != nullptr) catch_number = board->NextCatch(Key(context()));
    context().Record(
        "hold", index,
        release_on.empty()
            ? "until released or timeout " + core::FormatDuration(timeout_)
            : "until " + release_on + " is reached " + std::to_string(catch_number) + " time(s)");
    if (board == nullptr) return;
    HoldInfo info;
    info.proxy = context().env().proxy;
    info.toxic = context().spec().name;
    info.direction = std::string(StreamName(context().spec().stream));
    info.connection = context().env().connection;
    info.release_on = release_on;
    info.release_after = catch_number;
    // The board may call this from any thread; the release itself runs on ours, if the
    // connection is still there.
    std::weak_ptr<Hold*> alive = alive_;
    auto post = context().env().post;
    const std::uint64_t id = board->Park(std::move(info), [alive, post](const std::string& reason) {
      auto task = [alive, reason] {
        if (auto self = alive.lock()) (*self)->Release(reason, true);
      };
      if (post) {
        post(std::move(task));
      } else {
        task();
      }
    });
    if (state_ == State::kHolding) parked_id_ = id;
  }

  void Unpark() {
    if (parked_id_ == 0) return;
    if (HoldBoard* board = context().env().holds) board->Unpark(parked_id_);
    parked_id_ = 0;
  }

  void Release(const std::string& reason, bool reached) {
    if (state_ != State::kHolding) return;
    state_ = State::kDone;
    timer_->Cancel();
    Unpark();
    context().Record("release", frame_, reason);
    queue_.Drain([this](Chunk chunk) { context().Emit(std::move(chunk)); });
    end_.Release(context());
    PassEverything();
    // A released hold counts as its own point reached once its data has gone, so holds can
    // wait on holds.
    if (reached) {
      context().Sync();
      if (HoldBoard* board = context().env().holds) board->Reach(Key(context()));
    }
  }

  Place place_;
  std::unique_ptr<core::Timer> timer_;
  std::shared_ptr<Hold*> alive_;
  core::Duration timeout_{};
  State state_ = State::kWaiting;
  std::optional<std::uint64_t> frame_;
  std::uint64_t parked_id_ = 0;
  ChunkQueue queue_;
  HeldEnd end_;
};

// A hold or a point sits at one place: after some bytes, at a frame or at a match.
core::Status CheckPlace(const ToxicSpec& spec) {
  const int set = (spec.Int("bytes") > 0) + (spec.Int("frame") > 0) + !spec.Text("match").empty();
  if (set > 1) {
    return core::MakeError("set at most one of 'bytes', 'frame' and 'match' for a " + spec.type);
  }
  return core::Ok();
}

core::Status CheckHold(const ToxicSpec& spec) {
  if (auto ok = CheckPlace(spec); !ok) return ok;
  const std::string& point = spec.Text("release_on");
  if (point.empty()) return core::Ok();
  const auto slash = point.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == point.size() ||
      point.find('/', slash + 1) != std::string::npos) {
    return core::MakeError("attribute 'release_on' must name a point as 'proxy/toxic'");
  }
  return core::Ok();
}

}  // namespace

namespace hold {

const ToxicCheck kCheck = CheckHold;

std::unique_ptr<Stage> Make(const ToxicSpec& spec, StageContext& context) {
  const Framing framing = FramingOf(spec);
  return std::make_unique<Hold>(spec, context, framing);
}

}  // namespace hold
namespace point {

const ToxicCheck kCheck = CheckPlace;

std::unique_ptr<Stage> Make(const ToxicSpec& spec, StageContext& context) {
  const Framing framing = FramingOf(spec);
  return std::make_unique<Point>(spec, context, framing);
}

}  // namespace point

}  // namespace faultline::proxy::toxics
