// The fault plan: the timeline as written, and a seeded nemesis that is the same for the same
// seed, different for another, inside its bounds and within max_active.

#include <catch2/catch.hpp>

#include <string>

#include "faultline/core/kinds.h"
#include "faultline/experiments/schedule.h"
#include "faultline/proxy/toxic.h"

using namespace faultline;
using namespace faultline::experiments;
using namespace std::chrono_literals;

namespace {

Spec Load(const std::string& text) {
  const SpecResult result = ParseSpec(text, "x.yaml", "/specs");
  for (const auto& error : result.errors) UNSCOPED_INFO(error.Format());
  REQUIRE(result.spec);
  return *result.spec;
}

const std::string kNemesis = R"yaml(name: n
duration: 60s
services:
  store: ./store
  agent: {cmd: ./agent, inject: true}
proxies:
  p: {upstream: store}
  q: {upstream: store}
faults:
  - {nemesis: random, every: 200ms..1s, for: 100ms..2s, kinds: [pause, kill, skew, latency, reset_peer], max_active: 2}
)yaml";

std::vector<std::string> Described(const std::vector<PlannedFault>& plan) {
  std::vector<std::string> lines;
  for (const auto& fault : plan) lines.push_back(DescribeFault(fault));
  return lines;
}

}  // namespace

TEST_CASE("the timeline is planned as written", "[experiments][schedule]") {
  const Spec spec = Load(R"yaml(name: t
duration: 60s
services: {store: ./store}
proxies: {p: {upstream: store}}
faults:
  - {at: 5s, pause: store}
  - {at: 2s, for: 3s, proxy: p, toxic: {type: latency, latency: 800ms}}
  - {after: store ready, at: 1s, kill: store, restart_after: 500ms}
)yaml");
  const auto plan = PlanFaults(spec, 1, 60s);
  REQUIRE(plan);
  CHECK(
      Described(*plan) ==
      std::vector<std::string>{
          "f2 at 2s for 3s: proxy p downstream -> latency(latency=800ms)",
          "f1 at 5s until the end: service store -> pause",
          "f3 1s after store is ready until the end: service store -> kill(restart_after=500ms)"});
  CHECK((*plan)[0].fault.id == "fault_f2");  // its toxic's name
  CHECK((*plan)[0].fault.action.kind->name == "latency");
  CHECK((*plan)[1].fault.id == "f1");
}

TEST_CASE("a nemesis plans the same faults for the same seed, others for another",
          "[experiments][schedule]") {
  const Spec spec = Load(kNemesis);
  const auto a = PlanFaults(spec, 42, 60s);
  const auto b = PlanFaults(spec, 42, 60s);
  const auto c = PlanFaults(spec, 43, 60s);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  CHECK(Described(*a) == Described(*b));
  CHECK(Described(*a) != Described(*c));
  // A longer run keeps the shorter one's faults as its beginning.
  const auto longer = PlanFaults(spec, 42, 120s);
  REQUIRE(longer);
  const auto first = Described(*a);
  const auto extended = Described(*longer);
  REQUIRE(extended.size() > first.size());
  CHECK(std::equal(first.begin(), first.end(), extended.begin()));
}

TEST_CASE("a nemesis stays inside its bounds and its max_active", "[experiments][schedule]") {
  const Spec spec = Load(kNemesis);
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const auto plan = PlanFaults(spec, seed, 60s);
    REQUIRE(plan);
    REQUIRE(!plan->empty());
    std::vector<std::string> kinds_seen;
    for (std::size_t i = 0; i < plan->size(); ++i) {
      const PlannedFault& fault = (*plan)[i];
      CAPTURE(seed, DescribeFault(fault));
      CHECK(fault.start.at > 0s);
      CHECK(fault.start.at < 60s);
      REQUIRE(fault.length);
      CHECK(*fault.length >= 100ms);
      CHECK(*fault.length <= 2s);
      if (i > 0) CHECK(fault.start.at - (*plan)[i - 1].start.at >= 200ms);
      int active = 0;
      for (const PlannedFault& other : *plan) {
        if (other.start.at <= fault.start.at && other.start.at + *other.length > fault.start.at) {
          ++active;
        }
      }
      CHECK(active <= 2);
      const std::string kind(fault.fault.action.kind->name);
      const std::string& target = fault.fault.where.target;
      if (kind == "skew") CHECK(target == "agent");  // the only one under the shim
      if (kind == "latency" || kind == "reset_peer") CHECK((target == "p" || target == "q"));
      if (kind == "kill") {
        CHECK(std::chrono::milliseconds(core::IntegerAttribute(fault.fault.action.settings,
                                                               "restart_after")) == *fault.length);
      }
      kinds_seen.push_back(kind);
    }
    std::sort(kinds_seen.begin(), kinds_seen.end());
    kinds_seen.erase(std::unique(kinds_seen.begin(), kinds_seen.end()), kinds_seen.end());
    CHECK(kinds_seen.size() >= 3);  // 60 s of faults every ≤ 1 s use several kinds
  }
}

