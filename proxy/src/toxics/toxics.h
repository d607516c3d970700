#pragma once
// Private: the toxic types, and small helpers their stages share.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "faultline/core/kinds.h"
#include "faultline/proxy/framing.h"
#include "faultline/proxy/stage.h"

namespace faultline::proxy::toxics {

// Each toxic type is a namespace named as its row in core/kinds.h (which holds its help and
// its attributes), defined in its own file here: what it requires of its attributes together
// (kCheck, null for nothing), and the stage it puts on a connection (nothing for a connection
// toxic, which the session applies).
#define FAULTLINE_DECLARE_TOXIC(name, ...)                                   \
  namespace name {                                                           \
  extern const ToxicCheck kCheck;                                            \
  std::unique_ptr<Stage> Make(const ToxicSpec& spec, StageContext& context); \
  }
FAULTLINE_PROXY_KINDS(FAULTLINE_DECLARE_TOXIC)
#undef FAULTLINE_DECLARE_TOXIC

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
