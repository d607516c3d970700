#include "faultline/experiments/fault_scheduler.h"

#include <algorithm>

namespace faultline::experiments {

FaultScheduler::FaultScheduler(const std::vector<PlannedFault>& plan, core::Clock& clock,
                               Actuator& actuator, FaultListener& listener)
    : clock_(clock), actuator_(actuator), listener_(listener) {
  entries_.reserve(plan.size());
  for (const PlannedFault& fault : plan) {
    Entry entry;
    entry.fault = &fault;
    entry.timer = clock_.MakeTimer();
    entries_.push_back(std::move(entry));
  }
}

FaultScheduler::~FaultScheduler() = default;

void FaultScheduler::Arm(Entry& entry, core::TimePoint event_time) {
  if (entry.state != State::kWaiting) return;
  entry.state = State::kArmed;
  const auto at =
      event_time + std::chrono::duration_cast<core::TimePoint::duration>(entry.fault->start.at);
  entry.timer->ArmAt(at, [this, &entry] { Start(entry); });
}

void FaultScheduler::ClientsStarted() {
  if (clients_started_) return;
  clients_started_ = clock_.Now();
  for (Entry& entry : entries_) {
    const Trigger& start = entry.fault->start;
    if (start.event == Trigger::Event::kStart) Arm(entry, *clients_started_);
    // Ready before the clients started: the offset counts from their start.
    if (start.event == Trigger::Event::kReady && ready_.count(start.service) != 0) {
      Arm(entry, std::max(ready_.at(start.service), *clients_started_));
    }
  }
}

void FaultScheduler::ServiceReady(const std::string& service) {
  if (!ready_.emplace(service, clock_.Now()).second || !clients_started_) return;
  for (Entry& entry : entries_) {
    const Trigger& start = entry.fault->start;
    if (start.event == Trigger::Event::kReady && start.service == service) {
      Arm(entry, clock_.Now());
    }
  }
}

void FaultScheduler::OpsReached(std::uint64_t ops) {
  for (Entry& entry : entries_) {
    const Trigger& start = entry.fault->start;
    if (start.event == Trigger::Event::kOp && start.op <= ops) Arm(entry, clock_.Now());
  }
}

void FaultScheduler::Start(Entry& entry) {
  const PlannedFault& fault = *entry.fault;
  std::optional<core::Duration> ends_after = fault.length;
  if (auto ok = actuator_.Apply(fault, ends_after); !ok) {
    entry.state = State::kDone;
    listener_.Failed(fault, ok.message());
    return;
  }
  entry.state = State::kActive;
  entry.applied = true;
  listener_.Started(fault);
  if (ends_after) {
    entry.timer->ArmAt(
        clock_.Now() + std::chrono::duration_cast<core::TimePoint::duration>(*ends_after),
        [this, &entry] { End(entry); });
  }
}

void FaultScheduler::End(Entry& entry) {
  entry.state = State::kDone;
  auto reverted = actuator_.Revert(*entry.fault);
  listener_.Ended(*entry.fault, reverted ? std::string() : reverted.message());
}

void FaultScheduler::EndAll() {
  for (Entry& entry : entries_) {
    entry.timer->Cancel();
    if (entry.state == State::kActive) {
      End(entry);
    } else if (entry.state != State::kDone) {
      entry.state = State::kDone;
    }
  }
}

int FaultScheduler::active() const {
  return static_cast<int>(std::count_if(entries_.begin(), entries_.end(),
                                        [](const Entry& e) { return e.state == State::kActive; }));
}

std::vector<std::string> FaultScheduler::applied() const {
  std::vector<std::string> ids;
  for (const Entry& entry : entries_) {
    if (entry.applied) ids.push_back(entry.fault->id);
  }
  return ids;
}

}  // namespace faultline::experiments
