// History checkers: each one valid and invalid, with the summary and the op it points at, the
// boundaries of availability, what an empty history means, and a large history.

#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <string>
#include <utility>

#include <boost/json/parse.hpp>

#include "faultline/experiments/checker.h"

using namespace faultline::experiments;
namespace bj = boost::json;

namespace {

// Appends ops as a client would write them, one time step apart.
class Recorder {
 public:
  std::uint64_t Invoke(int process, std::string f, bj::value value = nullptr) {
    return Add(Op::Type::kInvoke, process, std::move(f), std::move(value));
  }
  std::uint64_t Ok(int process, std::string f, bj::value value = nullptr) {
    return Add(Op::Type::kOk, process, std::move(f), std::move(value));
  }
  std::uint64_t Fail(int process, std::string f, bj::value value, std::string error) {
    return Add(Op::Type::kFail, process, std::move(f), std::move(value), std::move(error));
  }
  std::uint64_t Info(int process, std::string f, bj::value value, std::string error) {
    return Add(Op::Type::kInfo, process, std::move(f), std::move(value), std::move(error));
  }

  History history;

 private:
  std::uint64_t Add(Op::Type type, int process, std::string f, bj::value value,
                    std::string error = "") {
    Op op;
    op.type = type;
    op.f = std::move(f);
    op.value = std::move(value);
    op.process = process;
    op.time_ns = time_ns_ += 1000;
    if (!error.empty()) op.extra["error"] = error;
    return history.Append(std::move(op));
  }

  std::int64_t time_ns_ = 0;
};

CheckResult Check(std::string_view name, const History& history, double min = 0) {
  auto checker = MakeChecker(name, CheckerOptions{.min_availability = min});
  REQUIRE(checker);
  CHECK((*checker)->name() == name);
  return (*checker)->Check(history);
}

// `ok` writes that succeed, then `failed` that fail with a timeout, one process each.
History Writes(int ok, int failed) {
  Recorder r;
  for (int i = 0; i < ok + failed; ++i) {
    r.Invoke(i, "write", i);
    if (i < ok) {
      r.Ok(i, "write", i);
    } else {
      r.Fail(i, "write", i, "timeout");
    }
  }
  return std::move(r.history);
}

}  // namespace

TEST_CASE("no-errors passes when nothing failed; indeterminate ops are counted, not errors",
          "[experiments][checkers]") {
  Recorder r;
  r.Invoke(0, "write", 1);
  r.Invoke(1, "read");
  r.Ok(0, "write", 1);
  r.Info(1, "read", nullptr, "timeout");
  r.Invoke(2, "write", 2);  // never completes
  const CheckResult result = Check("no-errors", r.history);
  CHECK(result.valid);
  CHECK(result.summary == "none of 3 operations failed (1 ok, 2 indeterminate)");
  CHECK(!result.first_bad_index);
  CHECK(result.evidence.at("failed") == 0);
  CHECK(result.evidence.at("indeterminate") == 2);
}

TEST_CASE("no-errors names the first failed op and its error", "[experiments][checkers]") {
  Recorder r;
  r.Invoke(0, "write", 1);
  r.Ok(0, "write", 1);
  r.Invoke(2, "write", 3);
  r.Invoke(1, "read");
  const std::uint64_t failed = r.Fail(2, "write", 3, "timeout");
  r.Fail(1, "read", nullptr, "refused");
  const CheckResult result = Check("no-errors", r.history);
  CHECK(!result.valid);
  CHECK(result.summary ==
        "op 4 (process 2, write 3) failed: timeout (2 of 3 operations failed, 0 indeterminate)");
  CHECK(result.first_bad_index == failed);
  CHECK(result.evidence.at("failed") == 2);
  REQUIRE(result.evidence.at("failures").as_array().size() == 2);
  CHECK(result.evidence.at("failures").as_array()[0].at("index") == 4);
  CHECK(result.evidence.at("history_error_count") == 0);
}

TEST_CASE("no-errors fails a malformed history and says so", "[experiments][checkers]") {
  Recorder r;
  r.Invoke(0, "write", 1);
  r.Ok(0, "write", 1);
  const std::uint64_t stray = r.Ok(3, "write", 2);
  const CheckResult result = Check("no-errors", r.history);
  CHECK(!result.valid);
  CHECK(result.summary ==
        "the history is malformed: op 2 (process 3, write 2) is an ok with no invoke before it: "
        "process 3 has no open operation (0 of 1 operation failed, 0 indeterminate, 1 history "
        "error)");
  CHECK(result.first_bad_index == stray);
  CHECK(result.evidence.at("history_error_count") == 1);
  CHECK(result.evidence.at("history_errors").as_array()[0].at("index") == 2);
}

