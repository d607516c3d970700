// Readiness checks against real services: each kind passes once the service is ready, and a
// service that never gets there is reported with what a user needs to see why.

#include <catch2/catch.hpp>

#include <re2/re2.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "faultline/experiments/process.h"
#include "faultline/experiments/readiness.h"
#include "support/run.h"

using faultline::core::FreeLoopbackPort;
using faultline::experiments::Describe;
using faultline::experiments::Process;
using faultline::experiments::ProcessSpec;
using faultline::experiments::ReadyCheck;
using faultline::experiments::WaitReady;
using faultline::testing::TempDir;
using Kind = faultline::experiments::ReadyCheck::Kind;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

const std::string kReadyServer = READY_SERVER;

Process StartService(const std::vector<std::string>& argv, const std::string& log,
                     const std::string& cwd = "") {
  auto started = Process::Start({.name = "store", .argv = argv, .cwd = cwd, .log_path = log});
  INFO((started.ok() ? "" : started.message()));
  REQUIRE(started.ok());
  return std::move(*started);
}

// A ready_server that starts listening after `delay_ms` and answers HTTP with `status`.
Process StartServer(std::uint16_t port, int delay_ms, int status, const std::string& log) {
  return StartService(
      {kReadyServer, std::to_string(port), std::to_string(delay_ms), std::to_string(status)}, log);
}

std::string Loopback(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

// How long the last attempt was given, from "... after 200ms)": the attempt timeout, or less
// when the overall timeout left less.
int AttemptMilliseconds(const std::string& message) {
  int milliseconds = 0;
  REQUIRE(RE2::PartialMatch(message, R"(after ([0-9]+)ms\))", &milliseconds));
  return milliseconds;
}

}  // namespace

TEST_CASE("tcp: ready once the service accepts connections", "[experiments][readiness]") {
  TempDir dir;
  const std::uint16_t port = FreeLoopbackPort();
  const auto start = Clock::now();
  Process server = StartServer(port, 300, 200, dir.path + "/store.log");
  const auto ready =
      WaitReady({.kind = Kind::kTcp, .target = Loopback(port), .timeout = 30s}, server);
  INFO((ready.ok() ? "" : ready.message()));
  CHECK(ready.ok());
  CHECK(Clock::now() - start >= 300ms);  // it did wait for the listener
}

TEST_CASE("http: ready once GET answers with a 2xx status", "[experiments][readiness]") {
  TempDir dir;
  const std::uint16_t port = FreeLoopbackPort();
  Process server = StartServer(port, 300, 204, dir.path + "/store.log");
  const auto ready = WaitReady({.kind = Kind::kHttp,
                                .target = "http://" + Loopback(port) + "/health?deep=1",
                                .timeout = 30s},
                               server);
  INFO((ready.ok() ? "" : ready.message()));
  CHECK(ready.ok());
}

TEST_CASE("tcp and http: a host name is looked up", "[experiments][readiness]") {
  TempDir dir;
  const std::uint16_t port = FreeLoopbackPort();
  Process server = StartServer(port, 0, 200, dir.path + "/store.log");
  const std::string address = "localhost:" + std::to_string(port);
  const auto tcp = WaitReady({.kind = Kind::kTcp, .target = address, .timeout = 30s}, server);
  INFO((tcp.ok() ? "" : tcp.message()));
  CHECK(tcp.ok());
  const auto http =
      WaitReady({.kind = Kind::kHttp, .target = "http://" + address + "/", .timeout = 30s}, server);
  INFO((http.ok() ? "" : http.message()));
  CHECK(http.ok());
}

TEST_CASE("http: another status is not ready, and it says which", "[experiments][readiness]") {
  TempDir dir;
  const std::uint16_t port = FreeLoopbackPort();
  Process server = StartServer(port, 0, 503, dir.path + "/store.log");
  const std::string url = "http://" + Loopback(port) + "/health";
  const auto ready = WaitReady({.kind = Kind::kHttp, .target = url, .timeout = 1s}, server);
  REQUIRE_FALSE(ready.ok());
  CHECK_THAT(ready.message(),
             Catch::StartsWith("service store: not ready after 1s (http " + url + ": status 503)"));
}

TEST_CASE("http: a service that never answers fails each attempt after its timeout",
          "[experiments][readiness]") {
  TempDir dir;
  const std::uint16_t port = FreeLoopbackPort();
  Process server = StartServer(port, 0, 0, dir.path + "/store.log");
  const std::string url = "http://" + Loopback(port) + "/";
  const auto start = Clock::now();
  const auto ready = WaitReady(
      {.kind = Kind::kHttp, .target = url, .timeout = 1s, .attempt_timeout = 200ms}, server);
  const auto took = Clock::now() - start;
  REQUIRE_FALSE(ready.ok());
  CHECK_THAT(ready.message(), Catch::Contains("(http " + url + ": no answer after "));
  CHECK(AttemptMilliseconds(ready.message()) <= 200);
  CHECK(took >= 1s);
  CHECK(took < 10s);
}

