#include "run_command.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "app.h"
#include "faultline/core/random.h"
#include "faultline/core/text.h"
#include "faultline/experiments/decision_log.h"
#include "faultline/experiments/reaper.h"
#include "faultline/experiments/report.h"
#include "faultline/experiments/run_dir.h"
#include "faultline/experiments/run_values.h"
#include "faultline/experiments/runner.h"
#include "faultline/experiments/schedule.h"
#include "faultline/experiments/spec.h"
#include "inject_command.h"

namespace faultline::cli {
namespace {

namespace fs = std::filesystem;
using experiments::RunResult;

constexpr int kExitViolation = 1;

std::atomic<bool> g_interrupted{false};

void OnInterrupt(int) { g_interrupted.store(true); }

// Ctrl-C and SIGTERM end the run early but cleanly: faults reverted, children stopped, the
// run directory written.
void CatchInterrupts() {
  struct sigaction action {};
  action.sa_handler = OnInterrupt;
  sigemptyset(&action.sa_mask);
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(signal, &action, nullptr);
}

void PrintErrors(const experiments::SpecResult& loaded) {
  for (const auto& error : loaded.errors) std::cerr << error.Format() << "\n";
}

// The live line: rewritten in place on a terminal, a line every few seconds otherwise.
class ProgressLine {
 public:
  ProgressLine(int run, int runs, bool quiet)
      : run_(run), runs_(runs), quiet_(quiet), terminal_(::isatty(2) != 0) {}

  void Update(const experiments::RunProgress& progress) {
    if (quiet_) return;
    const std::string line = "run " + std::to_string(run_) + "/" + std::to_string(runs_) + "  " +
                             core::FormatFixed(progress.elapsed_seconds, 1) + " s  ops " +
                             std::to_string(progress.ops_ok) + " ok / " +
                             std::to_string(progress.ops_failed) + " failed  faults active " +
                             std::to_string(progress.active_faults) + "  violations " +
                             std::to_string(progress.violations);
    if (terminal_) {
      std::cerr << "\r\033[K" << line << std::flush;
      shown_ = true;
    } else if (progress.elapsed_seconds >= next_line_) {
      std::cerr << line << "\n";
      next_line_ = progress.elapsed_seconds + 5;
    }
  }

  void Note(std::string_view text) {
    if (quiet_) return;
    Clear();
    std::cerr << text << "\n";
  }

  void Clear() {
    if (shown_) std::cerr << "\r\033[K" << std::flush;
    shown_ = false;
  }

