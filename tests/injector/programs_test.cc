// Real programs under `faultline inject`: what each rule does to them is what a user sees.

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <re2/re2.h>
#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/processes.h"
#include "support/run.h"

using faultline::testing::Background;
using faultline::testing::RunProgram;
using faultline::testing::TempDir;
using faultline::testing::WaitUntil;
using namespace std::chrono_literals;

namespace {

const std::string kFaultline = FAULTLINE_BIN;

std::vector<std::string> Inject(std::vector<std::string> rules, std::vector<std::string> command,
                                bool quiet = true) {
  std::vector<std::string> argv = {kFaultline, "inject"};
  if (quiet) argv.push_back("-q");
  for (const std::string& rule : rules) {
    argv.push_back("--rule");
    argv.push_back(rule);
  }
  argv.push_back("--");
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

long long NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<long long> Numbers(const std::string& text) {
  std::vector<long long> out;
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    if (!word.empty() && std::isdigit(static_cast<unsigned char>(word[0]))) {
      out.push_back(std::stoll(word));
    }
  }
  return out;
}

// The pid of the program a non-quiet `faultline inject` launched, from its first line.
int LaunchedPid(Background& launcher) {
  REQUIRE(launcher.WaitForOutput(", seed ", 10s));  // the pid is before it
  int pid = 0;
  REQUIRE(RE2::PartialMatch(launcher.Output(), "faultline inject: pid ([0-9]+)", &pid));
  return pid;
}

}  // namespace

TEST_CASE("date shows a +1h skew, and the skew changes while a program runs",
          "[injector][programs][clock]") {
  const auto skewed =
      RunProgram(Inject({"clock_gettime,gettimeofday,time -> skew(+1h)"}, {"date", "+%s"}));
  REQUIRE(skewed.exit_code == 0);
  CHECK(std::abs(std::stoll(skewed.out) - NowSeconds() - 3600) <= 60);
  const auto plain = RunProgram(Inject({}, {"date", "+%s"}));
  CHECK(std::abs(std::stoll(plain.out) - NowSeconds()) <= 60);

  // A running program: no rule at first, then one set from outside.
  Background program(Inject({},
                            {"python3", "-c",
                             "import time\n"
                             "for _ in range(2000):\n"
                             "    print(int(time.time()), flush=True)\n"
                             "    time.sleep(0.005)\n"},
                            /*quiet=*/false));
  const int pid = LaunchedPid(program);
  const long long start = NowSeconds();
  REQUIRE(program.WaitForOutput(std::to_string(start).substr(0, 6), 10s));
  const auto set = RunProgram({kFaultline, "inject", "set", "--target", std::to_string(pid),
                               "clock_gettime,gettimeofday,time -> skew(+1h)"});
  INFO(set.err);
  REQUIRE(set.exit_code == 0);
  CHECK_THAT(set.out, Catch::Contains("rule r1: clock_gettime,gettimeofday,time -> skew(+1h)"));
  // Lines an hour ahead appear: look for the first digits of start + 3600.
  CHECK(program.WaitForOutput(std::to_string(start + 3600).substr(0, 7), 10s));
  const auto status =
      RunProgram({kFaultline, "inject", "status", "--target", std::to_string(pid), "--prometheus"});
  CHECK_THAT(
      status.out,
      Catch::Contains(R"(faultline_inject_calls_total{action="skew",call="clock_gettime"})"));
}

TEST_CASE("an fsync delay of 50 ms is what the program measures", "[injector][programs]") {
  TempDir dir;
  const std::string script =
      "import os, time\n"
      "fd = os.open('" +
      dir.path +
      "/f', os.O_WRONLY | os.O_CREAT)\n"
      "t = time.monotonic(); os.fsync(fd); print(time.monotonic() - t)\n";
  const auto delayed = RunProgram(Inject({"fsync -> delay(50ms)"}, {"python3", "-c", script}));
  REQUIRE(delayed.exit_code == 0);
  const double seconds = std::stod(delayed.out);
  CHECK(seconds >= 0.050);
  CHECK(seconds < 2.0);  // generous: the host is shared
}

