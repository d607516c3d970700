// The injector's timing, in a real process under the shim: how soon a rule set from outside
// takes effect, skew rates, deadlines under a skewed clock, leases and thread filters. Bounds
// are generous (the host is shared); faultline-inject-bench reports the precise figures.

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include "faultline/core/fault.h"
#include "faultline/injector/control.h"
#include "support/run.h"
#include "table.h"

using faultline::inject::ControlTable;
using faultline::testing::Background;
using faultline::testing::RunProgram;
using faultline::testing::TempDir;
using namespace std::chrono_literals;

namespace {

const std::string kPreload = std::string("LD_PRELOAD=") + FAULTLINE_INJECT_LIB;

// The probe under rules from the environment.
faultline::testing::Ran UnderRules(const std::string& rules, std::vector<std::string> argv) {
  argv.insert(argv.begin(), TIMING_PROBE);
  return RunProgram(argv, {kPreload, "FAULTLINE_INJECT_RULES=" + rules});
}

std::vector<faultline::core::Fault> Rules(const std::string& text) {
  auto rules = faultline::core::ParseFaults(text);
  REQUIRE(rules);
  return *rules;
}

std::int64_t MonotonicNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TEST_CASE("a rule set on a running program acts on its next call", "[injector][timing]") {
  TempDir dir;
  auto table = ControlTable::Create(dir.path + "/table", 1);
  REQUIRE(table);
  Background probe({TIMING_PROBE, "watch"}, {kPreload, "FAULTLINE_INJECT_TABLE=" + table->path()});
  REQUIRE(probe.WaitForOutput("ready\n", 10s));
  // The probe spins on the fast path until the rule lands; it prints when it saw the skew.
  const auto rules = Rules("clock_gettime -> skew(+1h)");
  const std::int64_t before = MonotonicNs();
  REQUIRE(table->Set(rules));
  REQUIRE(probe.Wait(10s) == 0);
  std::istringstream out(probe.Output());
  std::string ready;
  std::int64_t seen = 0;
  out >> ready >> seen;
  const double latency_ms = static_cast<double>(seen - before) / 1e6;
  INFO("from Set to the program's next clock reading: " << latency_ms << " ms");
  CHECK(latency_ms >= 0);
  CHECK(latency_ms < 100);  // ≤ 1 ms on a quiet host (faultline-inject-bench)
}

TEST_CASE("a skew with a rate makes the program's clock run at that rate", "[injector][timing]") {
  for (const auto& [rule, expected] :
       std::vector<std::pair<std::string, double>>{{"clock_gettime -> skew(0s, 2)", 2.0},
                                                   {"clock_gettime -> skew(-1h, 0.5)", 0.5},
                                                   {"clock_gettime -> skew(+1h)", 1.0}}) {
    CAPTURE(rule);
    const auto ran = UnderRules(rule, {"rate", "300"});
    REQUIRE(ran.exit_code == 0);
    CHECK(std::stod(ran.out) == Approx(expected).epsilon(0.05));
  }
}

TEST_CASE("an absolute sleep ends when the skewed clock reaches its deadline",
          "[injector][timing]") {
  // The deadline is an hour ahead of the real clock: without translation this sleeps an hour.
  const auto ahead = UnderRules("clock_gettime -> skew(+1h)", {"deadline", "200"});
  REQUIRE(!ahead.timed_out);
  REQUIRE(ahead.exit_code == 0);
  CHECK(std::stoll(ahead.out) >= 190);
  CHECK(std::stoll(ahead.out) < 5000);
  // The deadline is behind: without translation it returns at once.
  const auto behind = UnderRules("clock_gettime -> skew(-1h)", {"deadline", "300"});
  CHECK(std::stoll(behind.out) >= 290);
  // Four times as fast: 2 s of the program's time pass in half a real second.
  const auto fast = UnderRules("clock_gettime -> skew(0s, 4)", {"deadline", "2000"});
  CHECK(std::stoll(fast.out) >= 450);
  CHECK(std::stoll(fast.out) < 1500);
}

TEST_CASE("a rule stops acting when its lease runs out", "[injector][timing]") {
  TempDir dir;
  const auto ran = UnderRules("fsync lease=300ms -> fail(EIO)", {"lease", dir.path});
  REQUIRE(ran.exit_code == 0);
  std::istringstream out(ran.out);
  int failed = 0;
  long long ms = 0;
  out >> failed >> ms;
  CHECK(failed >= 3);  // fsyncs every 20 ms fail while the lease lasts...
  CHECK(ms >= 250);    // ...which is 300 ms from when the shim read the rule
  CHECK(ms < 10'000);  // and then it is gone
}

TEST_CASE("a thread filter picks the threads a rule acts on", "[injector][timing]") {
  TempDir dir;
  CHECK(UnderRules("fsync thread=worker -> fail(EIO)", {"threads", dir.path}).out ==
        "worker err 5 main ok\n");
  CHECK(UnderRules("fsync thread=w*r -> fail(EIO)", {"threads", dir.path}).out ==
        "worker err 5 main ok\n");
  CHECK(UnderRules("fsync thread=timing_probe -> fail(EIO)", {"threads", dir.path}).out ==
        "worker ok main err 5\n");
}

TEST_CASE("a writer that died mid-change neither hangs readers nor leaves the table torn",
          "[injector][table]") {
  TempDir dir;
  auto table = ControlTable::Create(dir.path + "/table", 1);
  REQUIRE(table);
  REQUIRE(table->Set(Rules("fsync -> fail(EIO)")));
  // Map the file as the shim does and leave the sequence odd, as a writer killed between
  // its two increments would.
  const int fd = ::open(table->path().c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  void* memory =
      ::mmap(nullptr, sizeof(faultline::inject::Table), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  REQUIRE(memory != MAP_FAILED);
  auto& raw = *static_cast<faultline::inject::Table*>(memory);
  raw.seq.fetch_add(1);
  REQUIRE((raw.seq.load() & 1) == 1);

  const auto status = table->Read();  // returns: it does not wait on the sequence
  CHECK(status.rules.size() == 1);
  // The next change completes the write the dead one began: the sequence is even again.
  REQUIRE(table->Set(Rules("rule late: unlink -> fail(EPERM)")));
  CHECK((raw.seq.load() & 1) == 0);
  CHECK(table->Read().rules.size() == 2);
  ::munmap(memory, sizeof(faultline::inject::Table));
}
