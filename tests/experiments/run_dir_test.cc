// Run directories: their layout, events that survive a crash, and the list of past runs.

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "faultline/experiments/run_dir.h"
#include "support/run.h"

using namespace faultline::experiments;
using faultline::testing::TempDir;

namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// 2026-11-23 10:15:00 UTC
const auto kStart = std::chrono::system_clock::from_time_t(1795428900);

}  // namespace

TEST_CASE("a run directory is named by time and seed and holds the seed", "[experiments][rundir]") {
  TempDir root;
  auto run = RunDir::Create(root.path, "cleanup-race", 42, kStart);
  REQUIRE(run);
  CHECK(run->id() == "20261123T101500-42");
  CHECK(run->path() == root.path + "/cleanup-race/20261123T101500-42");
  CHECK(std::filesystem::is_directory(run->path() + "/logs"));
  CHECK(run->LogPath("store") == run->path() + "/logs/store.log");
  CHECK(Read(run->File("seed")) == "42\n");
  CHECK(ReadRunSeed(run->path()).value() == 42u);
  // The same second and seed again: a distinct directory.
  auto again = RunDir::Create(root.path, "cleanup-race", 42, kStart);
  REQUIRE(again);
  CHECK(again->id() == "20261123T101500-42.2");
}

TEST_CASE("events are appended one JSON line each, time first", "[experiments][rundir]") {
  TempDir root;
  auto run = RunDir::Create(root.path, "e", 1, kStart);
  REQUIRE(run);
  run->Event(0.25, {{"event", "fault_started"}, {"fault", "f1"}});
  run->Event(1.5, {{"event", "fault_ended"}, {"fault", "f1"}});
  run->Event(2, {});
  run->Event(3.0000004, {{"time", 9}, {"event", "own_time"}});  // the line's time wins
  // Flushed as written: readable before the run ends (or if it is killed).
  CHECK(Read(run->File("events.jsonl")) ==
        "{\"time\":0.250000,\"event\":\"fault_started\",\"fault\":\"f1\"}\n"
        "{\"time\":1.500000,\"event\":\"fault_ended\",\"fault\":\"f1\"}\n"
        "{\"time\":2.000000}\n"
        "{\"time\":3.000000,\"event\":\"own_time\"}\n");
  REQUIRE(run->Write("result.json", "{}"));
  CHECK(Read(run->File("result.json")) == "{}");
  CHECK(!std::filesystem::exists(run->File("result.json.tmp")));
}

TEST_CASE("past runs are listed oldest first with their verdicts", "[experiments][rundir]") {
  TempDir root;
  auto first = RunDir::Create(root.path, "a", 1, kStart);
  auto second = RunDir::Create(root.path, "a", 2, kStart + std::chrono::seconds(60));
  auto other = RunDir::Create(root.path, "b", 3, kStart + std::chrono::seconds(30));
  REQUIRE(first);
  REQUIRE(second);
  REQUIRE(other);
  REQUIRE(first->Write("result.json",
                       R"({"verdict":"fail","duration_seconds":2.5,)"
                       R"("violations":[{"invariant":"availability","summary":"x"}]})"));
  REQUIRE(other->Write("result.json", R"({"verdict":"pass","duration_seconds":1})"));
  // `second` has no result yet: it is incomplete (running, or killed).

  const auto all = ListRuns(root.path);
  REQUIRE(all.size() == 3);
  CHECK(all[0].id == "20261123T101500-1");
  CHECK(all[0].verdict == "fail");
  CHECK(all[0].duration_seconds == 2.5);
  CHECK(all[0].violated == std::vector<std::string>{"availability"});
  CHECK(all[1].experiment == "b");
  CHECK(all[1].verdict == "pass");
  CHECK(all[2].verdict == "incomplete");
  CHECK(all[2].seed == 2u);
  CHECK(ListRuns(root.path, "b").size() == 1);
  CHECK(ListRuns(root.path + "/nothing-here").empty());
}

TEST_CASE("a directory that is not a run says so", "[experiments][rundir]") {
  TempDir root;
  const auto seed = ReadRunSeed(root.path);
  REQUIRE(!seed);
  CHECK(seed.message() == root.path + " is not a run directory (it has no seed file)");
  std::ofstream(root.path + "/seed") << "forty-two\n";
  CHECK(ReadRunSeed(root.path).message() == root.path + "/seed does not hold a seed");
}
