#pragma once
// The run's fault schedule in motion: each planned fault is applied when its trigger has
// happened and its offset has passed, and reverted when its length is up (or when the run
// ends), on the timers of an injected core::Clock. What applying and reverting mean for a
// target family (a toxic on a proxy, a rule in a shim's table, a signal to a process) is an
// Actuator's; what the run records of it (events, metrics) is the Listener's. So the
// schedule is tested on a ManualClock with no process, proxy or sleep.
//
//   FaultScheduler faults(plan, clock, actuator, listener);
//   faults.ClientsStarted();              // `at: 2s` counts from here
//   faults.ServiceReady("store");         // `after: store ready`
//   faults.OpsReached(history.size());    // `after: op 100`
//   ... clock.FireDue() on the runner's loop ...
//   faults.EndAll();                      // the run is over: revert what is still on

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "faultline/core/clock.h"
#include "faultline/core/duration.h"
#include "faultline/core/result.h"
#include "faultline/experiments/schedule.h"

namespace faultline::experiments {

class Actuator {
 public:
  virtual ~Actuator() = default;
  // Applies the fault to its target. A fault may end sooner than its plan says, by setting
  // `ends_after` (a kill with restart: the service comes back after its downtime).
  virtual core::Status Apply(const PlannedFault& fault,
                             std::optional<core::Duration>& ends_after) = 0;
  virtual core::Status Revert(const PlannedFault& fault) = 0;
};

class FaultListener {
 public:
  virtual ~FaultListener() = default;
  virtual void Started(const PlannedFault& fault) = 0;
  // It could not be applied: it is done, and nothing is reverted.
  virtual void Failed(const PlannedFault& fault, const std::string& error) = 0;
  // Reverted; `error` is empty unless the revert failed.
  virtual void Ended(const PlannedFault& fault, const std::string& error) = 0;
};

class FaultScheduler {
 public:
  // `plan`, `clock`, `actuator` and `listener` outlive the scheduler. Callbacks run on the
  // thread that drives the clock.
  FaultScheduler(const std::vector<PlannedFault>& plan, core::Clock& clock, Actuator& actuator,
                 FaultListener& listener);
  ~FaultScheduler();
  FaultScheduler(const FaultScheduler&) = delete;
  FaultScheduler& operator=(const FaultScheduler&) = delete;

  // The events that triggers wait for. Each counts once: the first time it happens.
  void ClientsStarted();
  void ServiceReady(const std::string& service);
  void OpsReached(std::uint64_t ops);  // the history now holds `ops` operations

  // Reverts every fault still active, in plan order, and cancels those not yet started.
  void EndAll();

  int active() const;
  // The faults applied so far (active or ended), in plan order.
  std::vector<std::string> applied() const;

 private:
  enum class State { kWaiting, kArmed, kActive, kDone };
  struct Entry {
    const PlannedFault* fault = nullptr;
    State state = State::kWaiting;
    bool applied = false;
    std::unique_ptr<core::Timer> timer;
  };
  void Arm(Entry& entry, core::TimePoint event_time);
  void Start(Entry& entry);
  void End(Entry& entry);

  core::Clock& clock_;
  Actuator& actuator_;
  FaultListener& listener_;
  std::vector<Entry> entries_;
  std::optional<core::TimePoint> clients_started_;
  std::map<std::string, core::TimePoint> ready_;
};

}  // namespace faultline::experiments
