#include "faultline/experiments/run_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <mutex>
#include <string_view>

#include "faultline/core/kinds.h"
#include "faultline/experiments/readiness.h"

namespace faultline::experiments {
namespace {

// http://HOST:PORT, with at most a '/' after it: a Pushgateway's base URL.
bool IsBaseUrl(std::string_view url) {
  if (!url.starts_with("http://")) return false;
  url.remove_prefix(7);
  if (url.ends_with('/')) url.remove_suffix(1);
  return !url.empty() && url.find('/') == std::string_view::npos;
}

// A fault's kind and a decision's action label series only as the values core/kinds.h
// declares; anything else (which would be a bug) is counted as "other", so a run's series
// stay a product of bounded sets.
constexpr std::string_view kOther = "other";
std::string_view BoundedKind(std::string_view kind) {
  return core::FindKind(kind) != nullptr ? kind : kOther;
}

}  // namespace

using namespace metric_names;

class RunMetrics::Impl {
 public:
  Impl(std::string experiment, std::string run_id, std::uint64_t seed)
      : experiment_(std::move(experiment)),
        run_id_(std::move(run_id)),
        registry_(std::make_shared<prometheus::Registry>()),
        info_(prometheus::BuildGauge()
                  .Name(kRunInfo)
                  .Help("1 for the run: its experiment, id and seed")
                  .Register(*registry_)),
        passed_(prometheus::BuildGauge()
                    .Name(kRunPassed)
                    .Help("1 if the run passed every invariant, 0 if one was violated")
                    .Register(*registry_)),
        duration_(prometheus::BuildGauge()
                      .Name(kRunDuration)
                      .Help("How long the run took, start to verdict")
                      .Register(*registry_)),
        violations_(prometheus::BuildCounter()
                        .Name(kInvariantViolations)
                        .Help("Invariant violations found, by invariant")
                        .Register(*registry_)),
        ops_(prometheus::BuildCounter()
                 .Name(kOps)
                 .Help("Workload operations completed, by function and outcome (ok, fail, info)")
                 .Register(*registry_)),
        latency_(prometheus::BuildHistogram()
                     .Name(kOpLatency)
                     .Help("Workload operation latency, invoke to completion")
                     .Register(*registry_)),
        faults_(prometheus::BuildCounter()
                    .Name(kFaultsInjected)
                    .Help("Faults started, by kind and target")
                    .Register(*registry_)),
        active_(prometheus::BuildGauge()
                    .Name(kFaultActive)
                    .Help("Faults of this kind active on this target now")
                    .Register(*registry_)),
        decisions_(prometheus::BuildCounter()
                       .Name(kFaultDecisions)
                       .Help("Decisions faults made (a frame dropped, a call failed, a hold "
                             "released...), by kind, target and action")
                       .Register(*registry_)),
        inject_(prometheus::BuildCounter()
                    .Name(kInjectCalls)
                    .Help("Intercepted calls a shim rule acted on, by call and action")
                    .Register(*registry_)) {
    info_.Add({{"experiment", experiment_}, {"run_id", run_id_}, {"seed", std::to_string(seed)}})
        .Set(1);
  }