TEST_CASE("no-errors names whichever comes first, a failure or a pairing error",
          "[experiments][checkers]") {
  Recorder r;
  r.Invoke(0, "write", 1);
  r.Fail(0, "write", 1, "timeout");
  r.Ok(5, "read");  // malformed, but after the failure
  const CheckResult result = Check("no-errors", r.history);
  CHECK(!result.valid);
  CHECK(result.first_bad_index == 1u);
  CHECK(result.summary ==
        "op 1 (process 0, write 1) failed: timeout (1 of 1 operation failed, 0 indeterminate, 1 "
        "history error)");
}

TEST_CASE("no-errors over an empty history: nothing failed", "[experiments][checkers]") {
  const CheckResult result = Check("no-errors", History{});
  CHECK(result.valid);
  CHECK(result.summary == "no operations ran, so none failed");
}

TEST_CASE("availability passes at exactly the minimum and fails one op below it",
          "[experiments][checkers]") {
  const CheckResult at_min = Check("availability", Writes(99, 1), 0.99);
  CHECK(at_min.valid);
  CHECK(at_min.summary ==
        "99% of 100 operations completed ok, at least the 99% required (99 ok, 1 failed, 0 "
        "indeterminate)");
  CHECK(!at_min.first_bad_index);
  CHECK(at_min.evidence.at("share") == 0.99);
  CHECK(at_min.evidence.at("first_not_ok").at("index") == 199);

  const CheckResult below = Check("availability", Writes(98, 2), 0.99);
  CHECK(!below.valid);
  CHECK(below.summary ==
        "98% of 100 operations completed ok, below the 99% required (98 ok, 2 failed, 0 "
        "indeterminate); the first that did not: op 197 (process 98, write 98) failed: timeout");
  CHECK(below.first_bad_index == 197u);
  CHECK(below.evidence.at("ok") == 98);
  CHECK(below.evidence.at("invoked") == 100);
}

TEST_CASE("availability's minimum may come from a percentage that does not divide evenly",
          "[experiments][checkers]") {
  const double min = 99.9 / 100;  // how a spec's "99.9%" arrives
  CHECK(Check("availability", Writes(999, 1), min).valid);
  CHECK(!Check("availability", Writes(998, 2), min).valid);
  CHECK(Check("availability", Writes(2, 1), 2.0 / 3).valid);
  CHECK(Check("availability", Writes(10, 0), 1).valid);
  CHECK(!Check("availability", Writes(9, 1), 1).valid);
  CHECK(Check("availability", Writes(0, 10), 0).valid);
}

TEST_CASE("availability shows a share below the minimum below it, never rounded up",
          "[experiments][checkers]") {
  const CheckResult result = Check("availability", Writes(98999, 1001), 0.99);
  CHECK(!result.valid);
  CHECK(result.summary.rfind("98.999% of 100000 operations completed ok, below the 99% required",
                             0) == 0);
}

TEST_CASE("availability counts ops that never completed, and names the first that did not end ok",
          "[experiments][checkers]") {
  Recorder r;
  r.Invoke(0, "write", 1);
  r.Invoke(1, "write", 2);  // never completes
  r.Ok(0, "write", 1);
  r.Invoke(0, "read");
  r.Info(0, "read", nullptr, "connection reset");
  const CheckResult result = Check("availability", r.history, 0.5);
  CHECK(!result.valid);
  CHECK(result.summary ==
        "33.333% of 3 operations completed ok, below the 50% required (1 ok, 0 failed, 2 "
        "indeterminate); the first that did not: op 1 (process 1, write 2) never completed");
  CHECK(result.first_bad_index == 1u);
}

TEST_CASE("availability names an indeterminate completion with its error",
          "[experiments][checkers]") {
  Recorder r;
  r.Invoke(0, "read");
  r.Info(0, "read", nullptr, "connection reset");
  const CheckResult result = Check("availability", r.history, 0.5);
  CHECK(!result.valid);
  CHECK(result.first_bad_index == 1u);
  CHECK(result.summary ==
        "0% of 1 operation completed ok, below the 50% required (0 ok, 0 failed, 1 "
        "indeterminate); the first that did not: op 1 (process 0, read) is indeterminate: "
        "connection reset");
}

