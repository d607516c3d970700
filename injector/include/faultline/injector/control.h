#pragma once
// Controlling libfaultline_inject.so from outside the process: the rule table a launched
// program (and every process it forks or execs) reads, changed while it runs.
//
//   auto table = ControlTable::Create(ControlTable::DefaultPath(), seed);   // before launch
//   table->Set(rules);                  // takes effect on the target's next matching call
//   table->Release("h1", false);        // wakes the oldest thread parked at hold(h1)
//   Status s = table->Read();           // rules with hit counts, parked threads, counters
//
// A running program's table is found from its pid (ControlTable::ForProcess): the shim maps
// the table file, so /proc/PID/maps names it.
//
// The ControlTable that created a table owns it: it holds a lock on the file (an open file
// description lock, apart from the flock(2) that serialises writers) from before the file
// has its size until it is destroyed, however its process ends. A table file nobody holds
// that lock on is stale. Create first removes the stale tables of its directory
// (RemoveStale), so tables of killed owners do not pile up.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "faultline/core/fault.h"
#include "faultline/core/result.h"

namespace faultline::inject {

struct Table;

struct RuleStatus {
  std::string id;
  std::string text;         // canonical rule line
  std::uint64_t hits = 0;   // calls that matched
  std::uint64_t fires = 0;  // calls it acted on
  bool expired = false;     // its lease ran out
};

struct HeldThread {
  std::string hold;
  std::string rule;
  int pid = 0;
  int tid = 0;
  std::uint64_t order = 0;  // arrival order; releases go oldest first
  double held_seconds = 0;  // how long it has waited
};

struct CallCount {
  std::string call;    // "fsync", "point", ...
  std::string action;  // "delay", "fail", "short", "hold", "skew", "error"
  std::uint64_t count = 0;
};

struct Status {
  std::uint64_t seed = 0;
  std::vector<RuleStatus> rules;
  std::vector<HeldThread> held;
  std::vector<CallCount> calls;  // non-zero counts only
  std::uint64_t errors = 0;      // calls passed through because of an internal failure
};

// One decision a rule made, from the table's ring.
struct ShimDecision {
  std::uint64_t seq = 0;     // 0, 1, 2... across the table, in the order they were made
  std::int64_t mono_ns = 0;  // CLOCK_MONOTONIC
  int pid = 0;
  int tid = 0;
  std::string call;        // "fsync", "point", ...
  std::string action;      // "delay", "fail", "short", "hold", "skew", "release", "timeout"
  std::string rule;        // the rule's id
  std::string hold;        // hold, release, timeout: the hold's name
  std::uint64_t hit = 0;   // the rule's match count at this call (0 for a release)
  std::int64_t value = 0;  // delay: ns; fail: errno; short: bytes; skew: offset ns;
                           // hold, release, timeout: the hold's ticket
};

struct DecisionBatch {
  std::vector<ShimDecision> decisions;
  std::uint64_t next = 0;  // pass as `since` next time
  std::uint64_t lost = 0;  // overwritten before they were read (the ring holds 4096)
};

class ControlTable {
 public:
  // A fresh, unique file for a new table: $XDG_RUNTIME_DIR or /dev/shm (/tmp when neither is
  // writable), named faultline-inject.<pid>.<16 hex digits>.
  static std::string DefaultPath();
  // Removes the stale tables of the directory (see RemoveStale), then creates the file (it
  // must not exist) with an empty table, owned by the ControlTable returned.
  static core::Result<ControlTable> Create(const std::string& path, std::uint64_t seed);
  // Removes the files named like DefaultPath's in `dir` whose owner has gone: nobody holds
  // the owner's lock, and the file is a whole table or its creator (the pid in the name) has
  // ended. A live owner's table is never removed, whatever became of the pid in its name.
  // Returns how many were removed.
  static std::size_t RemoveStale(const std::string& dir);
  static core::Result<ControlTable> Open(const std::string& path);
  // The table a running process under the shim uses, by its pid.
  static core::Result<ControlTable> ForProcess(int pid);

  ControlTable(ControlTable&& other) noexcept;
  ControlTable& operator=(ControlTable&& other) noexcept;
  ~ControlTable();

  // Adds rules, or replaces those with the same id (their counters restart). Rules without
  // an id are named r1, r2, ... (the first free). All or nothing.
  core::Status Set(std::span<const core::Fault> rules);
  // Removes the rules with these ids, or every rule; threads parked by a removed hold go on.
  // Fails naming an id that is not there, removing nothing.
  core::Result<std::size_t> Clear(std::span<const std::string> ids);
  // Wakes the oldest thread parked at `hold` (all of them with `all`); returns how many.
  std::size_t Release(const std::string& hold, bool all);
  Status Read() const;
  // The decisions from `since` on, oldest first. One still being written stops the batch,
  // unless `settled` (no process writes any more): then it counts as lost.
  DecisionBatch Decisions(std::uint64_t since, bool settled = false) const;

  const std::string& path() const { return path_; }
  std::uint64_t seed() const;
  // Deletes the file; the mapping stays usable until destruction.
  void Unlink();

 private:
  ControlTable(std::string path, int fd, Table* table)
      : path_(std::move(path)), fd_(fd), table_(table) {}
  core::Status Locked(const std::function<core::Status()>& change);

  std::string path_;
  int fd_ = -1;
  Table* table_ = nullptr;
};

// The counters as Prometheus text exposition: faultline_inject_calls_total{call,action}.
std::string PrometheusText(const Status& status);

}  // namespace faultline::inject
