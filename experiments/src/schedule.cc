#include "faultline/experiments/schedule.h"

#include <algorithm>
#include <cstdlib>

#include "faultline/core/kinds.h"
#include "faultline/core/random.h"

namespace faultline::experiments {
namespace {

using namespace std::chrono_literals;

// A kind a nemesis names that acts on services (pause, kill, skew), not on a proxy.
bool IsServiceKind(std::string_view kind) {
  const core::KindInfo* info = core::FindKind(kind);
  return info != nullptr && info->family != core::Family::kProxy;
}

// The settings of a toxic of this type as a nemesis starts it: its row's nemesis settings in
// core/kinds.h, chosen to show (half a second for times, one byte or 1 KB/s for sizes and
// rates), the rest the type's own defaults. None for a type a nemesis does not start.
std::optional<core::Attributes> NemesisSettings(std::string_view type) {
  const core::KindInfo* kind = core::FindKind(type);
  if (kind == nullptr || kind->family != core::Family::kProxy ||
      kind->nemesis != core::Nemesis::kNemesis) {
    return std::nullopt;
  }
  auto settings = core::ReadSettings(*kind, kind->nemesis_settings);
  if (!settings) return std::nullopt;
  return std::move(*settings);
}

// Uniform in [low, high], in whole milliseconds when the range allows (plans read better).
core::Duration Uniform(core::Rng& rng, core::Duration low, core::Duration high) {
  using std::chrono::milliseconds;
  const auto low_ms = std::chrono::ceil<milliseconds>(low);
  const auto high_ms = std::chrono::floor<milliseconds>(high);
  if (low_ms.count() >= 1 && low_ms <= high_ms) {
    return milliseconds(rng.Between(low_ms.count(), high_ms.count()));
  }
  return core::Duration(rng.Between(low.count(), high.count()));
}

// A kind that acts on services: pause, kill, skew and rules. The rest act on proxies.
bool ActsOnServices(const NemesisKind& kind) {
  return kind.own ? kind.own->family() == core::Family::kShim : IsServiceKind(kind.name);
}

// Skew and rules act through the shim, so only on services run with `inject`.
bool NeedsInject(const NemesisKind& kind) {
  return kind.name == "skew" || (kind.own && kind.own->family() == core::Family::kShim);
}

}  // namespace

std::string_view NemesisKindActsOn(const NemesisKind& kind) {
  if (!ActsOnServices(kind)) return "proxy";
  return NeedsInject(kind) ? "service with inject" : "service";
}

std::vector<std::string> NemesisCandidates(const Spec& spec, const NemesisSpec& nemesis,
                                           const NemesisKind& kind) {
  std::vector<std::string> out;
  auto wanted = [&](const std::string& name) {
    return nemesis.targets.empty() ||
           std::find(nemesis.targets.begin(), nemesis.targets.end(), name) != nemesis.targets.end();
  };
  if (ActsOnServices(kind)) {
    for (const ServiceSpec& service : spec.services) {
      if (NeedsInject(kind) && !service.inject) continue;
      if (wanted(service.name)) out.push_back(service.name);
    }
    // Clients are what the run measures: pause and kill act on them only when named.
    if (!NeedsInject(kind)) {
      for (const std::string& target : nemesis.targets) {
        if (spec.NamesClients(target)) out.push_back(target);
      }
    }
  } else {
    for (const ProxySpec& proxy : spec.proxies) {
      if (wanted(proxy.name)) out.push_back(proxy.name);
    }
  }
  return out;
}

namespace {

// The fault a nemesis starts on `target`, named for its plan id `id`.
core::Fault NemesisFault(const Spec& spec, const NemesisKind& nemesis_kind,
                         const std::string& target, core::Rng& rng, const std::string& id) {
  core::Fault fault;
  if (nemesis_kind.own) {
    fault = *nemesis_kind.own;
  } else if (const std::string_view kind = nemesis_kind.name; kind == "skew") {
    // Up to an hour either way: enough to cross a lease or a token's expiry.
    const auto seconds = rng.Between(1, 3600) * (rng.Below(2) == 0 ? -1 : 1);
    fault =
        *core::SkewFault((seconds > 0 ? "+" : "-") + std::to_string(std::abs(seconds)) + "s", "");
  } else {
    fault.action.kind = core::FindKind(kind);
    if (fault.family() == core::Family::kProxy) fault.action.settings = *NemesisSettings(kind);
  }
  fault.where.target = target;
  switch (fault.family()) {
    case core::Family::kProxy:
      fault.where.target_kind = core::TargetKind::kProxy;
      // Two of a nemesis's toxics may be on one proxy at once; names must differ.
      fault.id = "nemesis_" + id;
      break;
    case core::Family::kShim:
      fault.where.target_kind = core::TargetKind::kService;
      fault.id = id;
      break;
    case core::Family::kProcess:
      fault.where.target_kind =
          spec.NamesClients(target) ? core::TargetKind::kClients : core::TargetKind::kService;
      fault.id = id;
      break;
  }
  return fault;
}

core::Status PlanNemesis(const Spec& spec, const NemesisSpec& nemesis, int number,
                         std::uint64_t seed, core::Duration horizon,
                         std::vector<PlannedFault>& out) {
  for (const NemesisKind& kind : nemesis.kinds) {
    if (NemesisCandidates(spec, nemesis, kind).empty()) {
      return core::MakeError("nemesis " + std::to_string(number) + ": kind '" + kind.name +
                             "' has nothing to act on (no " + std::string(NemesisKindActsOn(kind)) +
                             (nemesis.targets.empty() ? "" : " among its targets") + ")");
    }
  }
  core::Rng rng(core::DeriveSeed(seed, {"nemesis", number}));
  std::vector<core::Duration> ends;  // of this nemesis's faults, to honour max_active
  core::Duration at{0};
  int count = 0;
  while (true) {
    at += Uniform(rng, nemesis.every_min, nemesis.every_max);
    if (at >= horizon) break;
    // Every draw happens whether or not the slot is used, so one skipped slot does not
    // shift the choices of all later ones.
    const NemesisKind& kind = nemesis.kinds[rng.Below(nemesis.kinds.size())];
    const auto candidates = NemesisCandidates(spec, nemesis, kind);
    const std::string& target = candidates[rng.Below(candidates.size())];
    const core::Duration length = Uniform(rng, nemesis.length_min, nemesis.length_max);
    core::Rng action_rng(rng.Next());
    const auto active =
        std::count_if(ends.begin(), ends.end(), [&](core::Duration end) { return end > at; });
    if (active >= nemesis.max_active) continue;
    PlannedFault fault;
    fault.id = "n" + std::to_string(number) + "." + std::to_string(++count);
    fault.where = nemesis.where;
    fault.fault = NemesisFault(spec, kind, target, action_rng, fault.id);
    // A service it kills is down for the fault's length; a killed client stays down.
    if (fault.fault.action.kind->name == "kill" &&
        fault.fault.where.target_kind == core::TargetKind::kService) {
      fault.fault.action.settings["restart_after"] =
          std::int64_t{std::chrono::round<std::chrono::milliseconds>(length).count()};
    }
    fault.start.at = at;
    fault.length = length;
    ends.push_back(at + length);
    out.push_back(std::move(fault));
  }
  return core::Ok();
}

}  // namespace

std::vector<std::string_view> NemesisKinds() {
  std::vector<std::string_view> kinds;
  for (const core::Family family :
       {core::Family::kProcess, core::Family::kShim, core::Family::kProxy}) {
    for (const core::KindInfo& kind : core::Kinds()) {
      if (kind.family == family && kind.nemesis == core::Nemesis::kNemesis &&
          (family != core::Family::kProxy || NemesisSettings(kind.name))) {
        kinds.push_back(kind.name);
      }
    }
  }
  return kinds;
}

std::string DescribeFault(const PlannedFault& fault) {
  std::string text = fault.id;
  switch (fault.start.event) {
    case Trigger::Event::kStart:
      text += " at " + core::FormatDuration(fault.start.at);
      break;
    case Trigger::Event::kReady:
      text += " " + core::FormatDuration(fault.start.at) + " after " + fault.start.service +
              " is ready";
      break;
    case Trigger::Event::kOp:
      text += " " + core::FormatDuration(fault.start.at) + " after op " +
              std::to_string(fault.start.op);
      break;
  }
  text += fault.length ? " for " + core::FormatDuration(*fault.length) : " until the end";
  core::Fault shown = fault.fault;
  shown.id.clear();  // the plan's id leads the line
  return text + ": " + core::FormatFault(shown);
}

std::optional<core::Duration> LongestRun(const Spec& spec) {
  std::optional<core::Duration> clients;
  if (!spec.workload.empty()) {
    clients = core::Duration(0);
    for (const WorkloadSpec& workload : spec.workload) {
      if (!workload.duration) {
        clients.reset();
        break;
      }
      clients = std::max(*clients, *workload.duration);
    }
  }
  if (spec.duration && clients) return std::min(*spec.duration, *clients);
  return spec.duration ? spec.duration : clients;
}

core::Result<std::vector<PlannedFault>> PlanFaults(const Spec& spec, std::uint64_t seed,
                                                   core::Duration horizon) {
  std::vector<PlannedFault> plan;
  int number = 0;
  for (const TimelineFault& timeline : spec.faults) {
    PlannedFault fault;
    fault.id = "f" + std::to_string(++number);
    fault.where = timeline.where;
    fault.fault = timeline.fault;
    fault.fault.id = fault.fault.family() == core::Family::kProxy ? "fault_" + fault.id : fault.id;
    fault.start = timeline.start;
    fault.length = timeline.length;
    plan.push_back(std::move(fault));
  }
  number = 0;
  for (const NemesisSpec& nemesis : spec.nemeses) {
    if (auto ok = PlanNemesis(spec, nemesis, ++number, seed, horizon, plan); !ok) {
      return ok.error();
    }
  }
  std::stable_sort(plan.begin(), plan.end(), [](const PlannedFault& a, const PlannedFault& b) {
    const bool a_fixed = a.start.event == Trigger::Event::kStart;
    const bool b_fixed = b.start.event == Trigger::Event::kStart;
    if (a_fixed != b_fixed) return a_fixed;
    return a.start.at < b.start.at;
  });
  return plan;
}

}  // namespace faultline::experiments
