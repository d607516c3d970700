#include "faultline/experiments/checker.h"

#include <array>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "faultline/core/suggest.h"

namespace faultline::experiments {
namespace {

namespace bj = boost::json;

constexpr std::array<std::string_view, 3> kCheckerNames = {"no-errors", "availability",
                                                           "unique-ids"};

// Evidence lists stop here: result.json must stay readable when every op went wrong.
constexpr std::size_t kMaxExamples = 10;

std::string Count(std::uint64_t n, std::string_view noun) {
  return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

// ": timeout" from the op's own "error" field, when the client gave one.
std::string ErrorSuffix(const Op& op) {
  const bj::value* error = op.extra.if_contains("error");
  if (error == nullptr) return "";
  if (error->is_string()) return ": " + std::string(error->as_string());
  return ": " + bj::serialize(*error);
}

// What became of an invoke that did not end ok, named by the op that shows it: its failed or
// indeterminate completion, or the invoke itself when nothing completed it.
std::string NotOk(const Op& op) {
  switch (op.type) {
    case Op::Type::kFail:
      return DescribeOp(op) + " failed" + ErrorSuffix(op);
    case Op::Type::kInfo:
      return DescribeOp(op) + " is indeterminate" + ErrorSuffix(op);
    default:
      return DescribeOp(op) + " never completed";
  }
}

// "98.5%": truncated, never rounded, so a share below a minimum never prints as reaching it.
std::string Percent(std::uint64_t part, std::uint64_t whole) {
  const std::uint64_t thousandths = part * 100'000 / whole;
  std::string text = std::to_string(thousandths / 1000);
  if (std::uint64_t fraction = thousandths % 1000; fraction != 0) {
    std::string digits = std::to_string(1000 + fraction).substr(1);
    while (digits.back() == '0') digits.pop_back();
    text += "." + digits;
  }
  return text + "%";
}

std::string Number(double number) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", number);
  return text;
}

std::string SharePercent(double share) { return Number(share * 100) + "%"; }

// How the invokes of a history ended. A completion with no invoke is not counted: it is not
// an operation but a malformed history.
struct Outcomes {
  std::uint64_t invoked = 0;
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  std::uint64_t indeterminate() const { return invoked - ok - failed; }

  void Add(const History& history, const Op& op) {
    if (op.type == Op::Type::kInvoke) {
      ++invoked;
    } else if (history.PairOf(op.index)) {
      ok += op.type == Op::Type::kOk;
      failed += op.type == Op::Type::kFail;
    }
  }

  std::string Text() const {
    return std::to_string(ok) + " ok, " + std::to_string(failed) + " failed, " +
           std::to_string(indeterminate()) + " indeterminate";
  }

  void AddTo(bj::object& evidence) const {
    evidence["invoked"] = invoked;
    evidence["ok"] = ok;
    evidence["failed"] = failed;
    evidence["indeterminate"] = indeterminate();
  }
};

class NoErrorsChecker final : public Checker {
 public:
  std::string_view name() const override { return "no-errors"; }

  CheckResult Check(const History& history) const override {
    Outcomes outcomes;
    std::optional<std::uint64_t> first_failure;
    bj::array failures;
    for (const Op& op : history.ops()) {
      outcomes.Add(history, op);
      if (op.type != Op::Type::kFail || !history.PairOf(op.index)) continue;
      if (!first_failure) first_failure = op.index;
      if (failures.size() < kMaxExamples) failures.push_back(ToJson(op));
    }
    const std::vector<HistoryError>& errors = history.errors();

    CheckResult result;
    outcomes.AddTo(result.evidence);
    result.evidence["failures"] = std::move(failures);
    result.evidence["history_error_count"] = errors.size();
    bj::array examples;
    for (std::size_t i = 0; i < errors.size() && i < kMaxExamples; ++i) {
      examples.push_back(bj::object{{"index", errors[i].index}, {"message", errors[i].message}});
    }
    result.evidence["history_errors"] = std::move(examples);

    result.valid = !first_failure && errors.empty();
    if (result.valid) {
      result.summary = outcomes.invoked == 0
                           ? "no operations ran, so none failed"
                           : "none of " + Count(outcomes.invoked, "operation") + " failed (" +
                                 std::to_string(outcomes.ok) + " ok, " +
                                 std::to_string(outcomes.indeterminate()) + " indeterminate)";
      return result;
    }
    std::string counts = std::to_string(outcomes.failed) + " of " +
                         Count(outcomes.invoked, "operation") + " failed, " +
                         std::to_string(outcomes.indeterminate()) + " indeterminate";
    if (!errors.empty()) counts += ", " + Count(errors.size(), "history error");
    if (first_failure && (errors.empty() || *first_failure < errors.front().index)) {
      result.first_bad_index = first_failure;
      result.summary = NotOk(history[*first_failure]) + " (" + counts + ")";
    } else {
      result.first_bad_index = errors.front().index;
      result.summary = "the history is malformed: " + errors.front().message + " (" + counts + ")";
    }
    return result;
  }
};

class AvailabilityChecker final : public Checker {
 public:
  explicit AvailabilityChecker(double min) : min_(min) {}

  std::string_view name() const override { return "availability"; }

