// The fault schedule on a manual clock: when each fault is applied and reverted, what its
// trigger waits for, a fault that cannot be applied, a kill's downtime, and the end of a run.

#include "faultline/experiments/fault_scheduler.h"

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "faultline/core/fault.h"

using faultline::core::Duration;
using faultline::core::ManualClock;
using faultline::experiments::Actuator;
namespace core = faultline::core;
using faultline::experiments::FaultListener;
using faultline::experiments::FaultScheduler;
using faultline::experiments::PlannedFault;
using faultline::experiments::Trigger;
using namespace std::chrono_literals;

namespace {

// Records what was applied and reverted, and when (ms since the clients started).
class Recorder final : public Actuator, public FaultListener {
 public:
  explicit Recorder(ManualClock& clock) : clock_(clock), start_(clock.Now()) {}

  faultline::core::Status Apply(const PlannedFault& fault,
                                std::optional<Duration>& ends_after) override {
    Log("apply " + fault.id);
    if (refuse.count(fault.id) != 0) return faultline::core::MakeError("no such target");
    if (const auto& kill = fault.fault.action.settings; kill.contains("restart_after")) {
      ends_after = std::chrono::milliseconds(core::IntegerAttribute(kill, "restart_after"));
    }
    return faultline::core::Ok();
  }
  faultline::core::Status Revert(const PlannedFault& fault) override {
    Log("revert " + fault.id);
    if (revert_fails.count(fault.id) != 0) return faultline::core::MakeError("gone");
    return faultline::core::Ok();
  }
  void Started(const PlannedFault& fault) override { Log("started " + fault.id); }
  void Failed(const PlannedFault& fault, const std::string& error) override {
    Log("failed " + fault.id + ": " + error);
  }
  void Ended(const PlannedFault& fault, const std::string& error) override {
    Log("ended " + fault.id + (error.empty() ? "" : ": " + error));
  }

  // Times in the log count from now on.
  void CountFromNow() { start_ = clock_.Now(); }

  std::vector<std::string> log;
  std::map<std::string, int> refuse;
  std::map<std::string, int> revert_fails;

 private:
  void Log(const std::string& what) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now() - start_).count();
    log.push_back(std::to_string(ms) + " " + what);
  }
  ManualClock& clock_;
  faultline::core::TimePoint start_;
};

PlannedFault Fault(std::string id, Duration at, std::optional<Duration> length,
                   Trigger::Event event = Trigger::Event::kStart) {
  PlannedFault fault;
  fault.id = std::move(id);
  fault.start.event = event;
  fault.start.at = at;
  fault.length = length;
  fault.fault = *core::ParseFault("service store -> pause");
  return fault;
}

}  // namespace

TEST_CASE("faults start at their offset from the clients' start and end after their length",
          "[experiments][scheduler]") {
  ManualClock clock;
  Recorder recorder(clock);
  const std::vector<PlannedFault> plan = {Fault("f1", 2s, 3s), Fault("f2", 2s, 1s),
                                          Fault("f3", 4s, std::nullopt)};
  FaultScheduler faults(plan, clock, recorder, recorder);
  clock.Advance(10s);  // nothing counts before the clients start
  CHECK(recorder.log.empty());
  recorder.CountFromNow();
  faults.ClientsStarted();
  clock.Advance(1999ms);
  CHECK(recorder.log.empty());
  CHECK(faults.active() == 0);
  clock.Advance(1ms);
  CHECK(faults.active() == 2);
  clock.Advance(10s);
  CHECK(recorder.log == std::vector<std::string>{
                            "2000 apply f1", "2000 started f1", "2000 apply f2", "2000 started f2",
                            "3000 revert f2", "3000 ended f2", "4000 apply f3", "4000 started f3",
                            "5000 revert f1", "5000 ended f1"});
  // f3 has no length: it lasts until the run ends.
  CHECK(faults.active() == 1);
  faults.EndAll();
  CHECK(recorder.log.back() == "12000 ended f3");
  CHECK(faults.active() == 0);
  CHECK(faults.applied() == std::vector<std::string>{"f1", "f2", "f3"});
}