TEST_CASE("log: ready once a line of this run's log matches", "[experiments][readiness]") {
  TempDir dir;
  const std::string log = dir.path + "/logs/store.log";
  // An earlier run of the service left a matching line in the log: it does not count.
  Process earlier = StartService({"sh", "-c", "echo listening on 4100"}, log);
  REQUIRE(earlier.Wait(20s) == 0);
  Process silent = StartService({"sh", "-c", "echo booting; exec sleep 100"}, log);
  REQUIRE(WaitReady({.kind = Kind::kLog, .target = "booting", .timeout = 30s}, silent).ok());
  const auto stale =
      WaitReady({.kind = Kind::kLog, .target = "listening on [0-9]+", .timeout = 300ms}, silent);
  REQUIRE_FALSE(stale.ok());
  CHECK_THAT(stale.message(), Catch::EndsWith("last lines of " + log + ":\n  booting"));

  Process service = StartService(
      {"sh", "-c", "echo booting; sleep 0.2; echo listening on 4100; exec sleep 100"}, log);
  const auto ready =
      WaitReady({.kind = Kind::kLog, .target = "listening on [0-9]+", .timeout = 30s}, service);
  INFO((ready.ok() ? "" : ready.message()));
  CHECK(ready.ok());
}

TEST_CASE("log: each line is searched without its newline, ^ and $ anchoring the whole line",
          "[experiments][readiness][pattern]") {
  TempDir dir;
  const std::string log = dir.path + "/store.log";
  Process service = StartService(
      {"sh", "-c", "printf 'booting\\r\\n\\r\\nstarted: ready\\r\\nready\\r\\n'; exec sleep 100"},
      log);
  REQUIRE(WaitReady({.kind = Kind::kLog, .target = "^booting$", .timeout = 10s}, service).ok());
  // Only the last line is "ready" from start to end.
  const auto ready = WaitReady({.kind = Kind::kLog, .target = "^ready$", .timeout = 30s}, service);
  INFO((ready.ok() ? "" : ready.message()));
  CHECK(ready.ok());
  const auto empty = WaitReady({.kind = Kind::kLog, .target = "^$", .timeout = 30s}, service);
  CHECK(empty.ok());
  const auto across =
      WaitReady({.kind = Kind::kLog, .target = "booting.ready", .timeout = 200ms}, service);
  CHECK_FALSE(across.ok());
}

TEST_CASE("log: a pathological pattern on a long line is searched in linear time",
          "[experiments][readiness][pattern]") {
  // (a|a)*c backtracks exponentially in a backtracking engine: the standard library's ran out
  // of stack on this line and crashed the runner.
  TempDir dir;
  Process service = StartService(
      {"sh", "-c", "head -c 20000 /dev/zero | tr '\\0' a; echo; echo ready; exec sleep 100"},
      dir.path + "/store.log");
  const auto start = Clock::now();
  const auto ready =
      WaitReady({.kind = Kind::kLog, .target = "(a|a)*c|^ready$", .timeout = 30s}, service);
  INFO((ready.ok() ? "" : ready.message()));
  CHECK(ready.ok());
  CHECK(Clock::now() - start < 5s);
}

TEST_CASE("log: a pattern RE2 cannot compile can never pass, and says why",
          "[experiments][readiness][pattern]") {
  TempDir dir;
  Process service = StartService({"sh", "-c", "echo ready; exec sleep 100"}, dir.path + "/s.log");
  const auto backreference =
      WaitReady({.kind = Kind::kLog, .target = "(re)\\1", .timeout = 60s}, service);
  REQUIRE_FALSE(backreference.ok());
  CHECK(backreference.message() ==
        "service store: log /(re)\\1/ can never pass: not a valid RE2 pattern: invalid escape "
        "sequence: \\1");
  const auto lookahead =
      WaitReady({.kind = Kind::kLog, .target = "(?=ready)", .timeout = 60s}, service);
  REQUIRE_FALSE(lookahead.ok());
  CHECK_THAT(lookahead.message(), Catch::EndsWith("invalid perl operator: (?="));
}