TEST_CASE("curl sees a refused connect; http.server under the shim serves it otherwise",
          "[injector][programs][net]") {
  TempDir dir;
  // The server itself runs under the shim with no rule; each accept is delayed by 200 ms.
  Background server(Inject(
      {"accept -> delay(200ms)"},
      {"python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", dir.path}));
  REQUIRE(server.WaitForOutput("Serving HTTP on", 10s));
  std::string port;
  REQUIRE(RE2::PartialMatch(server.Output(), "port ([0-9]+)", &port));
  const std::string url = "http://127.0.0.1:" + port + "/";

  const auto start = std::chrono::steady_clock::now();
  const auto ok =
      RunProgram(Inject({}, {"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", url}));
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(ok.exit_code == 0);
  CHECK(ok.out == "200");
  CHECK(took >= 200ms);

  const auto refused = RunProgram(Inject({"connect port=" + port + " -> fail(ECONNREFUSED)"},
                                         {"curl", "-sS", "-o", "/dev/null", url}));
  CHECK(refused.exit_code == 7);  // curl: couldn't connect
  CHECK_THAT(refused.err, Catch::Contains("onnect"));
}

// redis-benchmark's "SET: 12345.67 requests per second, ..." as a number.
double RequestsPerSecond(const std::string& output, const std::string& test) {
  double rate = 0;
  REQUIRE(RE2::PartialMatch(output, test + ": ([0-9.]+) requests per second", &rate));
  return rate;
}

TEST_CASE("redis-server under the shim: full speed with no rule, slowed by one set while it runs",
          "[injector][programs][redis]") {
  const std::string port = std::to_string(faultline::core::FreeLoopbackPort());
  Background redis(Inject({},
                          {"redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
                           "--appendonly", "no", "--protected-mode", "no"},
                          /*quiet=*/false));
  const int pid = LaunchedPid(redis);
  REQUIRE(redis.WaitForOutput("Ready to accept connections", 10s));
  const std::vector<std::string> benchmark = {
      "redis-benchmark", "-h", "127.0.0.1", "-p", port, "-c", "1", "-n", "300", "-t",
      "set,get",         "-q"};

  const auto plain = RunProgram(benchmark);
  INFO(plain.out << plain.err);
  REQUIRE(plain.exit_code == 0);
  const double plain_set = RequestsPerSecond(plain.out, "SET");

  // Every reply the server writes to a client now waits 5 ms: one client can get at most
  // 200 replies a second.
  const auto set = RunProgram({kFaultline, "inject", "set", "--target", std::to_string(pid),
                               "write,writev fd=socket -> delay(5ms)"});
  REQUIRE(set.exit_code == 0);
  const auto slowed = RunProgram(benchmark);
  INFO(slowed.out << slowed.err);
  REQUIRE(slowed.exit_code == 0);
  const double slowed_set = RequestsPerSecond(slowed.out, "SET");
  CHECK(slowed_set <= 205);
  CHECK(RequestsPerSecond(slowed.out, "GET") <= 205);
  CHECK(slowed_set < plain_set / 2);
  const auto status =
      RunProgram({kFaultline, "inject", "status", "--target", std::to_string(pid), "--prometheus"});
  CHECK_THAT(status.out,
             Catch::Contains(R"(faultline_inject_calls_total{action="delay",call="write"})"));

  // Cleared: back to full speed, and the server never restarted.
  REQUIRE(RunProgram({kFaultline, "inject", "clear", "--target", std::to_string(pid)}).exit_code ==
          0);
  const auto cleared = RunProgram(benchmark);
  REQUIRE(cleared.exit_code == 0);
  CHECK(RequestsPerSecond(cleared.out, "SET") > slowed_set * 2);
  CHECK(::kill(pid, 0) == 0);

  // A failing read: the server drops the client as if it had reset, and the client says so.
  REQUIRE(RunProgram({kFaultline, "inject", "set", "--target", std::to_string(pid),
                      "read fd=socket -> fail(ECONNRESET)"})
              .exit_code == 0);
  const auto dropped = RunProgram({"redis-cli", "-h", "127.0.0.1", "-p", port, "ping"});
  INFO(dropped.out << dropped.err);
  CHECK(dropped.out.find("PONG") == std::string::npos);
  CHECK(!dropped.timed_out);
}