TEST_CASE("a fault after a service is ready counts from its readiness, or the clients' start",
          "[experiments][scheduler]") {
  ManualClock clock;
  Recorder recorder(clock);
  std::vector<PlannedFault> plan = {Fault("early", 1s, 1s, Trigger::Event::kReady),
                                    Fault("late", 500ms, 1s, Trigger::Event::kReady)};
  plan[0].start.service = "db";     // ready before the clients start
  plan[1].start.service = "cache";  // ready 3 s after
  FaultScheduler faults(plan, clock, recorder, recorder);
  faults.ServiceReady("db");
  clock.Advance(5s);
  CHECK(recorder.log.empty());  // the clients have not started
  recorder.CountFromNow();
  faults.ClientsStarted();
  clock.Advance(3s);
  faults.ServiceReady("cache");
  faults.ServiceReady("cache");  // only the first time counts
  clock.Advance(5s);
  CHECK(recorder.log == std::vector<std::string>{"1000 apply early", "1000 started early",
                                                 "2000 revert early", "2000 ended early",
                                                 "3500 apply late", "3500 started late",
                                                 "4500 revert late", "4500 ended late"});
}

TEST_CASE("a fault after op N starts once the history holds N ops", "[experiments][scheduler]") {
  ManualClock clock;
  Recorder recorder(clock);
  std::vector<PlannedFault> plan = {Fault("f1", 200ms, 1s, Trigger::Event::kOp)};
  plan[0].start.op = 100;
  FaultScheduler faults(plan, clock, recorder, recorder);
  faults.ClientsStarted();
  faults.OpsReached(99);
  clock.Advance(1s);
  CHECK(recorder.log.empty());
  faults.OpsReached(150);
  clock.Advance(100ms);
  faults.OpsReached(151);  // already waiting: the offset still counts from op 100's arrival
  clock.Advance(100ms);
  CHECK(recorder.log == std::vector<std::string>{"1200 apply f1", "1200 started f1"});
}

TEST_CASE("a fault that cannot be applied is done; one whose revert fails says so",
          "[experiments][scheduler]") {
  ManualClock clock;
  Recorder recorder(clock);
  const std::vector<PlannedFault> plan = {Fault("f1", 1s, 1s), Fault("f2", 1s, 1s)};
  recorder.refuse["f1"] = 1;
  recorder.revert_fails["f2"] = 1;
  FaultScheduler faults(plan, clock, recorder, recorder);
  faults.ClientsStarted();
  clock.Advance(5s);
  CHECK(recorder.log == std::vector<std::string>{"1000 apply f1", "1000 failed f1: no such target",
                                                 "1000 apply f2", "1000 started f2",
                                                 "2000 revert f2", "2000 ended f2: gone"});
  CHECK(faults.applied() == std::vector<std::string>{"f2"});
}

TEST_CASE("a kill with restart ends after its downtime; the run's end cancels what is to come",
          "[experiments][scheduler]") {
  ManualClock clock;
  Recorder recorder(clock);
  std::vector<PlannedFault> plan = {Fault("kill", 1s, std::nullopt), Fault("later", 30s, 1s)};
  plan[0].fault = *core::ParseFault("service store -> kill(restart=1, restart_after=700ms)");
  FaultScheduler faults(plan, clock, recorder, recorder);
  faults.ClientsStarted();
  clock.Advance(5s);
  CHECK(recorder.log == std::vector<std::string>{"1000 apply kill", "1000 started kill",
                                                 "1700 revert kill", "1700 ended kill"});
  faults.EndAll();
  CHECK(clock.pending() == 0);
  clock.Advance(60s);
  CHECK(recorder.log.size() == 4);  // `later` never starts
  CHECK(faults.applied() == std::vector<std::string>{"kill"});
}