 private:
  int run_;
  int runs_;
  bool quiet_;
  bool terminal_;
  bool shown_ = false;
  double next_line_ = 0;
};

std::uint64_t SeedOfRun(std::uint64_t seed, int index) {
  return index == 0 ? seed : core::DeriveSeed(seed, {"run", index});
}

// The plan of a run with this seed, its templates filled as that run would fill them (a run
// picks its free ports again).
int PrintDryRun(const experiments::Spec& written, std::uint64_t seed, const std::string& runs_dir) {
  std::error_code ec;
  const std::string run_dir =
      (fs::absolute(runs_dir, ec) / written.name).lexically_normal().string() + "/<start>-" +
      std::to_string(seed);
  experiments::RunValues values(seed, run_dir);
  const auto filled = values.Fill(written);
  if (!filled.spec) {
    std::cerr << "faultline run: with a run's values filled in, the spec is not valid:\n";
    PrintErrors(filled);
    return kExitBadInput;
  }
  const experiments::Spec& spec = *filled.spec;
  std::cout << "experiment " << spec.name << ", seed " << seed;
  if (spec.duration) std::cout << ", duration " << core::FormatDuration(*spec.duration);
  std::cout << "\n\nservices, in start order:\n";
  for (const auto* service : spec.StartOrder()) {
    std::cout << "  " << service->name << ": " << service->command.Text()
              << (service->inject ? "  [under the injector]" : "") << "\n";
    for (const auto& rule : service->rules)
      std::cout << "    rule " << core::FormatFault(rule) << "\n";
  }
  if (!spec.proxies.empty()) std::cout << "\nproxies:\n";
  for (const auto& proxy : spec.proxies) {
    const auto port = values.ProxyPort(proxy.name);
    const std::string listen =
        proxy.listen == "auto" && port ? "127.0.0.1:" + std::to_string(*port) : proxy.listen;
    std::cout << "  " << proxy.name << ": " << listen << " -> " << proxy.upstream << " ("
              << proxy.toxics.size() << " toxics)\n";
  }
  if (!spec.workload.empty()) std::cout << "\nworkload:\n";
  for (const auto& workload : spec.workload) {
    std::cout << "  " << workload.name << ": " << workload.concurrency << " x "
              << workload.command.Text();
    if (workload.ops) std::cout << ", " << *workload.ops << " ops";
    if (workload.duration) std::cout << ", for " << core::FormatDuration(*workload.duration);
    std::cout << "\n";
  }
  if (!values.ports().empty()) {
    std::cout << "\nports (free now; a run picks its own):";
    for (const auto& [name, port] : values.ports()) std::cout << " " << name << "=" << port;
    std::cout << "\n";
  }
  // Planned as far as the run can last; an open-ended run shows its first minute.
  const auto longest = experiments::LongestRun(spec);
  const core::Duration horizon = longest.value_or(std::chrono::minutes(1));
  auto plan = experiments::PlanFaults(spec, seed, horizon);
  if (longest) {
    std::cout << "\nfaults, over the run's " << core::FormatDuration(*longest) << ":\n";
  } else {
    std::cout << "\nfaults: the run is open-ended (it ends when its clients finish, and no "
                 "duration bounds them); its first minute:\n";
  }
  if (!plan) {
    std::cout << "  cannot plan: " << plan.message() << "\n";
  } else if (plan->empty()) {
    std::cout << "  none\n";
  } else {
    for (const auto& fault : *plan) std::cout << "  " << experiments::DescribeFault(fault) << "\n";
  }
  if (!spec.invariants.empty()) std::cout << "\ninvariants:\n";
  for (const auto& invariant : spec.invariants) std::cout << "  " << invariant.name << "\n";
  return kExitOk;
}

int ExitCodeOf(const RunResult& result) {
  switch (result.verdict) {
    case RunResult::Verdict::kPass:
      return kExitOk;
    case RunResult::Verdict::kFail:
      return kExitViolation;
    case RunResult::Verdict::kError:
      return kExitHarnessError;
  }
  return kExitHarnessError;
}

// Runs the spec `runs` times from `seed` (derived seeds after the first). `last_run_dir`, if
// given, is set to the last run's directory.
int RunSpec(const experiments::Spec& spec, std::uint64_t seed, const RunCommandOptions& options,
            std::string* last_run_dir = nullptr) {
  auto reaper = experiments::Reaper::Start();
  if (!reaper) {
    std::cerr << "faultline run: " << reaper.message() << "\n";
    return kExitHarnessError;
  }
  std::string library;
  if (std::any_of(spec.services.begin(), spec.services.end(),
                  [](const auto& service) { return service.inject; })) {
    auto found = FindInjectLibrary(options.library);
    if (!found) {
      std::cerr << "faultline run: " << found.message() << "\n";
      return kExitBadInput;
    }
    library = *found;
  }
  CatchInterrupts();
  if (!options.quiet) {
    std::cerr << "faultline run: " << spec.name << ", seed " << seed << " (pass --seed " << seed
              << " to repeat)\n";
  }
  int exit_code = kExitOk;
  int passed = 0;
  int failed = 0;
  for (int index = 0; index < options.runs; ++index) {
    ProgressLine progress(index + 1, options.runs, options.quiet);
    experiments::RunOptions run;
    run.runs_root = options.runs_dir;
    run.seed = SeedOfRun(seed, index);
    if (options.metrics_port >= 0) {
      run.metrics_address = options.metrics_bind + ":" + std::to_string(options.metrics_port);
    }
    run.pushgateway = options.pushgateway;
    run.inject_library = library;
    run.reaper = &*reaper;
    run.interrupted = &g_interrupted;
    run.on_progress = [&](const experiments::RunProgress& p) { progress.Update(p); };
    run.on_note = [&](std::string_view line) { progress.Note(line); };
    const RunResult result = experiments::RunExperiment(spec, run);
    progress.Clear();
    if (last_run_dir != nullptr) *last_run_dir = result.run_dir;
    std::cout << "run " << index + 1 << "/" << options.runs << " seed " << result.seed << ": "
              << experiments::VerdictName(result.verdict) << " in "
              << core::FormatFixed(result.duration_seconds, 1) << " s";
    if (!result.run_dir.empty()) std::cout << "  " << result.run_dir;
    std::cout << "\n";
    for (const auto& violation : result.violations) {
      std::cout << "  violated " << violation.invariant << ": " << violation.summary << "\n";
    }
    if (!result.error.empty()) std::cout << "  error: " << result.error << "\n";
    if (result.rejected_history_lines > 0) {
      std::cout << "  warning: " << result.rejected_history_lines
                << " history line(s) rejected; the first, " << result.first_rejected_line << "\n";
    }
    if (result.verdict != RunResult::Verdict::kPass && !result.report.empty()) {
      std::cout << "  report: " << result.report << "\n";
    }
    if (result.verdict == RunResult::Verdict::kPass) ++passed;
    if (result.verdict == RunResult::Verdict::kFail) ++failed;
    const int code = ExitCodeOf(result);
    if (code != kExitOk && exit_code != kExitHarnessError) exit_code = code;
    if (result.verdict == RunResult::Verdict::kError) break;  // the harness itself failed
    if (result.verdict == RunResult::Verdict::kFail && !options.keep_going) {
      std::cout << "replay it with: faultline replay " << result.run_dir << "\n";
      break;
    }
    if (g_interrupted.load()) break;
  }
  if (options.runs > 1) {
    std::cout << passed << " passed, " << failed << " failed of " << options.runs << " runs\n";
  }
  return exit_code;
}

int Run(const RunCommandOptions& options) {
  const auto loaded = experiments::LoadSpec(options.spec);
  for (const auto& warning : loaded.warnings) std::cerr << warning.Format() << "\n";
  if (!loaded.spec) {
    PrintErrors(loaded);
    return kExitBadInput;
  }
  // --seed, else the spec's own, else a fresh one.
  const auto seed = options.seed.empty() && loaded.spec->seed
                        ? std::optional<std::uint64_t>(*loaded.spec->seed)
                        : SeedFromOption(options.seed);
  if (!seed) {
    std::cerr << "faultline run: --seed must be a non-negative integer\n";
    return kExitBadInput;
  }
  if (options.dry_run) return PrintDryRun(*loaded.spec, *seed, options.runs_dir);
  return RunSpec(*loaded.spec, *seed, options);
}

// The spec a run ran: its original text (templates unfilled), read where the run was.
// Whether the replay decided what the original did, fault by fault.
void PrintDecisionDiff(const std::string& original_dir, const std::string& replay_dir) {
  const auto original = experiments::ReadDecisions(original_dir);
  const auto replay = experiments::ReadDecisions(replay_dir);
  if (!original || !replay) {
    std::cout << "  decisions: not compared: " << (original ? replay.message() : original.message())
              << "\n";
    return;
  }
  const std::pair<const experiments::RunDecisions*, const char*> runs[] = {{&*original, "original"},
                                                                           {&*replay, "replay"}};
  for (const auto& [run, name] : runs) {
    if (run->lost > 0) {
      std::cout << "  decisions: the " << name << " lost " << run->lost
                << " before they were logged; the comparison may differ for them\n";
    }
    if (run->unreadable_lines > 0) {
      std::cout << "  decisions: " << run->unreadable_lines << " line(s) of the " << name
                << "'s events.jsonl could not be read\n";
    }
  }
  const auto diff = experiments::CompareDecisions(*original, *replay);
  if (diff.same) {
    std::cout << "  decisions: same decisions (" << diff.decisions << " decisions of "
              << diff.faults << (diff.faults == 1 ? " fault" : " faults") << ")\n";
  } else {
    std::cout << "  decisions: first difference: " << diff.first_difference << "\n";
  }
}

int Replay(RunCommandOptions options) {
  const std::string dir = options.replay_dir;
  auto seed = experiments::ReadRunSeed(dir);
  if (!seed) {
    std::cerr << "faultline replay: " << seed.message() << "\n";
    return kExitBadInput;
  }
  std::ifstream in(dir + "/spec.source.yaml");
  std::ifstream where(dir + "/spec.dir");
  if (!in || !where) {
    std::cerr << "faultline replay: " << dir << " has no spec.source.yaml: it did not get as far "
              << "as starting its services\n";
    return kExitBadInput;
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string spec_dir;
  std::getline(where, spec_dir);
  const auto loaded = experiments::ParseSpec(text.str(), dir + "/spec.source.yaml", spec_dir);
  if (!loaded.spec) {
    PrintErrors(loaded);
    return kExitBadInput;
  }
  if (options.runs_dir == "runs") {
    // Next to the run replayed: runs/<experiment>/<run> -> runs.
    options.runs_dir = fs::path(dir).lexically_normal().parent_path().parent_path().string();
    if (options.runs_dir.empty()) options.runs_dir = ".";
  }
  options.runs = 1;
  std::string again;
  const int exit_code = RunSpec(*loaded.spec, *seed, options, &again);
  if (!again.empty()) PrintDecisionDiff(dir, again);
  return exit_code;
}

int ListPastRuns(const RunCommandOptions& options) {
  const auto runs = experiments::ListRuns(
      options.runs_dir,
      options.experiment.empty() ? std::nullopt : std::optional(options.experiment));
  if (runs.empty()) {
    std::cout << "no runs in " << options.runs_dir << "\n";
    return kExitOk;
  }
  for (const auto& run : runs) {
    std::cout << std::left << std::setw(24) << run.experiment << " " << std::setw(28) << run.id
              << " " << std::setw(10) << run.verdict << " " << std::right << std::setw(8)
              << core::FormatFixed(run.duration_seconds, 1) << " s";
    for (const auto& invariant : run.violated) std::cout << "  " << invariant;
    std::cout << "\n";
  }
  return kExitOk;
}

int Report(const RunCommandOptions& options) {
  int exit_code = kExitOk;
  for (const std::string& dir : options.report_dirs) {
    if (auto path = experiments::WriteReport(dir)) {
      std::cout << *path << "\n";
    } else {
      std::cerr << "faultline report: " << path.message() << "\n";
      exit_code = kExitBadInput;
    }
  }
  return exit_code;
}

void RunSharedOptions(CLI::App* command, RunCommandOptions& options) {
  command->add_option("--runs-dir", options.runs_dir, "Where run directories go (default: runs)");
  command->add_option("--metrics-port", options.metrics_port,
                      "Serve the run's metrics on this port during the run (0: any free port)");
  command->add_option("--metrics-bind", options.metrics_bind,
                      "Address for --metrics-port (default 127.0.0.1)");
  command->add_option("--pushgateway", options.pushgateway,
                      "Push each run's metrics to this Pushgateway (http://HOST:PORT)");
  command->add_option("--lib", options.library,
                      "libfaultline_inject.so for services with inject (default: found)");
  command->add_flag("-q,--quiet", options.quiet, "No progress line");
}

}  // namespace

void SetupRunCommands(CLI::App& app, RunCommandOptions& options, int& exit_code) {
  CLI::App* run = app.add_subcommand("run",
                                     "Run an experiment: services, workload, faults, "
                                     "invariants; a verdict and a run directory per run");
  run->add_option("spec", options.spec, "The experiment spec (YAML)")->required();
  run->add_option("--runs", options.runs, "Run it this many times (seeds derived from --seed)")
      ->check(CLI::Range(1, 1000000));
  run->add_option("--seed", options.seed, "The first run's seed (default: random, printed)");
  run->add_flag("--keep-going", options.keep_going, "Do not stop at the first violation");
  run->add_flag("--dry-run", options.dry_run,
                "Print the plan (services, proxies, the fault schedule) and run nothing");
  RunSharedOptions(run, options);
  run->footer(
      "Exit codes: 0 every run passed, 1 an invariant was violated, 2 bad input, 3 harness "
      "error.\nEach run writes runs/<experiment>/<time>-<seed>/; replay one with "
      "`faultline replay DIR`.\n");
  run->callback([&options, &exit_code] { exit_code = Run(options); });

  CLI::App* replay = app.add_subcommand(
      "replay",
      "Run a past run again: its spec, its seed, so the same fault schedule; then compare "
      "what the faults decided");
  replay->add_option("run_dir", options.replay_dir, "The run directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  RunSharedOptions(replay, options);
  replay->footer(
      "The replay's run directory is made next to the original's. Then the decisions its "
      "faults made (events.jsonl: frames dropped, calls failed, holds released...) are "
      "compared with the original's, fault by fault, ignoring times and pids; the first "
      "difference is printed, or \"same decisions\". A difference does not change the exit "
      "code: it says the run depends on more than its seed (timing, or its own randomness).\n"
      "Exit codes: as for run.\n");
  replay->callback([&options, &exit_code] { exit_code = Replay(options); });

  CLI::App* report = app.add_subcommand(
      "report", "Write a run directory's report.html again (also for a run that was killed)");
  report->add_option("run_dir", options.report_dirs, "Run directories")->required();
  report->footer(
      "Every run writes its report.html when it ends; this rebuilds it from the run's files.\n"
      "Exit codes: 0 written, 2 not a run directory.\n");
  report->callback([&options, &exit_code] { exit_code = Report(options); });

  CLI::App* runs = app.add_subcommand("runs", "List past runs with their verdicts, oldest first");
  runs->add_option("experiment", options.experiment, "Only this experiment's runs");
  runs->add_option("--runs-dir", options.runs_dir, "Where run directories are (default: runs)");
  runs->callback([&options, &exit_code] { exit_code = ListPastRuns(options); });
}

}  // namespace faultline::cli
