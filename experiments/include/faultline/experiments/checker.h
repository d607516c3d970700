#pragma once
// History checkers: each reads a whole History after the run and says whether an invariant
// held, in one sentence for people and as JSON for result.json.
//
//   auto checker = MakeChecker("availability", {.min_availability = 0.99});
//   if (!checker) return checker.error();
//   CheckResult result = (*checker)->Check(history);
//
// Guarantees:
// - Check never throws and does not change the history; the checkers here run in time linear
//   in its length.
// - An invalid result names its first evidence: summary says what happened to which op
//   ("op 57 (process 2, write 3) failed: timeout") and first_bad_index points at that op.
// - A checker that had nothing to check does not pass (availability of an empty history,
//   unique-ids with no generated id).
//
// Known checkers (CheckerNames):
// - no-errors: no operation failed, and the history is well formed. Indeterminate (info) ops
//   are not errors; they are counted.
// - availability: the share of invoked operations that completed ok is at least
//   CheckerOptions::min_availability.
// - unique-ids: every ok "generate" returned a value no other ok "generate" returned (Jepsen's
//   unique-ids workload).

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "faultline/core/result.h"
#include "faultline/experiments/history.h"

namespace faultline::experiments {

struct CheckResult {
  bool valid = false;
  std::string summary;                           // one sentence, the first evidence first
  std::optional<std::uint64_t> first_bad_index;  // the op that summary names, if any
  boost::json::object evidence;                  // counts and examples, for result.json
};

class Checker {
 public:
  virtual ~Checker();
  // The name MakeChecker knows it by.
  virtual std::string_view name() const = 0;
  virtual CheckResult Check(const History& history) const = 0;
};

struct CheckerOptions {
  double min_availability = 0;  // availability: the least share of ok ops, 0..1
};

// The names MakeChecker accepts.
std::span<const std::string_view> CheckerNames();

// An unknown name, or an option out of range, is an error that says what is accepted.
core::Result<std::unique_ptr<Checker>> MakeChecker(std::string_view name,
                                                   const CheckerOptions& options);

}  // namespace faultline::experiments