TEST_CASE("command: ready once it exits 0, and its failure or hang is reported",
          "[experiments][readiness]") {
  TempDir dir;
  const std::string flag = dir.path + "/ready.flag";
  Process service = StartService({"sh", "-c", "sleep 0.2; touch ready.flag; exec sleep 100"},
                                 dir.path + "/store.log", dir.path);
  const auto ready =
      WaitReady({.kind = Kind::kCommand, .command = {"test", "-e", flag}, .timeout = 30s}, service);
  INFO((ready.ok() ? "" : ready.message()));
  CHECK(ready.ok());

  const auto failing = WaitReady(
      {.kind = Kind::kCommand, .command = {"test", "-e", flag + ".no"}, .timeout = 300ms}, service);
  REQUIRE_FALSE(failing.ok());
  CHECK_THAT(failing.message(), Catch::Contains("(command test -e " + flag + ".no: exit code 1)"));

  const auto start = Clock::now();
  const auto hanging = WaitReady({.kind = Kind::kCommand,
                                  .command = {"sleep", "100"},
                                  .timeout = 1s,
                                  .attempt_timeout = 200ms},
                                 service);
  REQUIRE_FALSE(hanging.ok());
  CHECK_THAT(hanging.message(), Catch::Contains("(command sleep 100: still running after "));
  CHECK(AttemptMilliseconds(hanging.message()) <= 200);
  CHECK(Clock::now() - start < 10s);
}

TEST_CASE("not ready in time: the error names the service, the check, the timeout and the log",
          "[experiments][readiness]") {
  TempDir dir;
  const std::string log = dir.path + "/logs/store.log";
  Process service = StartService(
      {"sh", "-c", "for i in 1 2 3 4 5 6 7; do echo line $i; done; echo done; exec sleep 100"},
      log);
  REQUIRE(WaitReady({.kind = Kind::kLog, .target = "^done$", .timeout = 30s}, service).ok());
  const std::uint16_t port = FreeLoopbackPort();  // nothing listens there
  const auto start = Clock::now();
  const auto ready =
      WaitReady({.kind = Kind::kTcp, .target = Loopback(port), .timeout = 1s}, service);
  const auto took = Clock::now() - start;
  REQUIRE_FALSE(ready.ok());
  CHECK(ready.message() == "service store: not ready after 1s (tcp " + Loopback(port) +
                               ": connection refused); last lines of " + log +
                               ":\n  line 4\n  line 5\n  line 6\n  line 7\n  done");
  CHECK(took >= 1s);
  CHECK(took < 10s);
}

TEST_CASE("a service that exits while awaited is reported at once", "[experiments][readiness]") {
  TempDir dir;
  const std::string log = dir.path + "/store.log";
  Process service = StartService({"sh", "-c", "echo 'fatal: no config' >&2; exit 1"}, log);
  const auto start = Clock::now();
  const auto ready = WaitReady(
      {.kind = Kind::kTcp, .target = Loopback(FreeLoopbackPort()), .timeout = 60s}, service);
  REQUIRE_FALSE(ready.ok());
  CHECK(ready.message() == "service store exited with code 1 before it was ready; last lines of " +
                               log + ":\n  fatal: no config");
  CHECK(Clock::now() - start < 10s);
}

TEST_CASE("a check that can never pass fails at once", "[experiments][readiness]") {
  TempDir dir;
  Process service = StartService({"sleep", "100"}, dir.path + "/store.log");
  const auto start = Clock::now();
  const auto bad_address =
      WaitReady({.kind = Kind::kTcp, .target = "store", .timeout = 60s}, service);
  REQUIRE_FALSE(bad_address.ok());
  CHECK(bad_address.message() ==
        "service store: tcp store can never pass: expected HOST:PORT, got 'store'");

  const auto bad_url =
      WaitReady({.kind = Kind::kHttp, .target = "https://127.0.0.1/", .timeout = 60s}, service);
  REQUIRE_FALSE(bad_url.ok());
  CHECK_THAT(bad_url.message(), Catch::Contains("only http:// URLs can be checked"));

  const auto bad_pattern = WaitReady({.kind = Kind::kLog, .target = "(", .timeout = 60s}, service);
  REQUIRE_FALSE(bad_pattern.ok());
  CHECK_THAT(bad_pattern.message(),
             Catch::StartsWith("service store: log /(/ can never pass: not a valid RE2 pattern"));

  const auto bad_command = WaitReady(
      {.kind = Kind::kCommand, .command = {"faultline-no-such-probe"}, .timeout = 60s}, service);
  REQUIRE_FALSE(bad_command.ok());
  CHECK_THAT(bad_command.message(), Catch::Contains("'faultline-no-such-probe' not found in PATH"));
  CHECK(Clock::now() - start < 10s);
}

TEST_CASE("checks describe themselves as errors show them", "[experiments][readiness]") {
  CHECK(Describe({.kind = Kind::kTcp, .target = "127.0.0.1:4100"}) == "tcp 127.0.0.1:4100");
  CHECK(Describe({.kind = Kind::kHttp, .target = "http://h:1/x"}) == "http http://h:1/x");
  CHECK(Describe({.kind = Kind::kLog, .target = "ready"}) == "log /ready/");
  CHECK(Describe({.kind = Kind::kCommand, .command = {"./probe", "--fast"}}) ==
        "command ./probe --fast");
}
