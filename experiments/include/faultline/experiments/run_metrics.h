#pragma once
// The Prometheus metrics of one run, under the names DESIGN.md declares (and nowhere else):
// the run's identity and verdict, operations and their latency, faults started and active,
// invariant violations, the decisions faults made, and the shim's call counters. The in-process
// proxies register their own (faultline_proxy_*) in the same registry, so one scrape, one file and
// one push carry everything.
//
//   RunMetrics metrics("cleanup-race", "20261123T101500-42", 42);
//   metrics.Serve("127.0.0.1:9464");          // live /metrics during the run
//   metrics.OpCompleted("write", "ok", 0.0021);
//   metrics.Finish(/*passed=*/false, 20.4);
//   WriteFile(dir / "metrics.prom", metrics.Text());
//   metrics.Push("http://pushgateway:9091");  // grouped by experiment and run_id
//
// Thread-safe: the runner's threads may record at once.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "faultline/core/result.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace faultline::experiments {

namespace metric_names {
inline constexpr const char* kRunInfo = "faultline_run_info";
inline constexpr const char* kRunPassed = "faultline_run_passed";
inline constexpr const char* kRunDuration = "faultline_run_duration_seconds";
inline constexpr const char* kInvariantViolations = "faultline_invariant_violations_total";
inline constexpr const char* kOps = "faultline_ops_total";
inline constexpr const char* kOpLatency = "faultline_op_latency_seconds";
inline constexpr const char* kFaultsInjected = "faultline_faults_injected_total";
inline constexpr const char* kFaultActive = "faultline_fault_active";
inline constexpr const char* kFaultDecisions = "faultline_fault_decisions_total";
inline constexpr const char* kInjectCalls = "faultline_inject_calls_total";
}  // namespace metric_names

class RunMetrics {
 public:
  RunMetrics(std::string experiment, std::string run_id, std::uint64_t seed);
  ~RunMetrics();
  RunMetrics(const RunMetrics&) = delete;
  RunMetrics& operator=(const RunMetrics&) = delete;

  // Shared with the proxies of the run (ProxyServer::Options::metrics).
  std::shared_ptr<prometheus::Registry> registry() const;

  // outcome: ok, fail or info (indeterminate); latency when the op completed.
  void OpCompleted(std::string_view f, std::string_view outcome,
                   std::optional<double> latency_seconds);
  void FaultStarted(std::string_view kind, std::string_view target);
  void FaultEnded(std::string_view kind, std::string_view target);
  // One decision of a fault of `kind` on `target` (a proxy or a service): drop, fail...
  void FaultDecided(std::string_view kind, std::string_view target, std::string_view action);
  void InvariantViolated(std::string_view invariant);
  // The shim's counter for (call, action) now reads `total` (summed over the run's
  // injected services); counters only move forward.
  void InjectCalls(std::string_view call, std::string_view action, std::uint64_t total);
  // The verdict: faultline_run_passed becomes 1 or 0 (it is absent until then).
  void Finish(bool passed, double duration_seconds);

  // The text exposition format of everything registered, as scraped.
  std::string Text() const;
  // Serves /metrics on HOST:PORT until destruction; port 0 picks one (see port()).
  core::Status Serve(const std::string& address);
  std::uint16_t port() const;
  // PUTs everything to a Pushgateway (http://HOST:PORT) under job "faultline" grouped by
  // experiment and run_id, replacing what an earlier push of the same run left.
  core::Status Push(const std::string& url) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace faultline::experiments
