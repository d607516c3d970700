#pragma once
// The fault plan of one run, decided from the spec and the run's seed before anything runs:
// the timeline's faults as written, and each random nemesis expanded into the faults it will
// start, when, on what and for how long. Same spec, same seed and same horizon give the same
// plan, byte for byte; that is what makes a failing run replayable from its seed.
//
// A fault that waits for an event (`after: store ready`, `after: op 100`) keeps its trigger:
// its offset is planned, the moment the event happens is not.
//
//   auto plan = PlanFaults(spec, seed, *spec.duration);
//   for (const PlannedFault& fault : *plan) std::cout << DescribeFault(fault) << "\n";

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "faultline/core/duration.h"
#include "faultline/core/result.h"
#include "faultline/experiments/spec.h"

namespace faultline::experiments {

struct PlannedFault {
  std::string id;  // "f1", "f2"... for the timeline (file order), "n1.1", "n1.2"... for nemesis 1
  Location where;  // the spec entry it comes from
  // What it does, and to what. Its id is the name it is installed under: its toxic's name
  // on a proxy ("fault_f1", "nemesis_n1.1"), its rule's in a shim table ("f1").
  core::Fault fault;
  Trigger start;
  std::optional<core::Duration> length;  // none: until the run ends
};

// The faults of a run, ordered by planned start (event-triggered ones by their offset, after
// those that start at a fixed time); on a tie, timeline faults first, in file order. `horizon`: how
// long the run lasts; a nemesis starts nothing at or after it.
core::Result<std::vector<PlannedFault>> PlanFaults(const Spec& spec, std::uint64_t seed,
                                                   core::Duration horizon);

// The longest a run of the spec can last, which is as far as its faults are planned: its
// `duration`, or sooner the longest workload `duration` when every workload has one (a run
// ends when its clients do). None when nothing bounds it in time (clients bound by `ops`).
std::optional<core::Duration> LongestRun(const Spec& spec);

// The names a nemesis accepts in `kinds`: pause, kill, skew, and every proxy toxic type
// that has a sensible default (all but `point`, which changes nothing).
std::vector<std::string_view> NemesisKinds();

// The services or proxies a nemesis's kind can act on: services for pause and kill, services
// run with inject for skew and rules, proxies for toxics; narrowed to the nemesis's targets.
std::vector<std::string> NemesisCandidates(const Spec& spec, const NemesisSpec& nemesis,
                                           const NemesisKind& kind);

// What a nemesis's kind acts on, for messages: "proxy", "service" or "service with inject".
std::string_view NemesisKindActsOn(const NemesisKind& kind);

// One line: "f1 at 2s for 3s: proxy store_a downstream -> latency(latency=800ms)", the fault
// in its line form.
std::string DescribeFault(const PlannedFault& fault);

}  // namespace faultline::experiments
