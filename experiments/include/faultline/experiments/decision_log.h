#pragma once
// The run's decision log: what each fault decided (a frame dropped, a call failed, a hold
// parked and released, a process paused...), from the proxies' event log, every injected
// service's shim table and the runner's own signals, written to events.jsonl as it happens.
// Bounded: a key (fault, target, action) has its first kFullPerSecond decisions of each second of
// the run written in full; the rest of that second are counted in one "decisions_aggregated" event,
// followed by the second's last decision in full. At most kFullPerSecond + 2 lines per key and
// second, however busy.
//
//   {"time":2.010000,"event":"decision","fault":"f1","kind":"drop","family":"proxy",
//    "target":"db","action":"drop","connection":3,"direction":"upstream","frame":12,...}
//   {"time":2.998000,"event":"decisions_aggregated","fault":"f1",...,"count":4180,
//    "from":2,"to":3}
//   {"time":2.998000,"event":"decision","fault":"f1",...}
//
// `faultline replay` reads the decisions of a run and of its replay back (ReadDecisions) and
// says where they first differ (CompareDecisions).

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <boost/json/object.hpp>

#include "faultline/core/result.h"

namespace faultline::experiments {

struct Decision {
  double time = 0;     // seconds since the run started
  std::string fault;   // the fault's id ("f1", "n1.3"), or a spec's own toxic or rule's name
  std::string kind;    // the fault's kind: the toxic type, rule, skew
  std::string family;  // "proxy", "shim" or "process"
  std::string target;  // the proxy, or the service
  std::string action;  // "drop", "delay", "fail", "hold", "release", "skew"...
  // What it was decided on. proxy: connection, direction, frame, detail. shim: call, pid,
  // tid, hit, value, hold. process: the service or client signalled.
  boost::json::object where;
};

// The decision as its event line's fields (without "time").
boost::json::object ToJson(const Decision& decision);

class DecisionLog {
 public:
  static constexpr std::uint64_t kFullPerSecond = 20;
  // Where the events go: RunDir::Event in a run.
  using Sink = std::function<void(double seconds, const boost::json::object& event)>;

  explicit DecisionLog(Sink sink);

  // Decisions arrive in time order per family; a late one joins its own second.
  void Add(Decision decision);
  // Writes the summaries of every second that ended before `now` (run seconds).
  void Flush(double now);
  // Writes every summary still open: at the end of the run.
  void FlushAll();
  // Decisions that were gone before they were read (a shim ring that wrapped): one event.
  void Lost(double now, const std::string& family, const std::string& target, std::uint64_t count);

  std::uint64_t total() const { return total_; }

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // fault, target, action
  struct Second {
    std::int64_t index = -1;       // floor(time)
    std::uint64_t full = 0;        // written in full in this second
    std::uint64_t summed = 0;      // past kFullPerSecond, before `last`
    std::optional<Decision> last;  // the latest past kFullPerSecond
  };
  void Write(const Decision& decision);
  void WriteSummary(Second& second);

  Sink sink_;
  std::map<Key, Second> seconds_;
  std::uint64_t total_ = 0;
};

// The decisions of one run, as read back from its events.jsonl.
struct RunDecisions {
  struct Key {
    std::string fault;
    std::string target;
    std::string action;
    auto operator<=>(const Key&) const = default;
  };
  struct PerKey {
    double first_time = 0;
    std::uint64_t count = 0;
    bool summarised = false;  // some were aggregated: only the count can be compared
    // Each decision written in full as canonical JSON, without the fields that differ
    // between two runs of one schedule (time, pid, tid); sorted.
    std::vector<std::string> signatures;
  };
  std::map<Key, PerKey> keys;
  std::uint64_t total = 0;
  std::uint64_t lost = 0;
  std::uint64_t unreadable_lines = 0;  // a killed run's last line may be cut short
};

// Reads the "decision" and "decisions_aggregated" events of a run directory's events.jsonl.
// A line that is not JSON is counted, not fatal: a killed run's last line may be cut short.
core::Result<RunDecisions> ReadDecisions(const std::string& run_dir);

struct DecisionDiff {
  bool same = true;
  std::string first_difference;  // empty when same
  std::uint64_t decisions = 0;   // the original's
  std::size_t faults = 0;        // distinct faults that decided anything in the original
};

// Compares key by key, in the order the original's keys first decided: their counts, and
// (when neither side aggregated) their decisions. Decisions of no fault (the proxy's own
// upstream errors) are not compared.
DecisionDiff CompareDecisions(const RunDecisions& original, const RunDecisions& replay);

}  // namespace faultline::experiments
