#pragma once
// report.html: one run on one page, for people. A self-contained file (no script, no
// network, no other file needed) that opens in any browser from the run directory:
//
// - the verdict, seed, duration, operation counts and the command that replays the run;
// - each violated invariant with its first evidence, in red;
// - a timeline: fault windows (one row each, with their descriptions), services (started,
//   ready, exited), completed operations over time, and each client process's operations
//   (invoke to completion, coloured by outcome) when there are few enough to draw; fault
//   windows shade the operations they overlap, a violation is a red line at its time, and
//   the operation a checker named as its evidence is outlined in red;
// - every event, and links to the run's other files.
//
// The page is built from the run directory's files alone, so it can be written again for a
// run that was killed (no result.json or history.jsonl: the verdict shows as incomplete) and
// for runs of older versions. Lines of events.jsonl that cannot be read (a write cut off by a
// kill) are skipped and counted on the page. Everything from the run is HTML-escaped.
//
// Cost: linear in the history and the events; drawing is bounded (at most kMaxDrawnOps
// operations drawn one by one, otherwise only the per-interval counts).
//
//   if (auto path = WriteReport(run_dir)) std::cout << "report: " << *path << "\n";

#include <cstddef>
#include <string>

#include "faultline/core/result.h"
#include "faultline/experiments/history.h"

namespace faultline::experiments {

// Past this many operations the timeline shows counts per interval, not each operation.
inline constexpr std::size_t kMaxDrawnOps = 4000;

// Writes <run_dir>/report.html and returns its path. Fails only when run_dir is not a run
// directory (it has no events.jsonl) or the page cannot be written.
core::Result<std::string> WriteReport(const std::string& run_dir);

// The same, with the run's history already in memory (the runner's), instead of reading
// history.jsonl again.
core::Result<std::string> WriteReport(const std::string& run_dir, const History& history);

}  // namespace faultline::experiments
