#pragma once
// A run's directory, everything about one run in one place, and the list of past runs:
//
//   runs/<experiment>/<YYYYmmddTHHMMSS>-<seed>/
//     spec.yaml        the spec as run (templates filled in)
//     spec.source.yaml the spec as written, and spec.dir where it was: what replay runs
//     seed             the seed, one line: what `faultline replay` reads
//     events.jsonl     every fault applied and removed, service started, exited, ready...
//     history.jsonl    the workload's operations, merged (written before the final checks)
//     result.json      the verdict, each violated invariant with its first evidence
//     metrics.prom     the run's metrics, as scraped at the end
//     logs/<service>.log  each service's and client's output
//     logs/<client>.history  a client's stdout as it wrote it, the lines history.jsonl is
//                      made of (with `history: true`)
//     report.html      the run on one page (report.h)
//
// Two runs started in the same second with the same seed get distinct directories (a
// suffix). Event lines are appended and flushed one at a time, so a killed runner leaves a
// readable log up to its last event.

#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "faultline/core/result.h"

namespace faultline::experiments {

class RunDir {
 public:
  // Creates root/<experiment>/<time>-<seed>/ and its logs/ directory; path() is absolute.
  static core::Result<RunDir> Create(const std::string& root, const std::string& experiment,
                                     std::uint64_t seed,
                                     std::chrono::system_clock::time_point start);

  RunDir(RunDir&&) noexcept;
  RunDir& operator=(RunDir&&) noexcept;
  ~RunDir();

  const std::string& path() const { return path_; }
  const std::string& id() const { return id_; }     // "<time>-<seed>", unique per experiment
  std::string File(const std::string& name) const;  // path/name
  std::string LogPath(const std::string& service) const;

  // Writes a whole file in the directory (through a temporary and a rename).
  core::Status Write(const std::string& name, const std::string& text) const;
  // Appends one event to events.jsonl, with "time" (seconds since the run started) first.
  // Thread-safe.
  void Event(double seconds, const boost::json::object& event);

 private:
  RunDir(std::string path, std::string id);
  std::string path_;
  std::string id_;
  std::unique_ptr<std::mutex> events_mutex_;
  std::unique_ptr<std::ofstream> events_;
};

// What `faultline runs` lists: one past run, from its result.json (or its absence).
struct RunSummary {
  std::string path;
  std::string experiment;
  std::string id;
  std::uint64_t seed = 0;
  std::string verdict;  // pass, fail, error; "incomplete" when result.json is missing
  double duration_seconds = 0;
  std::vector<std::string> violated;  // invariant names
};

// Past runs under root (one experiment's, or all), oldest first.
std::vector<RunSummary> ListRuns(const std::string& root,
                                 const std::optional<std::string>& experiment = std::nullopt);

// One file of a run directory, whole; none when it cannot be read.
std::optional<std::string> ReadRunFile(const std::string& run_dir, const std::string& name);

// Replaces one file of a run directory, through a temporary and a rename, so a reader never
// sees half of it.
core::Status WriteRunFile(const std::string& run_dir, const std::string& name,
                          const std::string& text);

// A run directory's events.jsonl, oldest first. A line that is not a JSON object (a killed
// run's last line may be cut short) is counted, not fatal; no events.jsonl is an error.
struct RunEvents {
  std::vector<boost::json::object> events;
  std::size_t unreadable = 0;
};
core::Result<RunEvents> ReadRunEvents(const std::string& run_dir);

// The seed a run directory was run with (its `seed` file).
core::Result<std::uint64_t> ReadRunSeed(const std::string& run_dir);

}  // namespace faultline::experiments
