#pragma once
// Private: one factory per toxic type, and small helpers the stages share.

#include <chrono>
#include <memory>

#include "faultline/proxy/framing.h"
#include "faultline/proxy/stage.h"

namespace faultline::proxy::toxics {

std::unique_ptr<Stage> MakeLatency(const ToxicSpec& spec, StageContext& context);
std::unique_ptr<Stage> MakeBandwidth(const ToxicSpec& spec, StageContext& context);
std::unique_ptr<Stage> MakeSlowClose(const ToxicSpec& spec, StageContext& context);
std::unique_ptr<Stage> MakeTimeout(const ToxicSpec& spec, StageContext& context);
std::unique_ptr<Stage> MakeResetPeer(const ToxicSpec& spec, StageContext& context);
std::unique_ptr<Stage> MakeSlicer(const ToxicSpec& spec, StageContext& context);
std::unique_ptr<Stage> MakeLimitData(const ToxicSpec& spec, StageContext& context);
std::unique_ptr<Stage> MakeNoop(const ToxicSpec& spec, StageContext& context);

// Frame-aware toxics, given the framing their attributes describe.
std::unique_ptr<Stage> MakeReorder(const ToxicSpec&, StageContext&, const Framing&);
std::unique_ptr<Stage> MakeHold(const ToxicSpec&, StageContext&, const Framing&);
std::unique_ptr<Stage> MakePoint(const ToxicSpec&, StageContext&, const Framing&);
std::unique_ptr<Stage> MakeDuplicate(const ToxicSpec&, StageContext&, const Framing&);
std::unique_ptr<Stage> MakeDrop(const ToxicSpec&, StageContext&, const Framing&);
std::unique_ptr<Stage> MakeDelay(const ToxicSpec&, StageContext&, const Framing&);

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

// A validated attribute (ValidateToxic filled in every default).
inline std::int64_t Attr(const ToxicSpec& spec, std::string_view name) { return spec.Int(name); }
inline core::Duration Millis(const ToxicSpec& spec, std::string_view name) {
  return std::chrono::milliseconds(Attr(spec, name));
}

}  // namespace faultline::proxy::toxics
