#include "faultline/core/kinds.h"

#include <algorithm>

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

bool InWords(std::string_view words, std::string_view word) {
  const auto split = SplitWords(words);
  return std::ranges::find(split, word) != split.end();
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

bool IsKnownDecision(std::string_view action) {
  if (action.empty()) return false;
  if (InWords(kKindlessDecisions, action)) return true;
  return std::any_of(std::begin(kKinds), std::end(kKinds),
                     [&](const KindInfo& kind) { return InWords(kind.decisions, action); });
}

}  // namespace faultline::core