TEST_CASE("a thread held at a named point goes on when released from the CLI",
          "[injector][programs][hold]") {
  TempDir dir;
  Background probe(Inject({"point:probe -> hold(h1)"}, {CALL_PROBE, "faultline_point", dir.path},
                          /*quiet=*/false));
  const int pid = LaunchedPid(probe);
  const auto released = RunProgram(
      {kFaultline, "inject", "release", "--target", std::to_string(pid), "h1", "--wait", "10s"});
  INFO(released.err);
  CHECK(released.exit_code == 0);
  CHECK(released.out == "released 1 thread held at h1\n");
  CHECK(probe.Wait(10s) == 0);
  CHECK_THAT(probe.Output(), Catch::Contains("ok 0"));

  // Nothing held there any more: release says so.
  Background idle(Inject({}, {"sleep", "5"}, /*quiet=*/false));
  const auto nothing = RunProgram(
      {kFaultline, "inject", "release", "--target", std::to_string(LaunchedPid(idle)), "h1"});
  CHECK(nothing.exit_code == 1);
  CHECK_THAT(nothing.err, Catch::Contains("nothing is held at h1"));
}

TEST_CASE("the announced pid takes a control command at once, every time", "[injector][programs]") {
  // Until the child has exec'd, it still maps the launcher's table: announcing it then would
  // let a command land in the moment between exec and the shim mapping the table again.
  for (int launch = 0; launch < 20; ++launch) {
    Background program(Inject({}, {"sleep", "5"}, /*quiet=*/false));
    const auto status = RunProgram(
        {kFaultline, "inject", "status", "--target", std::to_string(LaunchedPid(program))});
    INFO("launch " << launch << ": " << status.err);
    REQUIRE(status.exit_code == 0);
  }
}

TEST_CASE("a hold lets go by itself at its timeout", "[injector][programs][hold]") {
  TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  const auto ran = RunProgram(
      Inject({"point:probe -> hold(h1) timeout=300ms"}, {CALL_PROBE, "faultline_point", dir.path}));
  CHECK(ran.out == "ok 0\n");
  CHECK(std::chrono::steady_clock::now() - start >= 300ms);
}

TEST_CASE("without the shim a named point is a no-op", "[injector][programs][hold]") {
  TempDir dir;
  const auto ran = RunProgram({CALL_PROBE, "faultline_point", dir.path});
  CHECK(ran.exit_code == 0);
  CHECK(ran.out == "ok 0\n");
}

TEST_CASE(
    "rules reach programs exec'd and spawned with an empty environment by a "
    "multithreaded program",
    "[injector][programs][exec]") {
  const auto ran =
      RunProgram(Inject({"clock_gettime,gettimeofday,time -> skew(+1h)"}, {FORK_EXEC_PROBE}));
  REQUIRE(ran.exit_code == 0);
  const std::vector<long long> times = Numbers(ran.out);
  REQUIRE(times.size() == 2);
  for (long long t : times) CHECK(std::abs(t - NowSeconds() - 3600) <= 60);
}

