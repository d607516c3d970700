#pragma once
// `faultline run SPEC`: runs an experiment (N times from derived seeds), with a live progress
// line, a run directory per run and a verdict as the exit code (0 pass, 1 an invariant was
// violated, 2 bad input, 3 harness error). `faultline replay RUN_DIR` runs one again with
// its seed; `faultline runs` lists past runs; `faultline report RUN_DIR` rewrites a run's
// report.html.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace faultline::cli {

struct RunCommandOptions {
  std::string spec;
  int runs = 1;
  std::string seed;  // empty: random, printed
  bool keep_going = false;
  bool dry_run = false;
  std::string runs_dir = "runs";
  int metrics_port = -1;  // -1: no live endpoint
  std::string metrics_bind = "127.0.0.1";
  std::string pushgateway;
  std::string library;
  bool quiet = false;
  std::string replay_dir;                // replay
  std::string experiment;                // runs: only this experiment's
  std::vector<std::string> report_dirs;  // report
};

void SetupRunCommands(CLI::App& app, RunCommandOptions& options, int& exit_code);

}  // namespace faultline::cli
