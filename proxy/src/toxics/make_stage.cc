#include "toxics/toxics.h"

#include <string_view>

namespace faultline::proxy {

std::unique_ptr<Stage> MakeStage(const ToxicSpec& spec, StageContext& context) {
  using Factory = std::unique_ptr<Stage> (*)(const ToxicSpec&, StageContext&);
  struct Entry {
    std::string_view type;
    Factory make;
  };
  static constexpr Entry kFactories[] = {
      {"latency", toxics::MakeLatency},      {"bandwidth", toxics::MakeBandwidth},
      {"slow_close", toxics::MakeSlowClose}, {"timeout", toxics::MakeTimeout},
      {"reset_peer", toxics::MakeResetPeer}, {"slicer", toxics::MakeSlicer},
      {"limit_data", toxics::MakeLimitData},
  };
  for (const Entry& entry : kFactories) {
    if (entry.type == spec.type) return entry.make(spec, context);
  }
  return nullptr;
}

}  // namespace faultline::proxy
