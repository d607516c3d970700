#include "faultline/core/kinds.h"

#include <algorithm>
#include <set>

#include "faultline/core/text.h"

namespace faultline::core {
namespace {

#define FAULTLINE_KIND(family, name, acts_on, udp, origin, nemesis, settings, decisions) \
  KindInfo{#name,          Family::family,   ActsOn::acts_on, Udp::udp,                  \
           Origin::origin, Nemesis::nemesis, settings,        decisions},
#define FAULTLINE_PROXY_ROW(...) FAULTLINE_KIND(kProxy, __VA_ARGS__)
#define FAULTLINE_SHIM_ROW(...) FAULTLINE_KIND(kShim, __VA_ARGS__)
#define FAULTLINE_PROCESS_ROW(...) FAULTLINE_KIND(kProcess, __VA_ARGS__)

constexpr KindInfo kKinds[] = {FAULTLINE_PROXY_KINDS(FAULTLINE_PROXY_ROW)        //
                               FAULTLINE_SHIM_KINDS(FAULTLINE_SHIM_ROW)          //
                               FAULTLINE_PROCESS_KINDS(FAULTLINE_PROCESS_ROW)};  //

// Every decision some kind (or none) logs, gathered once: the metrics ask for each decision.
const std::set<std::string_view>& KnownDecisions() {
  static const std::set<std::string_view> known = [] {
    std::set<std::string_view> all;
    for (const std::string_view word : SplitWords(kKindlessDecisions)) all.insert(word);
    for (const KindInfo& kind : kKinds) {
      for (const std::string_view word : SplitWords(kind.decisions)) all.insert(word);
    }
    return all;
  }();
  return known;
}

}  // namespace

std::span<const KindInfo> Kinds() { return kKinds; }

const KindInfo* FindKind(std::string_view name) {
  const auto* it = std::find_if(std::begin(kKinds), std::end(kKinds),
                                [&](const KindInfo& kind) { return kind.name == name; });
  return it == std::end(kKinds) ? nullptr : it;
}

std::string_view FamilyName(Family family) {
  switch (family) {
    case Family::kProxy:
      return "proxy";
    case Family::kShim:
      return "shim";
    case Family::kProcess:
      return "process";
  }
  return "unknown";
}

bool IsKnownDecision(std::string_view action) { return KnownDecisions().contains(action); }

}  // namespace faultline::core
