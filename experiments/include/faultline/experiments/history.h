#pragma once
// The operation history of a run, in Jepsen's shape: workload clients write one JSON object per
// line, an invoke when an operation starts and an ok, fail or info when it ends, and the runner
// merges every client's lines into one History in the order it read them.
//
//   {"type":"invoke","f":"write","value":3,"process":2,"time":5012000}
//   {"type":"ok","f":"write","value":3,"process":2,"time":5391000}
//
// Guarantees:
// - ParseOpLine never throws; a bad line is an error that names the field and the problem.
//   Fields a client adds of its own (such as "error") are kept in Op::extra, never dropped.
// - History::Append accepts anything, in any order: a completion with no open invoke, or a
//   second invoke while one is open, is recorded in errors() for the checkers to report,
//   never thrown. Indexes are dense, 0-based, in arrival order.
// - An invoke that never completes is indeterminate, as a Jepsen :info (OutcomeOf, StatsByF).
// - WriteHistory then ReadHistory gives back an equal History (history.jsonl, one op a line).
// - Nothing here is thread-safe: one thread (the runner's reader) appends.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "faultline/core/result.h"

namespace faultline::experiments {

struct Op {
  // ok: took effect. fail: certainly did not. info: unknown (it may have).
  enum class Type { kInvoke, kOk, kFail, kInfo };

  Type type = Type::kInvoke;
  std::string f;              // the operation's name, opaque to the history ("write", "read")
  boost::json::value value;   // its argument or result, any JSON (null when not given)
  std::int64_t process = 0;   // the client's logical process id: any 64-bit integer
  std::int64_t time_ns = 0;   // since the run started
  std::uint64_t index = 0;    // position in the merged history, set by History::Append
  boost::json::object extra;  // the client's own fields, written back unchanged

  friend bool operator==(const Op&, const Op&) = default;
};

// "invoke", "ok", "fail", "info".
std::string_view TypeName(Op::Type type);

// "op 57 (process 2, write 3)": how checkers name an op in their summaries. Long values are
// shortened.
std::string DescribeOp(const Op& op);

// One line of a client's output. "type" and "f" are required; "value" is any JSON; "process"
// (any JSON integer that fits in 64 bits) defaults to `default_process` (the client's number)
// and "time" (whole nanoseconds since the run started) to `read_time_ns` (when the runner read
// the line). "index" is the history's to assign and is refused. Any other field goes to
// Op::extra.
core::Result<Op> ParseOpLine(std::string_view line, std::int64_t default_process,
                             std::int64_t read_time_ns);

// The history.jsonl form of an op: {"type","f","value","process","time","index"} and the
// extra fields after them; FormatOpLine is its text, without a newline.
boost::json::object ToJson(const Op& op);
std::string FormatOpLine(const Op& op);

// Something in the history that cannot be, found when the op at `index` was appended.
struct HistoryError {
  std::uint64_t index = 0;
  std::string message;  // a sentence naming the ops involved
};

// What the operations of one f came to.
struct FStats {
  std::uint64_t ok = 0;
  std::uint64_t fail = 0;
  std::uint64_t info = 0;                  // completed as info, or never completed
  std::vector<std::int64_t> latencies_ns;  // completion time − invoke time, completed ops only
};

class History {
 public:
  // Sets op.index to the next position and pairs completions with their invokes: an ok, fail
  // or info completes the open invoke of the same process and f. Returns the index.
  std::uint64_t Append(Op op);

  const std::vector<Op>& ops() const { return ops_; }
  std::size_t size() const { return ops_.size(); }
  bool empty() const { return ops_.empty(); }
  const Op& operator[](std::uint64_t index) const { return ops_[index]; }

  // For an invoke, its completion; for a completion, its invoke. None when unpaired.
  std::optional<std::uint64_t> PairOf(std::uint64_t index) const;
  // How the invoke at `invoke_index` ended: its completion's type, or kInfo if it has none.
  Op::Type OutcomeOf(std::uint64_t invoke_index) const;

  // Pairing problems, in the order they were found.
  const std::vector<HistoryError>& errors() const { return errors_; }

  // Per f, over invokes (a completion with no invoke is not an operation, only an error).
  std::map<std::string, FStats, std::less<>> StatsByF() const;

  friend bool operator==(const History& a, const History& b) { return a.ops_ == b.ops_; }

 private:
  static constexpr std::uint64_t kUnpaired = ~std::uint64_t{0};

  std::vector<Op> ops_;
  std::vector<std::uint64_t> pair_;                              // parallel to ops_
  std::unordered_map<std::int64_t, std::uint64_t> open_invoke_;  // process -> its open invoke
  std::vector<HistoryError> errors_;
};

// Writes every op, one FormatOpLine a line, replacing `path`.
core::Status WriteHistory(const History& history, const std::string& path);

// Reads a history.jsonl back. Every field is required and "index" must be the line's position;
// an error gives path:line and the problem.
core::Result<History> ReadHistory(const std::string& path);

}  // namespace faultline::experiments