TEST_CASE("availability of an empty history is not 100%: no operations ran",
          "[experiments][checkers]") {
  const CheckResult empty = Check("availability", History{}, 0);
  CHECK(!empty.valid);
  CHECK(empty.summary == "no operations ran");
  CHECK(!empty.first_bad_index);
  CHECK(empty.evidence.at("invoked") == 0);

  Recorder only_completions;  // completions with no invokes are not operations
  only_completions.Ok(0, "write", 1);
  CHECK(Check("availability", only_completions.history, 0).summary == "no operations ran");
}

TEST_CASE("unique-ids passes when every ok generate returned a new id", "[experiments][checkers]") {
  Recorder r;
  for (int process = 0; process < 3; ++process) {
    r.Invoke(process, "generate");
    r.Ok(process, "generate", process + 1);
  }
  r.Invoke(0, "generate");
  r.Fail(0, "generate", 1, "no quorum");  // not acknowledged: its value is no id
  r.Invoke(1, "read");
  r.Ok(1, "read", 1);  // another f
  const CheckResult result = Check("unique-ids", r.history);
  CHECK(result.valid);
  CHECK(result.summary == "all 3 generated ids were distinct");
  CHECK(!result.first_bad_index);
  CHECK(result.evidence.at("attempted") == 4);
  CHECK(result.evidence.at("acknowledged") == 3);
  CHECK(result.evidence.at("duplicated_count") == 0);
}

TEST_CASE("unique-ids names the first duplicate and the two ops that returned it",
          "[experiments][checkers]") {
  Recorder r;
  const bj::value ids[] = {"a", "b", "a", "c", "b", "a"};
  for (const bj::value& id : ids) {
    r.Invoke(4, "generate");
    r.Ok(4, "generate", id);
  }
  const CheckResult result = Check("unique-ids", r.history);
  CHECK(!result.valid);
  CHECK(result.summary ==
        "id \"a\" was generated twice, by op 1 (process 4, generate \"a\") and op 5 (process 4, "
        "generate \"a\") (6 ids generated, 2 of them more than once)");
  CHECK(result.first_bad_index == 5u);
  CHECK(result.evidence.at("duplicated_count") == 2);
  CHECK(result.evidence.at("duplicated") ==
        bj::parse(R"([{"id":"a","ops":[1,5,11],"count":3},{"id":"b","ops":[3,9],"count":2}])"));
}

TEST_CASE("unique-ids with no generated id has nothing to check and does not pass",
          "[experiments][checkers]") {
  const CheckResult empty = Check("unique-ids", History{});
  CHECK(!empty.valid);
  CHECK(empty.summary == "no generate operation completed ok, so there were no ids to compare");
  CHECK(!Check("unique-ids", Writes(5, 0)).valid);
}

TEST_CASE("checkers are made by name; a wrong name or option says what is accepted",
          "[experiments][checkers]") {
  for (std::string_view name : CheckerNames()) {
    auto checker = MakeChecker(name, CheckerOptions{.min_availability = 0.5});
    REQUIRE(checker);
    CHECK((*checker)->name() == name);
  }
  auto typo = MakeChecker("no-error", {});
  REQUIRE(!typo);
  CHECK(typo.message() ==
        "unknown checker \"no-error\" (did you mean no-errors?); known: no-errors, availability, "
        "unique-ids");
  auto unknown = MakeChecker("linearizable", {});
  REQUIRE(!unknown);
  CHECK(unknown.message() ==
        "unknown checker \"linearizable\"; known: no-errors, availability, unique-ids");
  auto above = MakeChecker("availability", CheckerOptions{.min_availability = 1.5});
  REQUIRE(!above);
  CHECK(above.message() == "checker availability needs a minimum share from 0 to 1, not 1.5");
  CHECK(!MakeChecker("availability", CheckerOptions{.min_availability = -0.1}));
  CHECK(!MakeChecker("availability", CheckerOptions{.min_availability = std::nan("")}));
}

TEST_CASE("the checkers get through a history of 200,000 ops", "[experiments][checkers]") {
  constexpr int kProcesses = 8;
  constexpr int kOps = 100'000;  // each an invoke and a completion
  Recorder r;
  for (int i = 0; i < kOps; i += kProcesses) {
    for (int p = 0; p < kProcesses; ++p) r.Invoke(p, "generate");
    for (int p = 0; p < kProcesses; ++p) r.Ok(p, "generate", i + p);
  }
  REQUIRE(r.history.size() == 2 * kOps);
  REQUIRE(r.history.errors().empty());
  for (std::string_view name : CheckerNames()) {
    const CheckResult result = Check(name, r.history, 1);
    INFO(result.summary);
    CHECK(result.valid);
  }
  CHECK(r.history.StatsByF().at("generate").ok == kOps);
}
