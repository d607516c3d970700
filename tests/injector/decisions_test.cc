// The shim's decision ring: what a rule did to a call, in a real process under the shim, read
// back through ControlTable::Decisions; and the ring's own bounds, on a mapped table.

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "faultline/core/fault.h"
#include "faultline/injector/control.h"
#include "support/run.h"
#include "table.h"

using faultline::inject::ControlTable;
using faultline::inject::ShimDecision;
using faultline::testing::Background;
using faultline::testing::RunProgram;
using faultline::testing::TempDir;
using namespace std::chrono_literals;

namespace {

const std::string kPreload = std::string("LD_PRELOAD=") + FAULTLINE_INJECT_LIB;

std::vector<faultline::core::Fault> Rules(const std::string& text) {
  auto rules = faultline::core::ParseFaults(text);
  REQUIRE(rules);
  return *rules;
}

std::vector<std::string> UnderTable(const ControlTable& table) {
  return {kPreload, "FAULTLINE_INJECT_TABLE=" + table.path()};
}

// Waits (bounded) until `count` threads are parked in the table.
bool WaitHeld(const ControlTable& table, std::size_t count) {
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until) {
    if (table.Read().held.size() >= count) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

// The table mapped as the shim maps it, to write the ring directly.
faultline::inject::Table& Map(const ControlTable& table) {
  const int fd = ::open(table.path().c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  void* memory =
      ::mmap(nullptr, sizeof(faultline::inject::Table), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  REQUIRE(memory != MAP_FAILED);
  return *static_cast<faultline::inject::Table*>(memory);
}

}  // namespace

TEST_CASE("a failed call is a decision with its rule, call, errno, hit and process",
          "[injector][decisions]") {
  TempDir dir;
  auto table = ControlTable::Create(dir.path + "/table", 1);
  REQUIRE(table);
  auto rules = Rules("fsync -> fail(EIO)");
  rules[0].id = "f1";
  REQUIRE(table->Set(rules));
  REQUIRE(table->Decisions(0).decisions.empty());
  const auto ran = RunProgram({CALL_PROBE, "fsync", dir.path}, UnderTable(*table));
  REQUIRE(ran.out == "err 5\n");
  const auto batch = table->Decisions(0);
  CHECK(batch.lost == 0);
  REQUIRE(batch.decisions.size() == 1);
  const ShimDecision& failed = batch.decisions[0];
  CHECK(failed.seq == 0);
  CHECK(failed.rule == "f1");
  CHECK(failed.call == "fsync");
  CHECK(failed.action == "fail");
  CHECK(failed.value == EIO);
  CHECK(failed.hit == 1);
  CHECK(failed.pid > 0);
  CHECK(failed.mono_ns > 0);
  CHECK(batch.next == 1);
  CHECK(table->Decisions(batch.next).decisions.empty());  // read once
}

TEST_CASE("holds and their releases are decisions, the releases in the order they were made",
          "[injector][decisions][hold]") {
  TempDir dir;
  auto table = ControlTable::Create(dir.path + "/table", 1);
  REQUIRE(table);
  REQUIRE(table->Set(Rules("point:probe -> hold(h1)")));
  Background first({CALL_PROBE, "faultline_point", dir.path}, UnderTable(*table));
  REQUIRE(WaitHeld(*table, 1));
  Background second({CALL_PROBE, "faultline_point", dir.path}, UnderTable(*table));
  REQUIRE(WaitHeld(*table, 2));
  REQUIRE(table->Release("h1", /*all=*/true) == 2);
  CHECK(first.Wait(10s) == 0);
  CHECK(second.Wait(10s) == 0);

  const auto batch = table->Decisions(0, /*settled=*/true);
  REQUIRE(batch.decisions.size() == 4);
  const auto& d = batch.decisions;
  CHECK(d[0].action == "hold");
  CHECK(d[1].action == "hold");
  CHECK(d[0].pid != d[1].pid);
  CHECK(d[0].hold == "h1");
  CHECK(d[0].call == "point");
  CHECK(d[0].value < d[1].value);  // tickets in arrival order
  // Released oldest first, each naming the thread it let go.
  CHECK(d[2].action == "release");
  CHECK(d[3].action == "release");
  CHECK(d[2].value == d[0].value);
  CHECK(d[2].pid == d[0].pid);
  CHECK(d[3].value == d[1].value);
  CHECK(d[3].pid == d[1].pid);
  CHECK(d[2].rule == d[0].rule);
  CHECK(d[2].call == "point");
}

TEST_CASE("a hold that times out says so", "[injector][decisions][hold]") {
  TempDir dir;
  auto table = ControlTable::Create(dir.path + "/table", 1);
  REQUIRE(table);
  REQUIRE(table->Set(Rules("point:probe -> hold(h1) timeout=100ms")));
  const auto ran = RunProgram({CALL_PROBE, "faultline_point", dir.path}, UnderTable(*table));
  REQUIRE(ran.out == "ok 0\n");
  const auto batch = table->Decisions(0);
  REQUIRE(batch.decisions.size() == 2);
  CHECK(batch.decisions[0].action == "hold");
  CHECK(batch.decisions[1].action == "timeout");
  CHECK(batch.decisions[1].value == batch.decisions[0].value);
  CHECK(batch.decisions[1].mono_ns - batch.decisions[0].mono_ns >= 100'000'000);
}

TEST_CASE("a skew is one decision, at the first clock read it changes", "[injector][decisions]") {
  TempDir dir;
  auto table = ControlTable::Create(dir.path + "/table", 1);
  REQUIRE(table);
  REQUIRE(table->Set(Rules("clock_gettime -> skew(+1h)")));
  REQUIRE(RunProgram({CALL_PROBE, "clock_gettime", dir.path}, UnderTable(*table)).exit_code == 0);
  REQUIRE(RunProgram({CALL_PROBE, "clock_gettime", dir.path}, UnderTable(*table)).exit_code == 0);
  const auto status = table->Read();
  REQUIRE(status.rules.size() == 1);
  CHECK(status.rules[0].fires >= 2);
  const auto batch = table->Decisions(0);
  REQUIRE(batch.decisions.size() == 1);
  CHECK(batch.decisions[0].action == "skew");
  CHECK(batch.decisions[0].value == 3'600'000'000'000);
}

TEST_CASE("the ring keeps the newest decisions and counts the ones it lost",
          "[injector][decisions]") {
  using faultline::inject::kDecisionRing;
  TempDir dir;
  auto table = ControlTable::Create(dir.path + "/table", 1);
  REQUIRE(table);
  auto& raw = Map(*table);
  const std::size_t total = kDecisionRing + 100;
  for (std::size_t i = 0; i < total; ++i) {
    faultline::inject::DecisionRecord record;
    record.hit = i + 1;
    record.outcome = faultline::inject::kFailed;
    std::strcpy(record.rule, "f1");
    faultline::inject::RecordDecision(raw, record);
  }
  auto batch = table->Decisions(0);
  CHECK(batch.lost == 100);
  REQUIRE(batch.decisions.size() == kDecisionRing);
  CHECK(batch.decisions.front().hit == 101);
  CHECK(batch.decisions.back().hit == total);
  CHECK(batch.next == total);

  // A decision whose writer has not finished holds the batch back, until the table is
  // settled: then it is lost, not waited for.
  raw.decisions_next.fetch_add(1);  // claimed, never written
  faultline::inject::DecisionRecord after;
  std::strcpy(after.rule, "f2");
  faultline::inject::RecordDecision(raw, after);
  batch = table->Decisions(total);
  CHECK(batch.decisions.empty());
  CHECK(batch.next == total);
  batch = table->Decisions(total, /*settled=*/true);
  CHECK(batch.lost == 1);
  REQUIRE(batch.decisions.size() == 1);
  CHECK(batch.decisions[0].rule == "f2");
  ::munmap(&raw, sizeof raw);
}