TEST_CASE("sqlite3, sort and cp meet their faults", "[injector][programs][files]") {
  TempDir dir;
  const std::string db = dir.path + "/t.db";
  const std::string sql = "create table t(x); insert into t values(1); select count(*) from t;";
  const auto plain = RunProgram(Inject({}, {"sqlite3", db, sql}));
  CHECK(plain.exit_code == 0);
  CHECK(plain.out == "1\n");
  const auto failing =
      RunProgram(Inject({"fsync,fdatasync -> fail(EIO)"}, {"sqlite3", dir.path + "/u.db", sql}));
  CHECK(failing.exit_code != 0);
  CHECK_THAT(failing.err, Catch::Contains("disk I/O error"));

  const std::string input = dir.path + "/input.txt";
  REQUIRE(RunProgram({"sh", "-c", "printf 'b\\na\\n' > " + input}).exit_code == 0);
  CHECK(RunProgram(Inject({}, {"sort", input})).out == "a\nb\n");
  const auto denied = RunProgram(Inject({"open path=*input.txt -> fail(EACCES)"}, {"sort", input}));
  CHECK(denied.exit_code != 0);
  CHECK_THAT(denied.err, Catch::Contains("Permission denied"));

  const std::string copy = dir.path + "/copy.txt";
  CHECK(RunProgram(Inject({}, {"cp", input, copy})).exit_code == 0);
  CHECK(std::filesystem::file_size(copy) == 4);
  const auto refused = RunProgram(
      Inject({"open,openat path=*input.txt -> fail(EACCES)"}, {"cp", input, dir.path + "/c2"}));
  CHECK(refused.exit_code != 0);
  CHECK_THAT(refused.err, Catch::Contains("Permission denied"));
}

TEST_CASE("faultline inject rejects bad input with exit code 2 and says why",
          "[injector][programs][cli]") {
  const auto bad_rule = RunProgram(Inject({"fsync -> dealy(1ms)"}, {"true"}));
  CHECK(bad_rule.exit_code == 2);
  CHECK_THAT(bad_rule.err, Catch::Contains("did you mean delay?"));
  const auto missing = RunProgram(Inject({}, {"no-such-command-here"}));
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Catch::Contains("command not found"));
  const auto directory = RunProgram(Inject({}, {"/"}));
  CHECK(directory.exit_code == 2);
  CHECK_THAT(directory.err, Catch::Contains("cannot run /: a directory"));
  // A program exec refuses: the launcher says why, with the shell's code for it.
  TempDir dir;
  const std::string script = dir.path + "/no-interpreter";
  {
    std::ofstream out(script);
    out << "#!/nonexistent/interpreter\n";
  }
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  const auto not_runnable = RunProgram(Inject({}, {script}));
  CHECK(not_runnable.exit_code == 127);
  CHECK_THAT(not_runnable.err,
             Catch::Contains("cannot run " + script + ": No such file or directory"));
  const auto no_target = RunProgram({kFaultline, "inject", "status", "--target", "999999999"});
  CHECK(no_target.exit_code == 2);
  const auto not_injected =
      RunProgram({kFaultline, "inject", "status", "--target", std::to_string(::getpid())});
  CHECK(not_injected.exit_code == 2);
  CHECK_THAT(not_injected.err, Catch::Contains("has no faultline rule table"));
}

TEST_CASE("the program's exit status comes back through faultline inject",
          "[injector][programs][cli]") {
  CHECK(RunProgram(Inject({}, {"sh", "-c", "exit 7"})).exit_code == 7);
  CHECK(RunProgram(Inject({}, {"sh", "-c", "kill -TERM $$"})).exit_code == 128 + 15);
}

TEST_CASE("a faultline inject killed with SIGKILL leaves no rule table behind",
          "[injector][programs][tables]") {
  TempDir runtime;  // the launcher's $XDG_RUNTIME_DIR, where its table lives
  const auto tables = [&] {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(runtime.path)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  };
  Background launcher({kFaultline, "inject", "--", "sleep", "100"},
                      {"XDG_RUNTIME_DIR=" + runtime.path});
  const int pid = LaunchedPid(launcher);
  const std::vector<std::string> before = tables();
  REQUIRE(before.size() == 1);
  CHECK_THAT(before.front(),
             Catch::StartsWith("faultline-inject." + std::to_string(launcher.pid()) + "."));
  CHECK(::kill(pid, 0) == 0);

  ::kill(launcher.pid(), SIGKILL);
  REQUIRE(launcher.Wait(20s) == 128 + SIGKILL);
  CHECK(WaitUntil([&] { return tables().empty(); }, 20s));
}