  void OpCompleted(std::string_view f, std::string_view outcome, std::optional<double> latency) {
    ops_.Add(
            {{"experiment", experiment_}, {"f", std::string(f)}, {"outcome", std::string(outcome)}})
        .Increment();
    if (latency) {
      // 100 µs to 10 s: a loopback call at one end, a timed-out one at the other.
      static const prometheus::Histogram::BucketBoundaries kBuckets = {
          0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
      latency_.Add({{"experiment", experiment_}, {"f", std::string(f)}}, kBuckets)
          .Observe(*latency);
    }
  }

  void Fault(std::string_view kind, std::string_view target, bool started) {
    const prometheus::Labels labels = {{"experiment", experiment_},
                                       {"kind", std::string(BoundedKind(kind))},
                                       {"target", std::string(target)}};
    if (started) {
      faults_.Add(labels).Increment();
      active_.Add(labels).Increment();
    } else {
      active_.Add(labels).Decrement();
    }
  }

  void Decided(std::string_view kind, std::string_view target, std::string_view action) {
    decisions_
        .Add({{"experiment", experiment_},
              {"kind", std::string(BoundedKind(kind))},
              {"target", std::string(target)},
              {"action", std::string(core::IsKnownDecision(action) ? action : kOther)}})
        .Increment();
  }

  void Violated(std::string_view invariant) {
    violations_.Add({{"experiment", experiment_}, {"invariant", std::string(invariant)}})
        .Increment();
  }

  void InjectCalls(std::string_view call, std::string_view action, std::uint64_t total) {
    std::lock_guard lock(mutex_);
    auto& counter = inject_.Add({{"call", std::string(call)}, {"action", std::string(action)}});
    const double now = static_cast<double>(total);
    if (now > counter.Value()) counter.Increment(now - counter.Value());
  }

  void Finish(bool passed, double seconds) {
    passed_.Add({{"experiment", experiment_}}).Set(passed ? 1 : 0);
    duration_.Add({{"experiment", experiment_}}).Set(seconds);
  }

  std::string Text() const { return prometheus::TextSerializer().Serialize(registry_->Collect()); }

  core::Status Serve(const std::string& address) {
    try {
      exposer_ = std::make_unique<prometheus::Exposer>(address, 1);
      exposer_->RegisterCollectable(registry_);
    } catch (const std::exception& e) {
      return core::MakeError("cannot serve metrics on " + address + ": " + e.what());
    }
    return core::Ok();
  }

  std::uint16_t port() const {
    if (!exposer_) return 0;
    const auto ports = exposer_->GetListeningPorts();
    return ports.empty() ? 0 : static_cast<std::uint16_t>(ports.front());
  }

  // The Pushgateway's PUT: everything under job "faultline", grouped by experiment and run
  // id (names and ids are checked to need no escaping in a path). Through the runner's own
  // HTTP client: prometheus-cpp's push brings libcurl and some thirty libraries into every
  // start of the faultline binary.
  core::Status Push(const std::string& url) const {
    if (!IsBaseUrl(url)) {
      return core::MakeError("pushgateway " + url + ": expected http://HOST:PORT");
    }
    std::string base = url;
    if (base.back() == '/') base.pop_back();
    const std::string target =
        base + "/metrics/job/faultline/experiment/" + experiment_ + "/run_id/" + run_id_;
    const auto status = HttpRequest("PUT", target, Text(), std::chrono::seconds(10));
    if (!status) return core::MakeError("pushgateway " + url + ": " + status.message());
    if (*status < 200 || *status > 299) {
      return core::MakeError("pushgateway " + url + " answered HTTP " + std::to_string(*status));
    }
    return core::Ok();
  }

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

 private:
  std::string experiment_;
  std::string run_id_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Gauge>& info_;
  prometheus::Family<prometheus::Gauge>& passed_;
  prometheus::Family<prometheus::Gauge>& duration_;
  prometheus::Family<prometheus::Counter>& violations_;
  prometheus::Family<prometheus::Counter>& ops_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Family<prometheus::Counter>& faults_;
  prometheus::Family<prometheus::Gauge>& active_;
  prometheus::Family<prometheus::Counter>& decisions_;
  prometheus::Family<prometheus::Counter>& inject_;
  std::mutex mutex_;  // InjectCalls reads then increments
  std::unique_ptr<prometheus::Exposer> exposer_;
};

RunMetrics::RunMetrics(std::string experiment, std::string run_id, std::uint64_t seed)
    : impl_(std::make_unique<Impl>(std::move(experiment), std::move(run_id), seed)) {}
RunMetrics::~RunMetrics() = default;

std::shared_ptr<prometheus::Registry> RunMetrics::registry() const { return impl_->registry(); }
void RunMetrics::OpCompleted(std::string_view f, std::string_view outcome,
                             std::optional<double> latency_seconds) {
  impl_->OpCompleted(f, outcome, latency_seconds);
}
void RunMetrics::FaultStarted(std::string_view kind, std::string_view target) {
  impl_->Fault(kind, target, true);
}
void RunMetrics::FaultEnded(std::string_view kind, std::string_view target) {
  impl_->Fault(kind, target, false);
}
void RunMetrics::FaultDecided(std::string_view kind, std::string_view target,
                              std::string_view action) {
  impl_->Decided(kind, target, action);
}
void RunMetrics::InvariantViolated(std::string_view invariant) { impl_->Violated(invariant); }
void RunMetrics::InjectCalls(std::string_view call, std::string_view action, std::uint64_t total) {
  impl_->InjectCalls(call, action, total);
}
void RunMetrics::Finish(bool passed, double duration_seconds) {
  impl_->Finish(passed, duration_seconds);
}
std::string RunMetrics::Text() const { return impl_->Text(); }
core::Status RunMetrics::Serve(const std::string& address) { return impl_->Serve(address); }
std::uint16_t RunMetrics::port() const { return impl_->port(); }
core::Status RunMetrics::Push(const std::string& url) const { return impl_->Push(url); }

}  // namespace faultline::experiments
