// The decision log: bounded per key and second, read back from events.jsonl, and two runs'
// decisions compared.

#include "faultline/experiments/decision_log.h"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <fstream>

#include "faultline/experiments/run_dir.h"
#include "support/run.h"

using faultline::experiments::CompareDecisions;
using faultline::experiments::Decision;
using faultline::experiments::DecisionLog;
using faultline::experiments::ReadDecisions;
using faultline::experiments::RunDecisions;
using faultline::testing::TempDir;
namespace bj = boost::json;

namespace {

struct Written {
  double time;
  bj::object event;
};

Decision Drop(double time, std::uint64_t frame, std::string fault = "f1") {
  Decision decision;
  decision.time = time;
  decision.fault = std::move(fault);
  decision.kind = "drop";
  decision.family = "proxy";
  decision.target = "db";
  decision.action = "drop";
  decision.where = {{"connection", 1}, {"direction", "upstream"}, {"frame", frame}};
  return decision;
}

// A run directory whose events.jsonl is what `log` wrote.
struct LoggedRun {
  TempDir dir;
  std::ofstream out{dir.path + "/events.jsonl"};
  DecisionLog log{[this](double seconds, const bj::object& event) {
    bj::object line = event;
    line["time"] = seconds;
    out << bj::serialize(line) << "\n";
    out.flush();
  }};
};

}  // namespace

TEST_CASE("a key's decisions past twenty a second are counted, and each second ends on one",
          "[experiments][decisions]") {
  std::vector<Written> written;
  DecisionLog log([&](double seconds, const bj::object& event) {
    written.push_back({seconds, event});
  });
  // 100 drops in second 0, 5 in second 1, and another fault's 3 in second 0.
  for (int i = 0; i < 100; ++i) log.Add(Drop(0.005 * i, i + 1));
  for (int i = 0; i < 3; ++i) log.Add(Drop(0.1 * i, i + 1, "f2"));
  log.Flush(0.9);  // second 0 is not over: nothing summed is written yet
  CHECK(written.size() == 20 + 3);
  for (int i = 0; i < 5; ++i) log.Add(Drop(1.1 + 0.01 * i, 101 + i));
  // Second 1 opened: second 0's summary, then its last decision in full.
  REQUIRE(written.size() == 23 + 2 + 5);
  const bj::object& summary = written[23].event;
  CHECK(summary.at("event") == "decisions_aggregated");
  CHECK(summary.at("fault") == "f1");
  CHECK(summary.at("count").to_number<int>() == 100 - 20 - 1);
  CHECK(summary.at("from").to_number<int>() == 0);
  CHECK(summary.at("to").to_number<int>() == 1);
  CHECK(written[24].event.at("event") == "decision");
  CHECK(written[24].event.at("frame").to_number<int>() == 100);
  CHECK(written[24].time == Approx(0.495));
  CHECK(log.total() == 108);
  // The full ones carry every field, the event's name first.
  const bj::object& first = written[0].event;
  CHECK(first.begin()->key() == "event");
  CHECK(first.at("family") == "proxy");
  CHECK(first.at("direction") == "upstream");
}

TEST_CASE("a decision read late joins the second being counted", "[experiments][decisions]") {
  std::vector<Written> written;
  DecisionLog log([&](double seconds, const bj::object& event) {
    written.push_back({seconds, event});
  });
  for (int i = 0; i < 25; ++i) log.Add(Drop(2.0 + 0.01 * i, i + 1));
  log.Add(Drop(1.99, 26));  // from the second before, read after
  log.FlushAll();
  std::uint64_t counted = 0;
  std::uint64_t full = 0;
  for (const Written& line : written) {
    if (line.event.at("event") == "decisions_aggregated") {
      counted += line.event.at("count").to_number<std::uint64_t>();
    } else {
      ++full;
    }
  }
  CHECK(full == 21);
  CHECK(counted == 5);
}