TEST_CASE("every nemesis kind makes a fault the proxy or the shim accepts",
          "[experiments][schedule]") {
  for (std::string_view kind : NemesisKinds()) {
    CAPTURE(kind);
    const Spec spec = Load(
        "name: k\nduration: 5s\nservices:\n  s: {cmd: ./s, inject: true}\nproxies: {p: {upstream: "
        "s}}\nfaults:\n  - {nemesis: random, every: 1s, kinds: [" +
        std::string(kind) + "]}\n");
    const auto plan = PlanFaults(spec, 7, 5s);
    REQUIRE(plan);
    REQUIRE(plan->size() == 4);  // at 1, 2, 3 and 4 s, one at a time
    const core::Fault& fault = plan->front().fault;
    CHECK(fault.action.kind->name == kind);
    if (fault.family() == core::Family::kProxy) {
      auto toxic = proxy::ToxicFromFault(fault, fault.id);
      CHECK(toxic);
      CHECK(fault.id == "nemesis_n1.1");
    }
    if (kind == "skew") {
      CHECK(fault.action.on_call == core::CallAction::kSkew);
      CHECK(fault.where.target == "s");
    }
    // Its line reads back as the same fault.
    CHECK(*core::ParseFault(core::FormatFault(fault)) == fault);
  }
  const auto kinds = NemesisKinds();
  for (const core::KindInfo& kind : core::Kinds()) {
    CAPTURE(kind.name);  // a row whose nemesis settings do not make a valid toxic is left out
    CHECK((std::find(kinds.begin(), kinds.end(), kind.name) != kinds.end()) ==
          (kind.nemesis == core::Nemesis::kNemesis));
  }
  CHECK(std::find(kinds.begin(), kinds.end(), "point") == kinds.end());
  CHECK(std::find(kinds.begin(), kinds.end(), "hold") != kinds.end());
}

TEST_CASE("a nemesis plays the user's own toxics and rules", "[experiments][schedule]") {
  const Spec spec = Load(R"yaml(name: own
duration: 30s
services:
  store: ./store
  agent: {cmd: ./agent, inject: true}
proxies:
  p: {upstream: store}
faults:
  - nemesis: random
    every: 500ms..1s
    for: 200ms
    kinds:
      - {toxic: {type: latency, latency: 2s, jitter: 100ms, stream: upstream}}
      - {rule: "write,send fd=socket -> 30%fail(EPIPE)"}
)yaml");
  const auto plan = PlanFaults(spec, 9, 30s);
  REQUIRE(plan);
  int toxics = 0;
  int rules = 0;
  for (const PlannedFault& fault : *plan) {
    INFO(DescribeFault(fault));
    if (fault.fault.family() == core::Family::kProxy) {
      ++toxics;
      CHECK(fault.fault.where.target == "p");
      CHECK(fault.fault.id == "nemesis_" + fault.id);
      CHECK(DescribeFault(fault) ==
            fault.id + " at " + core::FormatDuration(fault.start.at) +
                " for 200ms: proxy p upstream -> latency(jitter=100ms, latency=2s)");
    } else {
      ++rules;
      REQUIRE(fault.fault.action.kind->name == "rule");
      CHECK(fault.fault.where.target == "agent");  // the only service run with inject
      CHECK_THAT(DescribeFault(fault),
                 Catch::EndsWith(": service agent write,send fd=socket -> 30%fail(EPIPE)"));
    }
  }
  CHECK(toxics > 5);
  CHECK(rules > 5);
}

TEST_CASE("a plan refuses a nemesis kind with nothing to act on", "[experiments][schedule]") {
  // LoadSpec catches this with a file and line; a spec built in code meets the plan's guard.
  Spec spec = Load("name: k\nduration: 5s\nservices: {s: ./s}\n");
  NemesisSpec nemesis;
  nemesis.kinds.push_back({{}, "skew", std::nullopt});
  spec.nemeses.push_back(nemesis);
  const auto plan = PlanFaults(spec, 1, 10s);
  REQUIRE(!plan);
  CHECK(plan.message() == "nemesis 1: kind 'skew' has nothing to act on (no service with inject)");
}
