#include <string_view>

#include "toxics/toxics.h"

namespace faultline::proxy {

std::unique_ptr<Stage> MakeStage(const ToxicSpec& spec, StageContext& context) {
  using Factory = std::unique_ptr<Stage> (*)(const ToxicSpec&, StageContext&);
  using FramedFactory = std::unique_ptr<Stage> (*)(const ToxicSpec&, StageContext&, const Framing&);
  struct Entry {
    std::string_view type;
    Factory make;
  };
  struct FramedEntry {
    std::string_view type;
    FramedFactory make;
  };
  static constexpr Entry kFactories[] = {
      {"latency", toxics::MakeLatency},      {"bandwidth", toxics::MakeBandwidth},
      {"slow_close", toxics::MakeSlowClose}, {"timeout", toxics::MakeTimeout},
      {"reset_peer", toxics::MakeResetPeer}, {"slicer", toxics::MakeSlicer},
      {"limit_data", toxics::MakeLimitData}, {"noop", toxics::MakeNoop},
  };
  static constexpr FramedEntry kFramedFactories[] = {
      {"reorder", toxics::MakeReorder}, {"hold", toxics::MakeHold},
      {"point", toxics::MakePoint},     {"duplicate", toxics::MakeDuplicate},
      {"drop", toxics::MakeDrop},       {"delay", toxics::MakeDelay},
  };
  for (const Entry& entry : kFactories) {
    if (entry.type == spec.type) return entry.make(spec, context);
  }
  for (const FramedEntry& entry : kFramedFactories) {
    if (entry.type != spec.type) continue;
    auto framing = FramingFromSpec(spec);
    if (!framing) return nullptr;  // ValidateToxic rejected this spec already
    return entry.make(spec, context, *framing);
  }
  return nullptr;  // connection toxics act in the session, not in a stage
}

}  // namespace faultline::proxy