TEST_CASE("decisions are read back from a run directory, with what was summed and lost",
          "[experiments][decisions]") {
  LoggedRun run;
  for (int i = 0; i < 30; ++i) run.log.Add(Drop(0.01 * i, i + 1));
  run.log.Add(Drop(0.5, 1, "f2"));
  run.log.Lost(0.6, "shim", "agent", 7);
  run.log.FlushAll();
  run.out << "{\"time\":0.7,\"event\":\"fault_ended\",\"fault\":\"f1\"}\n";
  run.out << "{\"time\":0.8,\"event\":\"decis";  // cut short by a kill
  run.out.close();
  const auto read = ReadDecisions(run.dir.path);
  REQUIRE(read);
  CHECK(read->total == 31);
  CHECK(read->lost == 7);
  CHECK(read->unreadable_lines == 1);
  const RunDecisions::PerKey& f1 = read->keys.at({"f1", "db", "drop"});
  CHECK(f1.count == 30);
  CHECK(f1.summarised);
  CHECK(f1.signatures.size() == 21);
  const RunDecisions::PerKey& f2 = read->keys.at({"f2", "db", "drop"});
  CHECK_FALSE(f2.summarised);
  CHECK(f2.first_time == Approx(0.5));
  REQUIRE(f2.signatures.size() == 1);
  // Canonical: keys sorted, no time.
  CHECK(f2.signatures[0] ==
        R"({"action":"drop","connection":1,"direction":"upstream","family":"proxy",)"
        R"("fault":"f2","frame":1,"kind":"drop","target":"db"})");

  CHECK_FALSE(ReadDecisions(run.dir.path + "/nowhere"));
}

namespace {

RunDecisions Decisions(const std::vector<Decision>& decisions) {
  LoggedRun run;
  for (const Decision& decision : decisions) run.log.Add(decision);
  run.log.FlushAll();
  run.out.close();
  return *ReadDecisions(run.dir.path);
}

Decision Shim(double time, int pid, std::uint64_t hit) {
  Decision decision;
  decision.time = time;
  decision.fault = "n1.2";
  decision.kind = "rule";
  decision.family = "shim";
  decision.target = "agent";
  decision.action = "fail";
  decision.where = {{"call", "fsync"}, {"pid", pid}, {"tid", pid}, {"hit", hit}, {"value", 5}};
  return decision;
}

}  // namespace

TEST_CASE("two runs' decisions are the same when only times and pids differ",
          "[experiments][decisions]") {
  const auto original = Decisions({Drop(0.1, 1), Drop(0.2, 2), Shim(0.3, 100, 1)});
  const auto replay = Decisions({Shim(0.25, 200, 1), Drop(0.4, 2), Drop(0.5, 1)});
  const auto diff = CompareDecisions(original, replay);
  CHECK(diff.same);
  CHECK(diff.first_difference.empty());
  CHECK(diff.decisions == 3);
  CHECK(diff.faults == 2);
}

TEST_CASE("the first difference between two runs' decisions is named", "[experiments][decisions]") {
  const auto original = Decisions({Drop(0.1, 1), Drop(0.2, 2), Shim(0.3, 100, 1)});

  SECTION("a different frame") {
    const auto diff =
        CompareDecisions(original, Decisions({Drop(0.1, 1), Drop(0.2, 3), Shim(0.3, 100, 1)}));
    CHECK_FALSE(diff.same);
    CHECK(diff.first_difference ==
          "fault f1 (drop on db): the original decided "
          R"({"action":"drop","connection":1,"direction":"upstream","family":"proxy",)"
          R"("fault":"f1","frame":2,"kind":"drop","target":"db"})"
          " where the replay decided "
          R"({"action":"drop","connection":1,"direction":"upstream","family":"proxy",)"
          R"("fault":"f1","frame":3,"kind":"drop","target":"db"})");
  }
  SECTION("fewer decisions: the earliest fault that differs is the one named") {
    const auto diff = CompareDecisions(original, Decisions({Drop(0.1, 1), Drop(0.2, 2)}));
    CHECK_FALSE(diff.same);
    CHECK(diff.first_difference ==
          "fault n1.2 (fail on agent): 1 decision(s) in the original from 0.300 s, none in the "
          "replay");
    const auto counted = CompareDecisions(original, Decisions({Drop(0.1, 1), Shim(0.3, 1, 1)}));
    CHECK(counted.first_difference ==
          "fault f1 (drop on db): 2 decision(s) in the original, 1 in the replay");
  }
  SECTION("a fault that decided only in the replay") {
    auto more = Decisions({Drop(0.1, 1), Drop(0.2, 2), Shim(0.3, 100, 1), Drop(0.9, 1, "f3")});
    const auto diff = CompareDecisions(original, more);
    CHECK(diff.first_difference ==
          "fault f3 (drop on db): 1 decision(s) in the replay from 0.900 s, none in the original");
  }
  SECTION("decisions of no fault are not compared") {
    auto unreachable = Drop(0.05, 1, "");
    unreachable.action = "upstream_unreachable";
    CHECK(CompareDecisions(original,
                           Decisions({unreachable, Drop(0.1, 1), Drop(0.2, 2), Shim(0.3, 100, 1)}))
              .same);
  }
}
