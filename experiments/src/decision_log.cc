#include "faultline/experiments/decision_log.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <boost/json.hpp>

#include "faultline/core/text.h"
#include "faultline/experiments/run_dir.h"
#include "json_fields.h"

namespace faultline::experiments {
namespace {

namespace bj = boost::json;

// The fields that two runs of one schedule need not share.
bool VariesBetweenRuns(std::string_view key) {
  return key == "time" || key == "event" || key == "pid" || key == "tid";
}

// Canonical: keys sorted, so two writers' field orders do not matter.
std::string Signature(const bj::object& decision) {
  std::vector<std::pair<std::string_view, const bj::value*>> fields;
  for (const auto& [key, value] : decision) {
    if (!VariesBetweenRuns(key)) fields.emplace_back(key, &value);
  }
  std::sort(fields.begin(), fields.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out = "{";
  for (const auto& [key, value] : fields) {
    if (out.size() > 1) out += ',';
    out += bj::serialize(bj::string_view(key.data(), key.size())) + ":" + bj::serialize(*value);
  }
  return out + "}";
}

using json_fields::Number;
using json_fields::Text;

std::string Describe(const RunDecisions::Key& key) {
  return "fault " + key.fault + " (" + key.action + " on " + key.target + ")";
}

}  // namespace

bj::object ToJson(const Decision& decision) {
  bj::object out;
  out["fault"] = decision.fault;
  out["kind"] = decision.kind;
  out["family"] = decision.family;
  out["target"] = decision.target;
  out["action"] = decision.action;
  for (const auto& [key, value] : decision.where) out[key] = value;
  return out;
}

DecisionLog::DecisionLog(Sink sink) : sink_(std::move(sink)) {}

void DecisionLog::Add(Decision decision) {
  ++total_;
  Second& second = seconds_[{decision.fault, decision.target, decision.action}];
  // A decision read late joins the second being counted rather than reopening its own.
  const auto index = std::max(static_cast<std::int64_t>(std::floor(decision.time)), second.index);
  if (index != second.index) {
    WriteSummary(second);
    second = Second{};
    second.index = index;
  }
  if (second.full < kFullPerSecond) {
    ++second.full;
    Write(decision);
    return;
  }
  if (second.last) ++second.summed;
  second.last = std::move(decision);
}

void DecisionLog::Write(const Decision& decision) {
  bj::object event;
  event["event"] = "decision";
  for (auto& [key, value] : ToJson(decision)) event[key] = value;
  sink_(decision.time, event);
}

void DecisionLog::WriteSummary(Second& second) {
  if (!second.last) return;
  // The ones before the last, counted; the last in full, so each second ends on one.
  if (second.summed > 0) {
    const Decision& last = *second.last;
    sink_(last.time, bj::object{{"event", "decisions_aggregated"},
                                {"fault", last.fault},
                                {"kind", last.kind},
                                {"family", last.family},
                                {"target", last.target},
                                {"action", last.action},
                                {"count", second.summed},
                                {"from", second.index},
                                {"to", second.index + 1}});
  }
  Write(*second.last);
  second.summed = 0;
  second.last.reset();
}

void DecisionLog::Flush(double now) {
  for (auto& [key, second] : seconds_) {
    if (static_cast<double>(second.index + 1) <= now) WriteSummary(second);
  }
}

void DecisionLog::FlushAll() {
  for (auto& [key, second] : seconds_) WriteSummary(second);
}

void DecisionLog::Lost(double now, const std::string& family, const std::string& target,
                       std::uint64_t count) {
  if (count == 0) return;
  sink_(now,
        bj::object{
            {"event", "decisions_lost"}, {"family", family}, {"target", target}, {"count", count}});
}

core::Result<RunDecisions> ReadDecisions(const std::string& run_dir) {
  auto events = ReadRunEvents(run_dir);
  if (!events) return events.error();
  RunDecisions out;
  out.unreadable_lines = events->unreadable;
  for (const bj::object& event : events->events) {
    const std::string name = Text(event, "event");
    if (name == "decisions_lost") {
      out.lost += static_cast<std::uint64_t>(Number(event, "count"));
      continue;
    }
    const bool aggregated = name == "decisions_aggregated";
    if (name != "decision" && !aggregated) continue;
    const RunDecisions::Key key{Text(event, "fault"), Text(event, "target"), Text(event, "action")};
    auto [it, fresh] = out.keys.try_emplace(key);
    RunDecisions::PerKey& per_key = it->second;
    const double time = Number(event, "time");
    if (fresh || time < per_key.first_time) per_key.first_time = time;
    const auto count = aggregated ? static_cast<std::uint64_t>(Number(event, "count")) : 1;
    per_key.count += count;
    out.total += count;
    if (aggregated) {
      per_key.summarised = true;
    } else {
      per_key.signatures.push_back(Signature(event));
    }
  }
  for (auto& [key, per_key] : out.keys) {
    std::sort(per_key.signatures.begin(), per_key.signatures.end());
  }
  return out;
}

DecisionDiff CompareDecisions(const RunDecisions& original, const RunDecisions& replay) {
  DecisionDiff diff;
  diff.decisions = original.total;
  std::set<std::string> faults;
  std::vector<std::pair<double, const RunDecisions::Key*>> order;
  for (const auto& [key, per_key] : original.keys) {
    if (key.fault.empty()) continue;
    faults.insert(key.fault);
    order.emplace_back(per_key.first_time, &key);
  }
  diff.faults = faults.size();
  std::sort(order.begin(), order.end());
  const auto differ = [&diff](std::string text) {
    diff.same = false;
    diff.first_difference = std::move(text);
    return diff;
  };
  for (const auto& [time, key] : order) {
    const RunDecisions::PerKey& mine = original.keys.at(*key);
    const auto theirs = replay.keys.find(*key);
    if (theirs == replay.keys.end()) {
      return differ(Describe(*key) + ": " + std::to_string(mine.count) +
                    " decision(s) in the original from " + core::FormatFixed(time, 3) +
                    " s, none in the replay");
    }
    if (mine.count != theirs->second.count) {
      return differ(Describe(*key) + ": " + std::to_string(mine.count) +
                    " decision(s) in the original, " + std::to_string(theirs->second.count) +
                    " in the replay");
    }
    if (mine.summarised || theirs->second.summarised) continue;
    const auto& a = mine.signatures;
    const auto& b = theirs->second.signatures;
    std::vector<std::string> only_original;
    std::vector<std::string> only_replay;
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(only_original));
    std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(only_replay));
    if (!only_original.empty()) {
      return differ(
          Describe(*key) + ": the original decided " + only_original.front() +
          (only_replay.empty() ? "" : " where the replay decided " + only_replay.front()));
    }
  }
  std::vector<std::pair<double, const RunDecisions::Key*>> extra;
  for (const auto& [key, per_key] : replay.keys) {
    if (!key.fault.empty() && original.keys.count(key) == 0) {
      extra.emplace_back(per_key.first_time, &key);
    }
  }
  if (!extra.empty()) {
    std::sort(extra.begin(), extra.end());
    const auto& [time, key] = extra.front();
    return differ(Describe(*key) + ": " + std::to_string(replay.keys.at(*key).count) +
                  " decision(s) in the replay from " + core::FormatFixed(time, 3) +
                  " s, none in the original");
  }
  return diff;
}

}  // namespace faultline::experiments
