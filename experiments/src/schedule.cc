#include "faultline/experiments/schedule.h"

#include <algorithm>
#include <cstdlib>

#include "faultline/core/kinds.h"
#include "faultline/core/random.h"
#include "faultline/core/text.h"

namespace faultline::experiments {
namespace {

using namespace std::chrono_literals;

// A kind a nemesis names that acts on services (pause, kill, skew), not on a proxy.
bool IsServiceKind(std::string_view kind) {
  const core::KindInfo* info = core::FindKind(kind);
  return info != nullptr && info->family != core::Family::kProxy;
}

// A toxic of this type as a nemesis starts it: its row's nemesis settings in core/kinds.h,
// chosen to show (half a second for times, one byte or 1 KB/s for sizes and rates), the
// rest the type's own defaults.
std::optional<proxy::ToxicSpec> DefaultToxic(std::string_view type) {
  const proxy::ToxicTypeInfo* info = proxy::FindToxicType(type);
  if (info == nullptr || info->kind->nemesis != core::Nemesis::kNemesis) return std::nullopt;
  proxy::ToxicSpec toxic;
  toxic.type = std::string(type);
  for (const std::string_view setting : core::SplitWords(info->kind->nemesis_settings)) {
    const auto equals = setting.find('=');
    const core::AttributeInfo* attribute =
        core::FindAttribute(info->kind->attributes, setting.substr(0, equals));
    if (attribute == nullptr || equals == std::string_view::npos) return std::nullopt;
    bool bare = false;
    auto value = core::ReadWrittenAttribute(*attribute, setting.substr(equals + 1), bare);
    if (!value) return std::nullopt;
    toxic.attributes[std::string(attribute->name)] = *value;
  }
  if (!proxy::ValidateToxic(toxic)) return std::nullopt;
  return toxic;
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
  return kind.own ? kind.own->kind == FaultAction::Kind::kRule : IsServiceKind(kind.name);
}

// Skew and rules act through the shim, so only on services run with `inject`.
bool NeedsInject(const NemesisKind& kind) {
  return kind.name == "skew" || (kind.own && kind.own->kind == FaultAction::Kind::kRule);
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

FaultAction NemesisAction(const Spec& spec, const NemesisKind& nemesis_kind,
                          const std::string& target, core::Rng& rng, const std::string& id) {
  FaultAction action;
  if (nemesis_kind.own) {
    action = *nemesis_kind.own;
    // Two of a nemesis's toxics may be on one proxy at once; names must differ.
    if (action.kind == FaultAction::Kind::kToxic) action.toxic.name = "nemesis_" + id;
    action.target = target;
    return action;
  }
  const std::string_view kind = nemesis_kind.name;
  action.target = target;
  if (kind == "pause") {
    action.kind = FaultAction::Kind::kPause;
    action.clients = spec.NamesClients(target);
  } else if (kind == "kill") {
    action.kind = FaultAction::Kind::kKill;
    action.clients = spec.NamesClients(target);
    action.restart = !action.clients;  // its length is the downtime (set by the caller)
  } else if (kind == "skew") {
    action.kind = FaultAction::Kind::kSkew;
    // Up to an hour either way: enough to cross a lease or a token's expiry.
    const auto seconds = rng.Between(1, 3600) * (rng.Below(2) == 0 ? -1 : 1);
    auto rule = core::ParseFault("clock_gettime,gettimeofday,time clock=all -> skew(" +
                                 std::string(seconds > 0 ? "+" : "-") +
                                 std::to_string(std::abs(seconds)) + "s)");
    action.rule = std::move(*rule);
  } else {
    action.kind = FaultAction::Kind::kToxic;
    action.toxic = *DefaultToxic(kind);
    action.toxic.name = "nemesis_" + id;
  }
  return action;
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
    fault.action = NemesisAction(spec, kind, target, action_rng, fault.id);
    if (fault.action.kind == FaultAction::Kind::kKill) fault.action.restart_after = length;
    fault.start.at = at;
    fault.length = length;
    ends.push_back(at + length);
    out.push_back(std::move(fault));
  }
  return core::Ok();
}

bool IsDefault(const core::AttributeInfo& attribute, const core::AttributeValue& value) {
  if (attribute.required) return false;
  if (const auto* integer = std::get_if<std::int64_t>(&value)) {
    return *integer == attribute.default_integer;
  }
  if (const auto* fraction = std::get_if<double>(&value)) {
    return *fraction == attribute.default_fraction;
  }
  return std::get<std::string>(value) == attribute.default_text;
}

// The attributes that say something (required ones and those away from their default), as a
// spec writes them: durations with their unit, chances as percentages.
std::string Attributes(const proxy::ToxicSpec& toxic) {
  const proxy::ToxicTypeInfo* type = proxy::FindToxicType(toxic.type);
  std::string text;
  for (const auto& [name, value] : toxic.attributes) {
    static const core::AttributeInfo kUnknown{};  // no unit, no default: shown as it is
    const core::AttributeInfo* info =
        type ? core::FindAttribute(type->kind->attributes, name) : nullptr;
    if (info != nullptr && IsDefault(*info, value)) continue;
    if (!text.empty()) text += " ";
    text += name + "=" + core::FormatWrittenAttribute(info ? *info : kUnknown, value);
  }
  return text;
}

}  // namespace

std::vector<std::string_view> NemesisKinds() {
  std::vector<std::string_view> kinds;
  for (const core::Family family :
       {core::Family::kProcess, core::Family::kShim, core::Family::kProxy}) {
    for (const core::KindInfo& kind : core::Kinds()) {
      if (kind.family == family && kind.nemesis == core::Nemesis::kNemesis &&
          (family != core::Family::kProxy || DefaultToxic(kind.name))) {
        kinds.push_back(kind.name);
      }
    }
  }
  return kinds;
}

std::string FaultKind(const FaultAction& action) {
  switch (action.kind) {
    case FaultAction::Kind::kToxic:
      return action.toxic.type;
    case FaultAction::Kind::kRule:
      return "rule";
    case FaultAction::Kind::kPause:
      return "pause";
    case FaultAction::Kind::kKill:
      return "kill";
    case FaultAction::Kind::kSkew:
      return "skew";
  }
  return "unknown";
}

namespace {

// What a pause or a kill names: a service, or a workload's clients.
std::string ProcessNoun(const FaultAction& action) {
  return action.clients ? "clients" : "service";
}

}  // namespace

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
  text += ": ";
  const FaultAction& action = fault.action;
  switch (action.kind) {
    case FaultAction::Kind::kToxic:
      text += action.toxic.type + " on proxy " + action.target + " (" +
              std::string(proxy::StreamName(action.toxic.stream));
      if (const std::string attributes = Attributes(action.toxic); !attributes.empty()) {
        text += " " + attributes;
      }
      text += ")";
      break;
    case FaultAction::Kind::kRule:
    case FaultAction::Kind::kSkew:
      text += FaultKind(action) + " on service " + action.target + " (" +
              core::FormatFault(action.rule) + ")";
      break;
    case FaultAction::Kind::kPause:
      text += "pause " + ProcessNoun(action) + " " + action.target;
      break;
    case FaultAction::Kind::kKill:
      text += "kill " + ProcessNoun(action) + " " + action.target;
      if (action.restart) text += ", restarted after " + core::FormatDuration(action.restart_after);
      break;
  }
  return text;
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
    fault.action = timeline.action;
    fault.start = timeline.start;
    fault.length = timeline.length;
    if (fault.action.kind == FaultAction::Kind::kToxic)
      fault.action.toxic.name = "fault_" + fault.id;
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