  CheckResult Check(const History& history) const override {
    Outcomes outcomes;
    std::optional<std::uint64_t> first_not_ok;
    for (const Op& op : history.ops()) {
      outcomes.Add(history, op);
      if (first_not_ok) continue;
      const bool never_completed = op.type == Op::Type::kInvoke && !history.PairOf(op.index);
      const bool completed_not_ok =
          op.type != Op::Type::kInvoke && op.type != Op::Type::kOk && history.PairOf(op.index);
      if (never_completed || completed_not_ok) first_not_ok = op.index;
    }

    CheckResult result;
    outcomes.AddTo(result.evidence);
    result.evidence["min"] = min_;
    if (outcomes.invoked == 0) {
      result.summary = "no operations ran";
      return result;
    }
    const double share = static_cast<double>(outcomes.ok) / static_cast<double>(outcomes.invoked);
    result.evidence["share"] = share;
    if (first_not_ok) result.evidence["first_not_ok"] = ToJson(history[*first_not_ok]);

    // The minimum usually comes from a percentage ("99.9%" / 100), which need not round to
    // the same double as ok / invoked; a share exactly at the minimum must pass.
    constexpr double kTolerance = 1e-9;
    result.valid = share >= min_ - kTolerance;
    const std::string measured = Percent(outcomes.ok, outcomes.invoked) + " of " +
                                 Count(outcomes.invoked, "operation") + " completed ok";
    if (result.valid) {
      result.summary =
          measured + ", at least the " + SharePercent(min_) + " required (" + outcomes.Text() + ")";
    } else {
      result.first_bad_index = first_not_ok;
      result.summary = measured + ", below the " + SharePercent(min_) + " required (" +
                       outcomes.Text() +
                       "); the first that did not: " + NotOk(history[*first_not_ok]);
    }
    return result;
  }

 private:
  double min_;
};

class UniqueIdsChecker final : public Checker {
 public:
  std::string_view name() const override { return "unique-ids"; }

  CheckResult Check(const History& history) const override {
    struct Seen {
      std::uint64_t first_index = 0;
      std::uint64_t count = 0;
      std::optional<std::size_t> example;  // its place in `duplicated`, when listed
    };
    std::unordered_map<bj::value, Seen> seen;
    seen.reserve(history.size() / 2);
    std::uint64_t attempted = 0;
    std::uint64_t acknowledged = 0;
    std::uint64_t duplicated_ids = 0;
    std::optional<std::uint64_t> first_duplicate;
    bj::array duplicated;
    std::vector<const Seen*> listed;  // parallel to `duplicated`; map nodes do not move

    for (const Op& op : history.ops()) {
      if (op.f != kGenerate) continue;
      if (op.type == Op::Type::kInvoke) ++attempted;
      if (op.type != Op::Type::kOk) continue;
      ++acknowledged;
      auto [it, inserted] = seen.try_emplace(op.value, Seen{op.index, 0, std::nullopt});
      Seen& id = it->second;
      ++id.count;
      if (inserted) continue;
      if (!first_duplicate) first_duplicate = op.index;
      if (id.count == 2) {
        ++duplicated_ids;
        if (duplicated.size() < kMaxExamples) {
          id.example = duplicated.size();
          duplicated.push_back(bj::object{{"id", op.value}, {"ops", bj::array{id.first_index}}});
          listed.push_back(&id);
        }
      }
      if (id.example) {
        bj::array& ops = duplicated[*id.example].as_object()["ops"].as_array();
        if (ops.size() < kMaxExamples) ops.push_back(op.index);
      }
    }
    for (std::size_t i = 0; i < listed.size(); ++i) {
      duplicated[i].as_object()["count"] = listed[i]->count;
    }

    CheckResult result;
    result.evidence["attempted"] = attempted;
    result.evidence["acknowledged"] = acknowledged;
    result.evidence["duplicated_count"] = duplicated_ids;
    result.evidence["duplicated"] = std::move(duplicated);
    if (acknowledged == 0) {
      result.summary = "no generate operation completed ok, so there were no ids to compare";
      return result;
    }
    result.valid = !first_duplicate;
    if (result.valid) {
      result.summary = "all " + std::to_string(acknowledged) + " generated ids were distinct";
      return result;
    }
    const Op& second = history[*first_duplicate];
    const Op& first = history[seen.at(second.value).first_index];
    result.first_bad_index = first_duplicate;
    result.summary = "id " + bj::serialize(second.value) + " was generated twice, by " +
                     DescribeOp(first) + " and " + DescribeOp(second) + " (" +
                     Count(acknowledged, "id") + " generated, " + std::to_string(duplicated_ids) +
                     " of them more than once)";
    return result;
  }

 private:
  static constexpr std::string_view kGenerate = "generate";
};

}  // namespace

Checker::~Checker() = default;

std::span<const std::string_view> CheckerNames() { return kCheckerNames; }

core::Result<std::unique_ptr<Checker>> MakeChecker(std::string_view name,
                                                   const CheckerOptions& options) {
  if (name == "no-errors") return std::unique_ptr<Checker>(std::make_unique<NoErrorsChecker>());
  if (name == "availability") {
    if (!(options.min_availability >= 0 && options.min_availability <= 1)) {
      return core::MakeError("checker availability needs a minimum share from 0 to 1, not " +
                             Number(options.min_availability));
    }
    return std::unique_ptr<Checker>(
        std::make_unique<AvailabilityChecker>(options.min_availability));
  }
  if (name == "unique-ids") return std::unique_ptr<Checker>(std::make_unique<UniqueIdsChecker>());
  return core::MakeError("unknown checker \"" + std::string(name) + "\"" +
                         core::Suggest(name, kCheckerNames) +
                         "; known: no-errors, availability, unique-ids");
}

}  // namespace faultline::experiments
