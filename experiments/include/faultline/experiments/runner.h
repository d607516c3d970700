#pragma once
// One run of an experiment, start to verdict:
//
//   1. a run directory, the run's metrics (served live when asked), ports for every
//      {{port.NAME}} and `listen: auto`, the spec written back with its templates filled in;
//   2. the proxies (in this process) and the services, in dependency order, each ready before
//      the next starts; services with `inject` run under the shim with their own rule table;
//   3. the workload clients, whose operations become the history; the fault plan applied on
//      time (or on its event) and reverted when its window closes; probes checked as it goes;
//   4. at the end: every fault reverted, clients stopped, history.jsonl written (a workload
//      whose every history line was rejected is a harness error), `final` invariants on the
//      quiesced system, the history checkers, services stopped in reverse order, result.json,
//      metrics.prom and (when asked) a push to a Pushgateway.
//
// Everything the run does is an event in events.jsonl. Same spec and same seed give the same
// plan (what faults, when, on what), which is what `faultline replay` relies on.
//
// Nothing is left behind: children are stopped on every path out, faults are reverted, and
// with a Reaper even a runner killed with SIGKILL leaves no child running or stopped.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "faultline/experiments/reaper.h"
#include "faultline/experiments/spec.h"

namespace faultline::experiments {

struct RunProgress {
  double elapsed_seconds = 0;
  std::uint64_t ops_ok = 0;
  std::uint64_t ops_failed = 0;  // fail and info
  int active_faults = 0;
  int violations = 0;
};

struct RunOptions {
  std::string runs_root = "runs";
  std::uint64_t seed = 0;
  std::string metrics_address;  // HOST:PORT to serve /metrics on during the run; "" for none
  std::string pushgateway;      // http://HOST:PORT to push the metrics to at the end; "" none
  std::string inject_library;   // libfaultline_inject.so, for services with `inject`
  Reaper* reaper = nullptr;     // registers every child (see reaper.h)
  const std::atomic<bool>* interrupted = nullptr;       // when set, the run ends early (an error)
  std::function<void(const RunProgress&)> on_progress;  // a few times a second
  std::function<void(std::string_view line)> on_note;   // what a user should know, as it happens
};

struct Violation {
  std::string invariant;
  std::string summary;  // the first evidence, one sentence
  boost::json::object evidence;
};

struct RunResult {
  enum class Verdict { kPass, kFail, kError };
  Verdict verdict = Verdict::kError;
  std::string run_dir;  // empty if it could not even be created
  std::string run_id;
  std::uint64_t seed = 0;
  double duration_seconds = 0;
  std::vector<Violation> violations;
  std::string error;   // kError: what went wrong (a service not ready, interrupted, ...)
  std::string report;  // report.html's path; empty if it could not be written
  // Lines of clients' output that were not operations, and the first of them: "client
  // NAME: REASON: LINE".
  std::uint64_t rejected_history_lines = 0;
  std::string first_rejected_line;
};

std::string_view VerdictName(RunResult::Verdict verdict);

RunResult RunExperiment(const Spec& spec, const RunOptions& options);

}  // namespace faultline::experiments
