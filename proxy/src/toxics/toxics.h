#pragma once
// Private: the toxic types, and small helpers their stages share.

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "faultline/core/kinds.h"
#include "faultline/proxy/framing.h"
#include "faultline/proxy/stage.h"

namespace faultline::proxy::toxics {

// Each toxic type is a namespace named as its row in core/kinds.h, defined in its own file
// here: what it is, which attributes it takes and what it requires of them together, and the
// stage it puts on a connection (nothing for a connection toxic, which the session applies).
struct Description {
  std::string_view help;
  std::vector<AttributeInfo> attributes;
  ToxicCheck check = nullptr;
};
#define FAULTLINE_DECLARE_TOXIC(name, ...)                                   \
  namespace name {                                                           \
  Description Describe();                                                    \
  std::unique_ptr<Stage> Make(const ToxicSpec& spec, StageContext& context); \
  }
FAULTLINE_PROXY_KINDS(FAULTLINE_DECLARE_TOXIC)
#undef FAULTLINE_DECLARE_TOXIC

// Attribute limits: durations are capped at a year (in their unit), sizes and rates at 2^53
// so they stay exact in JSON doubles and far from overflow in arithmetic. A frame is held
// whole until it completes, so it cannot outgrow what a direction may hold.
inline constexpr std::int64_t kMaxMs = 365LL * 24 * 3600 * 1000;
inline constexpr std::int64_t kMaxUs = kMaxMs * 1000;
inline constexpr std::int64_t kMaxCount = 1LL << 53;
inline constexpr std::int64_t kMaxFrameLimit = kDirectionBudget;

// The attributes frame-aware toxics share: how the stream is cut into frames; which frames
// are acted on (frame, match and probability must all agree); where a hold or a point sits
// (after `bytes` bytes, at the k-th frame or at the first frame matching a pattern; with
// none set, at the start of the connection).
std::vector<AttributeInfo> FramingAttributes();
std::vector<AttributeInfo> SelectorAttributes();
std::vector<AttributeInfo> PointAttributes();
std::vector<AttributeInfo> Join(std::initializer_list<std::vector<AttributeInfo>> parts);

// The framing of a frame-aware toxic's spec, which ValidateToxic has accepted.
Framing FramingOf(const ToxicSpec& spec);

// The end of stream, held back by a stage until the data before it has gone.
class HeldEnd {
 public:
  void Hold() { held_ = true; }
  // Forwards the end if one is held.
  void Release(StageContext& context) {
    if (!held_) return;
    held_ = false;
    context.EmitEnd();
  }

 private:
  bool held_ = false;
};

// A stream toxic (latency, bandwidth, slicer, slow_close) acts on bytes as the kernel hands
// them over, so it logs its decision once per connection and direction, when it first acts,
// and again after an update, rather than once per chunk: chunk boundaries differ between two
// runs of one schedule, and a replay must log the same decisions as its original.
// The detail is made only when the decision is logged, not on every chunk.
class StreamDecision {
 public:
  template <typename Detail>
  void Record(StageContext& context, std::string_view action, const Detail& detail) {
    if (recorded_) return;
    recorded_ = true;
    context.Record(std::string(action), std::nullopt, detail());
  }
  // The settings changed: the next act is a new decision.
  void Reset() { recorded_ = false; }

 private:
  bool recorded_ = false;
};

// A validated attribute (ValidateToxic filled in every default).
inline std::int64_t Attr(const ToxicSpec& spec, std::string_view name) { return spec.Int(name); }
inline core::Duration Millis(const ToxicSpec& spec, std::string_view name) {
  return std::chrono::milliseconds(Attr(spec, name));
}

}  // namespace faultline::proxy::toxics
