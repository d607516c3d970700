// `faultline run`, end to end with real processes: a passing run and its directory, a service
// that crashes, one that never becomes ready, a violation replayed from its run directory,
// and a runner killed with SIGKILL that leaves nothing behind.

#include <catch2/catch.hpp>

#include <signal.h>

#include <re2/re2.h>
#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "support/processes.h"
#include "support/run.h"

using faultline::testing::Background;
using faultline::testing::GroupGone;
using faultline::testing::RunProgram;
using faultline::testing::TempDir;
using faultline::testing::WaitUntil;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string kFaultline = FAULTLINE_BIN;

std::string Read(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes the spec into dir, next to the web example's client (client.sh URL TIMEOUT: GETs of
// URL, each an invoke and an ok or a fail); returns the spec's path.
std::string WriteSpec(const TempDir& dir, const std::string& spec) {
  fs::copy_file(std::string(EXAMPLES_SOURCE) + "/../web/client.sh", dir.path + "/client.sh",
                fs::copy_options::overwrite_existing);
  const std::string path = dir.path + "/spec.yaml";
  std::ofstream(path) << spec;
  return path;
}

// The run directories under runs/<experiment>/, none while the runner has yet to make them.
std::vector<fs::path> Runs(const TempDir& dir, const std::string& experiment) {
  std::vector<fs::path> runs;
  std::error_code missing;
  for (fs::directory_iterator entry(dir.path + "/runs/" + experiment, missing), end;
       !missing && entry != end; entry.increment(missing)) {
    runs.push_back(entry->path());
  }
  return runs;
}

// The one run directory under runs/<experiment>/.
fs::path OnlyRun(const TempDir& dir, const std::string& experiment) {
  const std::vector<fs::path> runs = Runs(dir, experiment);
  REQUIRE(runs.size() == 1);
  return runs.front();
}

boost::json::object Result(const fs::path& run) {
  return boost::json::parse(Read(run / "result.json")).as_object();
}

std::vector<std::string> Run(const TempDir& dir, const std::string& spec,
                             std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {kFaultline, "run", spec, "--runs-dir", dir.path + "/runs"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

}  // namespace

TEST_CASE("a passing run: services up, workload checked, a complete run directory",
          "[experiments][runner]") {
  TempDir dir;
  const std::string spec = WriteSpec(dir, R"(name: web
services:
  web:
    cmd: python3 -m http.server {{port.web}} --bind 127.0.0.1
    ready: {http: "http://127.0.0.1:{{port.web}}/", timeout: 20s}
proxies:
  front: {upstream: web}
workload:
  - {client: "sh client.sh http://{{proxy.front}}/ 2", concurrency: 2, ops: 10, history: true}
invariants:
  - {checker: no-errors}
  - {checker: availability, min: 100%}
  - {final: "curl -sf http://127.0.0.1:{{port.web}}/"}
)");
  const std::string gateway_port = std::to_string(faultline::core::FreeLoopbackPort());
  Background pushgateway({"prometheus-pushgateway",
                          "--persistence.file=", "--web.listen-address=127.0.0.1:" + gateway_port});
  const std::string gateway = "http://127.0.0.1:" + gateway_port;
  WaitUntil([&] { return RunProgram({"curl", "-sf", gateway + "/-/ready"}).exit_code == 0; }, 10s);
  const auto ran = RunProgram(
      Run(dir, spec, {"--seed", "5", "--pushgateway", gateway, "--metrics-port", "0"}), {}, 60s);
  INFO(ran.out << ran.err);
  CHECK(ran.exit_code == 0);
  CHECK_THAT(ran.err, Catch::Contains("metrics: http://127.0.0.1:"));
  const auto pushed = RunProgram({"curl", "-sf", gateway + "/metrics"});
  CHECK_THAT(
      pushed.out,
      Catch::Contains("faultline_run_passed{experiment=\"web\",instance=\"\",job=\"faultline\""));
  CHECK_THAT(ran.out, Catch::Contains("run 1/1 seed 5: pass"));
  const fs::path run = OnlyRun(dir, "web");
  CHECK(run.filename().string().ends_with("-5"));
  for (const char* file : {"spec.yaml", "seed", "events.jsonl", "history.jsonl", "result.json",
                           "metrics.prom", "logs/web.log", "report.html"}) {
    CAPTURE(file);
    CHECK(fs::exists(run / file));
  }
  const auto result = Result(run);
  CHECK(result.at("verdict") == "pass");
  CHECK(result.at("ops").at("ok") == 10);
  CHECK(Read(run / "spec.yaml").find("{{") == std::string::npos);  // templates filled in
  const std::string events = Read(run / "events.jsonl");
  CHECK_THAT(events, Catch::Contains(R"("event":"service_ready","service":"web")"));
  CHECK_THAT(events, Catch::Contains(R"("event":"run_ended","verdict":"pass")"));
  const std::string metrics = Read(run / "metrics.prom");
  CHECK_THAT(metrics, Catch::Contains(R"(faultline_run_passed{experiment="web"} 1)"));
  CHECK_THAT(metrics, Catch::Contains(R"(faultline_proxy_bytes_total{)"));

  const auto listed = RunProgram({kFaultline, "runs", "--runs-dir", dir.path + "/runs"});
  CHECK_THAT(listed.out, Catch::Contains(run.filename().string()));
  CHECK_THAT(listed.out, Catch::Contains("pass"));
}

TEST_CASE("rejected history lines are shown once and counted; all rejected is a harness error",
          "[experiments][runner][history]") {
  TempDir dir;
  // Epoch seconds for "time", as a new user wrote them, between two good lines.
  std::ofstream(dir.path + "/mixed.jsonl") << R"({"type":"invoke","f":"w"})"
                                              "\n"
                                           << R"({"type":"ok","f":"w","time":1733241234.56})"
                                              "\n"
                                           << R"({"type":"ok","f":"w","time":1733241235.56})"
                                              "\n"
                                           << R"({"type":"ok","f":"w","process":99999999999})"
                                              "\n";
  const std::string mixed = WriteSpec(dir, R"(name: mixed
workload:
  - {client: "cat mixed.jsonl", history: true}
)");
  const auto ran = RunProgram(Run(dir, mixed), {}, 60s);
  INFO(ran.out << ran.err);
  CHECK(ran.exit_code == 0);
  const std::string warning = "warning: a history line of client client1-0 was rejected: \"time\"";
  CHECK_THAT(ran.err, Catch::Contains(warning));
  CHECK(ran.err.find(warning) == ran.err.rfind(warning));  // once, not once a line
  CHECK_THAT(ran.out, Catch::Contains("warning: 2 history line(s) rejected; the first, client "
                                      "client1-0: \"time\" must be whole nanoseconds"));
  const auto result = Result(OnlyRun(dir, "mixed"));
  CHECK(result.at("ops").at("rejected_lines") == 2);
  CHECK(result.at("ops").at("total") == 2);  // the invoke and the 64-bit process's ok

  std::ofstream(dir.path + "/bad.jsonl") << R"({"type":"ok","f":"w","time":1.5})"
                                            "\n"
                                         << "not json\n";
  const std::string bad = WriteSpec(dir, R"(name: bad
workload:
  - {name: writers, client: "cat bad.jsonl", history: true}
)");
  const auto refused = RunProgram(Run(dir, bad), {}, 60s);
  INFO(refused.out << refused.err);
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.out, Catch::Contains("error: workload writers: all 2 history lines its "
                                          "clients wrote were rejected; the first, client "
                                          "writers-0: \"time\" must be"));
  CHECK(Result(OnlyRun(dir, "bad")).at("verdict") == "error");
}

TEST_CASE("a client's history comes through a pipe, kept whole in its file",
          "[experiments][runner][history]") {
  TempDir dir;
  // Two ops at once, a third a moment later with no newline after it: the runner reads the
  // pipe as the client writes, and a last line without its newline still counts.
  std::ofstream(dir.path + "/ops.sh") << R"(printf '{"type":"invoke","f":"w","value":1}\n')"
                                         "\n"
                                      << R"(printf '{"type":"ok","f":"w","value":1}\n')"
                                         "\n"
                                         "sleep 0.2\n"
                                      << R"(printf '{"type":"invoke","f":"r"}')"
                                         "\n";
  const std::string spec = WriteSpec(dir, R"(name: piped
workload:
  - {name: one, client: "sh ops.sh", history: true}
  - {name: two, client: "sh ops.sh", history: "{{run.dir}}/kept/ops"}
)");
  const auto ran = RunProgram(Run(dir, spec), {}, 60s);
  INFO(ran.out << ran.err);
  CHECK(ran.exit_code == 0);
  const fs::path run = OnlyRun(dir, "piped");
  CHECK(Result(run).at("ops").at("total") == 6);
  CHECK(Result(run).at("ops").at("rejected_lines") == 0);
  const std::string written = R"({"type":"invoke","f":"w","value":1})"
                              "\n"
                              R"({"type":"ok","f":"w","value":1})"
                              "\n"
                              R"({"type":"invoke","f":"r"})";
  CHECK(Read(run / "logs/one-0.history") == written);
  CHECK(Read(run / "kept/ops.0") == written);  // its directory made for it
}

TEST_CASE("a restarted service's history goes on in the same file, each start's lines whole",
          "[experiments][runner][history]") {
  TempDir dir;
  // Each start writes one op with no newline after it and exits; `restart: always` starts it
  // again. A start's unfinished line ends with its pipe: it never runs on into the next's.
  std::ofstream(dir.path + "/once.sh") << R"(printf '{"type":"invoke","f":"w"}')"
                                          "\n";
  const std::string spec = WriteSpec(dir, R"(name: restarts
duration: 2s
services:
  writer: {cmd: "sh once.sh", history: true, restart: always}
)");
  const auto ran = RunProgram(Run(dir, spec), {}, 60s);
  INFO(ran.out << ran.err);
  const fs::path run = OnlyRun(dir, "restarts");
  const auto ops = Result(run).at("ops");
  CHECK(ops.at("rejected_lines") == 0);
  CHECK(ops.at("total").as_int64() >= 2);  // at least one restart in 2 s
  // The file keeps what each start wrote, one after another.
  const std::string kept = Read(run / "logs/writer.history");
  CHECK(kept.size() ==
        ops.at("total").as_int64() * std::string(R"({"type":"invoke","f":"w"})").size());
}

TEST_CASE("a service's last unfinished line counts when it is stopped at the end",
          "[experiments][runner][history]") {
  TempDir dir;
  // It writes one op with no newline, says it is ready, and runs until the runner stops it.
  std::ofstream(dir.path + "/stays.sh") << R"(printf '{"type":"invoke","f":"w"}')"
                                           "\ntouch \"$FAULTLINE_RUN_DIR/wrote\"\nexec sleep 60\n";
  const std::string spec = WriteSpec(dir, R"(name: stays
duration: 100ms
services:
  writer:
    cmd: "sh stays.sh"
    history: true
    ready: {command: "test -e {{run.dir}}/wrote", timeout: 20s}
)");
  const auto ran = RunProgram(Run(dir, spec), {}, 60s);
  INFO(ran.out << ran.err);
  const fs::path run = OnlyRun(dir, "stays");
  CHECK(Result(run).at("ops").at("total") == 1);
  CHECK(Read(run / "logs/writer.history") == R"({"type":"invoke","f":"w"})");
  CHECK(Read(run / "history.jsonl").find(R"("f":"w")") != std::string::npos);
}

TEST_CASE("a service that writes its history while it starts is read, not blocked",
          "[experiments][runner][history]") {
  TempDir dir;
  // Two ops, then 2 MB of blank lines (skipped) before it says it is ready: more than its pipe
  // holds, so it becomes ready only if the runner reads the pipe while it waits.
  std::ofstream(dir.path + "/chatty.sh")
      << R"(printf '{"type":"invoke","f":"w"}\n{"type":"ok","f":"w"}\n')"
         "\n"
         "head -c 2000000 /dev/zero | tr '\\0' '\\n'\n"
         "echo ready >&2\n"
         "exec sleep 30\n";
  const std::string spec = WriteSpec(dir, R"(name: chatty
duration: 500ms
services:
  chatty: {cmd: "sh chatty.sh", history: true, ready: {log: "^ready$", timeout: 20s}}
)");
  const auto ran = RunProgram(Run(dir, spec), {}, 60s);
  INFO(ran.out << ran.err);
  CHECK(ran.exit_code == 0);
  const fs::path run = OnlyRun(dir, "chatty");
  CHECK(Result(run).at("ops").at("total") == 2);
  CHECK(fs::file_size(run / "logs/chatty.history") > 2000000);
}

TEST_CASE("run.dir is absolute and history.jsonl is there for finals, from any directory",
          "[experiments][runner][paths]") {
  TempDir dir;
  TempDir elsewhere;
  fs::create_directory(dir.path + "/specs");
  std::ofstream(dir.path + "/specs/ops.jsonl") << R"({"type":"invoke","f":"w"})"
                                                  "\n"
                                               << R"({"type":"ok","f":"w"})"
                                                  "\n";
  std::ofstream(dir.path + "/specs/spec.yaml") << R"(name: paths
workload:
  - client: "sh -c 'echo here > {{run.dir}}/marker; cat ops.jsonl'"
    history: true
invariants:
  - {final: "test -s {{run.dir}}/marker", name: marker}
  - {final: "grep -q '\"type\":\"ok\"' {{run.dir}}/history.jsonl", name: history}
)";
  // Started from another directory, with a relative spec path and runs directory; the client
  // and the finals run in the spec's directory.
  const auto ran = RunProgram(
      {"env", "-C", elsewhere.path, kFaultline, "run",
       fs::relative(dir.path + "/specs/spec.yaml", elsewhere.path).string(), "--runs-dir", "runs"},
      {}, 60s);
  INFO(ran.out << ran.err);
  CHECK(ran.exit_code == 0);
  CHECK_THAT(ran.out, Catch::Contains("run 1/1 seed ") && Catch::Contains(": pass"));
  CHECK_THAT(ran.out, Catch::Contains("  " + elsewhere.path + "/runs/paths/"));
}

TEST_CASE("a rule's templates are filled with the run's values before the shim gets it",
          "[experiments][runner][paths]") {
  TempDir dir;
  // The service writes two files; the rule, which names one by {{run.dir}}, refuses that one.
  // It is ready once it has tried both, so the finals see what it did.
  const std::string spec = WriteSpec(dir, R"yaml(name: filled
duration: 100ms
services:
  writer:
    cmd: "sh -c 'echo a > {{run.dir}}/allowed; echo b > {{run.dir}}/refused || touch {{run.dir}}/tried; sleep 300'"
    inject: ["open,openat,creat path={{run.dir}}/refused -> fail(EACCES)"]
    ready: {command: "test -e {{run.dir}}/tried -o -e {{run.dir}}/refused", timeout: 20s}
invariants:
  - {final: "test -s {{run.dir}}/allowed", name: the other file is written}
  - {final: "test -e {{run.dir}}/tried && ! test -e {{run.dir}}/refused", name: the rule refused}
)yaml");
  const auto ran = RunProgram(Run(dir, spec), {}, 60s);
  INFO(ran.out << ran.err);
  CHECK(ran.exit_code == 0);
  const fs::path run = OnlyRun(dir, "filled");
  // The run directory keeps the spec as written and as it ran.
  CHECK_THAT(Read(run / "spec.source.yaml"), Catch::Contains("path={{run.dir}}/refused"));
  CHECK_THAT(Read(run / "spec.yaml"), Catch::Contains("path=" + run.string() + "/refused"));
}

namespace {

// An executable shell script in dir.
void WriteScript(const TempDir& dir, const std::string& name, const std::string& body) {
  const std::string path = dir.path + "/" + name;
  std::ofstream(path) << "#!/bin/sh\n" << body;
  fs::permissions(path, fs::perms::owner_all);
}

// The objects of a JSON-lines file, in order.
std::vector<boost::json::object> JsonLines(const fs::path& file) {
  std::vector<boost::json::object> objects;
  std::istringstream in(Read(file));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) objects.push_back(boost::json::parse(line).as_object());
  }
  return objects;
}

// The operations of a run's history.jsonl, in order.
std::vector<boost::json::object> HistoryOps(const fs::path& run) {
  return JsonLines(run / "history.jsonl");
}

}  // namespace

TEST_CASE("a workload's client is paused like a service: its ops stop while the fault lasts",
          "[experiments][runner][clients]") {
  TempDir dir;
  // Two ops every 20 ms; 1.5 s of pause from op 4 on. The runner times each op as it reads
  // it, so the pause shows as a gap between two consecutive ops at least that long, less a
  // read tick: the pause can only lengthen it, however busy the machine.
  WriteScript(dir, "ops.sh",
              "for i in $(seq 60); do\n"
              "  printf '{\"type\":\"invoke\",\"f\":\"w\"}\\n{\"type\":\"ok\",\"f\":\"w\"}\\n'\n"
              "  sleep 0.02\n"
              "done\n");
  const std::string spec = WriteSpec(dir, R"yaml(name: paused
workload:
  - {name: writers, client: ./ops.sh, history: true}
faults:
  - {after: op 4, for: 1500ms, pause: writers-0}
)yaml");
  const auto ran = RunProgram(Run(dir, spec), {}, 60s);
  INFO(ran.out << ran.err);
  CHECK(ran.exit_code == 0);
  const fs::path run = OnlyRun(dir, "paused");
  const std::string events = Read(run / "events.jsonl");
  CHECK_THAT(events, Catch::Contains(R"("event":"fault_started")") &&
                         Catch::Contains("clients writers-0 -> pause"));
  // The process it signalled is a decision each way.
  CHECK_THAT(events,
             Catch::Contains(R"("event":"decision","fault":"f1","kind":"pause","family":"process",)"
                             R"("target":"writers-0","action":"pause","process":"writers-0"})") &&
                 Catch::Contains(R"("action":"resume","process":"writers-0"})"));
  const auto ops = HistoryOps(run);
  REQUIRE(ops.size() == 120);
  std::int64_t longest_gap = 0;
  for (std::size_t i = 1; i < ops.size(); ++i) {
    longest_gap =
        std::max(longest_gap, ops[i].at("time").as_int64() - ops[i - 1].at("time").as_int64());
  }
  CHECK(longest_gap >= 1'300'000'000);
}

TEST_CASE("a killed client stays down and ends its part of the run; a service feeds a history",
          "[experiments][runner][clients]") {
  TempDir dir;
  // writers-1 would write forever: only the kill lets the run end before its 60 s. The
  // service writes one failed op on stdout, which the no-errors checker must see.
  WriteScript(
      dir, "ledger.sh",
      "printf '{\"type\":\"invoke\",\"f\":\"audit\"}\\n{\"type\":\"fail\",\"f\":\"audit\"}\\n'\n"
      "exec sleep 300\n");
  WriteScript(dir, "writer.sh",
              "printf '{\"type\":\"invoke\",\"f\":\"w\"}\\n{\"type\":\"ok\",\"f\":\"w\"}\\n'\n"
              "if [ \"$FAULTLINE_CLIENT\" = 1 ]; then exec sleep 300; fi\n");
  const std::string spec = WriteSpec(dir, R"yaml(name: killed
duration: 60s
services:
  ledger: {cmd: ./ledger.sh, history: true}
workload:
  - {name: writers, client: ./writer.sh, concurrency: 2, history: true}
faults:
  - {at: 200ms, kill: writers-1}
invariants:
  - {checker: no-errors}
)yaml");
  const auto started = std::chrono::steady_clock::now();
  const auto ran = RunProgram(Run(dir, spec), {}, 60s);
  INFO(ran.out << ran.err);
  CHECK(ran.exit_code == 1);  // the service's failed op
  CHECK(std::chrono::steady_clock::now() - started < 30s);
  const fs::path run = OnlyRun(dir, "killed");
  const std::string events = Read(run / "events.jsonl");
  CHECK_THAT(events,
             Catch::Contains(R"("event":"client_exited","client":1,"code":-1,"killed":true)") ||
                 Catch::Contains(R"("event":"client_exited","client":1,"code":137,"killed":true)"));
  CHECK_THAT(events,
             Catch::Contains(R"("event":"client_exited","client":0,"code":0,"killed":false)"));
  CHECK_THAT(Read(run / "result.json"), Catch::Contains("audit"));
  // The service's ops have the process number after the clients' (0 and 1).
  int from_service = 0;
  for (const auto& op : HistoryOps(run)) {
    if (op.at("f").as_string() == "audit") {
      ++from_service;
      CHECK(op.at("process").as_int64() == 2);
    }
  }
  CHECK(from_service == 2);
}

TEST_CASE("a service that crashes mid-run is recorded and fails the run", "[experiments][runner]") {
  TempDir dir;
  const std::string spec = WriteSpec(dir, R"(name: crash
duration: 3s
services:
  flaky: sh -c 'sleep 0.5; echo going down; exit 3'
)");
  const auto ran = RunProgram(Run(dir, spec), {}, 60s);
  INFO(ran.out << ran.err);
  CHECK(ran.exit_code == 1);
  CHECK_THAT(ran.out, Catch::Contains("violated service flaky stays up: service flaky exited "
                                      "with code 3"));
  const fs::path run = OnlyRun(dir, "crash");
  CHECK(Result(run).at("verdict") == "fail");
  CHECK_THAT(Read(run / "events.jsonl"),
             Catch::Contains(R"("event":"service_exited","service":"flaky","code":3)"));
  CHECK_THAT(Read(run / "logs/flaky.log"), Catch::Contains("going down"));
}

TEST_CASE("a service that never becomes ready is a harness error that says why",
          "[experiments][runner]") {
  TempDir dir;
  const std::string spec = WriteSpec(dir, R"(name: stuck
duration: 10s
services:
  mute:
    cmd: sleep 60
    ready: {tcp: mute, timeout: 500ms}
)");
  const auto start = std::chrono::steady_clock::now();
  const auto ran = RunProgram(Run(dir, spec), {}, 60s);
  INFO(ran.out << ran.err);
  CHECK(ran.exit_code == 3);
  CHECK_THAT(ran.out,
             Catch::Contains("error: service mute: not ready after 500ms (tcp 127.0.0.1:"));
  CHECK(std::chrono::steady_clock::now() - start < 20s);
  CHECK(Result(OnlyRun(dir, "stuck")).at("verdict") == "error");
}

TEST_CASE("replay runs the same fault schedule and reaches the same verdict",
          "[experiments][runner]") {
  TempDir dir;
  // The nemesis kills the service at a time the seed decides, and it stays down: the probe
  // fails from then on. Which time it is differs by seed, and replay must match it.
  const std::string spec = WriteSpec(dir, R"(name: doomed
duration: 4s
services:
  web:
    cmd: python3 -m http.server {{port.web}} --bind 127.0.0.1
    ready: {tcp: web, timeout: 20s}
faults:
  - {nemesis: random, every: 500ms..1500ms, for: 10s, kinds: [pause], max_active: 1}
invariants:
  - {probe: "curl -sf --max-time 0.3 http://127.0.0.1:{{port.web}}/", every: 200ms, timeout: 1s}
)");
  const auto first = RunProgram(Run(dir, spec, {"--seed", "77"}), {}, 60s);
  INFO(first.out << first.err);
  REQUIRE(first.exit_code == 1);
  const fs::path original = OnlyRun(dir, "doomed");
  const auto replayed = RunProgram({kFaultline, "replay", original.string()}, {}, 60s);
  INFO(replayed.out << replayed.err);
  CHECK(replayed.exit_code == 1);
  CHECK_THAT(replayed.out, Catch::Contains("seed 77: fail"));

  // Both runs started the same faults, by id and description.
  auto faults = [](const fs::path& run) {
    std::vector<std::string> lines;
    std::istringstream events(Read(run / "events.jsonl"));
    for (std::string line; std::getline(events, line);) {
      const auto event = boost::json::parse(line).as_object();
      if (event.at("event") == "fault_started") {
        lines.emplace_back(event.at("description").as_string());
      }
    }
    return lines;
  };
  const std::vector<fs::path> runs = Runs(dir, "doomed");
  REQUIRE(runs.size() == 2);
  const fs::path again = runs[0] == original ? runs[1] : runs[0];
  CHECK(!faults(original).empty());
  CHECK(faults(original) == faults(again));
}

namespace {

// The spec of the orphan tests: two services with children of their own, one paused from
// the start, and a run long enough to be stopped in the middle.
constexpr const char* kOrphansSpec = R"(name: orphans
duration: 60s
services:
  forker: sh -c 'sleep 300 & sleep 300 & wait'
  frozen: sh -c 'sleep 300 & wait'
faults:
  - {at: 0s, pause: frozen}
)";

// The pids of the services an event log says were started (each leads its process group).
std::vector<int> StartedPids(const std::string& events) {
  static const RE2 started(R"("event":"service_started","service":"[a-z]+","pid":([0-9]+))");
  std::vector<int> pids;
  re2::StringPiece rest(events);
  for (int pid = 0; RE2::FindAndConsume(&rest, started, &pid);) pids.push_back(pid);
  return pids;
}

// Waits until both services of kOrphansSpec run and the pause is applied; their process
// groups.
std::vector<int> WaitForOrphans(const TempDir& dir) {
  std::vector<int> groups;
  WaitUntil(
      [&] {
        // runs/orphans/ is made before the run directory in it: wait for both.
        const std::vector<fs::path> runs = Runs(dir, "orphans");
        if (runs.size() != 1) return false;
        const std::string events = Read(runs.front() / "events.jsonl");
        if (events.find("fault_started") == std::string::npos) return false;
        groups = StartedPids(events);
        return groups.size() >= 2;
      },
      15s);
  return groups;
}

}  // namespace

TEST_CASE(
    "Ctrl-C or SIGTERM ends a run cleanly: faults reverted, services stopped, verdict "
    "error",
    "[experiments][runner][reaper]") {
  const int signal = GENERATE(SIGINT, SIGTERM);
  CAPTURE(signal);
  TempDir dir;
  const std::string spec = WriteSpec(dir, kOrphansSpec);
  Background runner(Run(dir, spec, {"-q"}));
  const std::vector<int> groups = WaitForOrphans(dir);
  REQUIRE(groups.size() == 2);

  ::kill(runner.pid(), signal);
  const int code = runner.Wait(30s);
  INFO(runner.Output());
  CHECK(code == 3);
  for (int group : groups) {
    CAPTURE(group);
    CHECK(WaitUntil([&] { return GroupGone(group); }, 10s));  // the cleanup, polled
  }
  const fs::path run = OnlyRun(dir, "orphans");
  const auto result = Result(run);
  CHECK(result.at("verdict") == "error");
  CHECK_THAT(std::string(result.at("error").as_string()), Catch::Contains("interrupted"));
  const std::string events = Read(run / "events.jsonl");
  CHECK_THAT(events, Catch::Contains(R"("event":"fault_ended","fault":"f1")"));
  CHECK_THAT(events, Catch::Contains(R"("event":"service_stopped","service":"frozen")"));
  CHECK_THAT(events, Catch::Contains(R"("event":"run_ended","verdict":"error")"));
  CHECK(fs::exists(run / "report.html"));
}

TEST_CASE("a runner killed with SIGKILL leaves no process of the experiment behind",
          "[experiments][runner][reaper]") {
  TempDir dir;
  const std::string spec = WriteSpec(dir, kOrphansSpec);
  Background runner(Run(dir, spec, {"-q"}));
  const std::vector<int> groups = WaitForOrphans(dir);
  REQUIRE(groups.size() == 2);
  for (int group : groups) CHECK(::kill(-group, 0) == 0);

  ::kill(runner.pid(), SIGKILL);
  for (int group : groups) {
    CAPTURE(group);
    CHECK(WaitUntil([&] { return GroupGone(group); }, 10s));  // the cleanup, polled
  }
  // The killed run has no result.json, but its report can be written from its events.
  const fs::path run = OnlyRun(dir, "orphans");
  CHECK(!fs::exists(run / "result.json"));
  const auto report = RunProgram({kFaultline, "report", run.string()});
  INFO(report.out << report.err);
  CHECK(report.exit_code == 0);
  CHECK(report.out == (run / "report.html").string() + "\n");
  CHECK_THAT(Read(run / "report.html"), Catch::Contains("<title>orphans ") &&
                                            Catch::Contains(": incomplete</title>") &&
                                            Catch::Contains("f1 at 0s until the end: service ") &&
                                            Catch::Contains(" -&gt; pause"));
  const auto not_a_run = RunProgram({kFaultline, "report", dir.path});
  CHECK(not_a_run.exit_code == 2);
  CHECK_THAT(not_a_run.err, Catch::Contains("is not a run directory"));
}

TEST_CASE("a runner killed with SIGKILL leaves no rule table behind",
          "[experiments][runner][reaper][tables]") {
  TempDir dir;
  TempDir runtime;  // the runner's $XDG_RUNTIME_DIR, where the shim's tables live
  const std::string spec = WriteSpec(dir, R"(name: tables
duration: 60s
services:
  agent: {cmd: "sh -c 'sleep 300 & wait'", inject: true}
  other: {cmd: "sleep 300", inject: true}
)");
  const auto tables = [&] {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(runtime.path)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  };
  Background runner(Run(dir, spec, {"-q"}), {"XDG_RUNTIME_DIR=" + runtime.path});
  std::vector<int> groups;
  const auto started = [&] {
    std::error_code ec;
    const fs::directory_iterator run(dir.path + "/runs/tables", ec);
    if (ec || run == fs::directory_iterator()) return false;
    const std::string events = Read(run->path() / "events.jsonl");
    groups = StartedPids(events);
    return groups.size() == 2;
  };
  REQUIRE(WaitUntil(started, 60s));
  const std::vector<std::string> before = tables();
  REQUIRE(before.size() == 2);
  for (const std::string& name : before) {
    CHECK_THAT(name, Catch::StartsWith("faultline-inject." + std::to_string(runner.pid()) + "."));
  }

  ::kill(runner.pid(), SIGKILL);
  REQUIRE(runner.Wait(20s) == 128 + SIGKILL);
  CHECK(WaitUntil([&] { return tables().empty(); }, 20s));
  for (int group : groups) CHECK(WaitUntil([&] { return GroupGone(group); }, 20s));
}

TEST_CASE("the plan race is caught in the buggy agent and not in the fixed one",
          "[experiments][runner][example]") {
  // Run as the README shows it, from another directory, with nothing set in the environment.
  TempDir dir;
  const std::string examples = EXAMPLES_SOURCE;
  const auto run_example = [&](const std::string& spec) {
    return RunProgram({"env", "-C", dir.path, kFaultline, "run", examples + "/" + spec, "--seed",
                       "1", "--runs-dir", dir.path, "-q"},
                      {}, 60s);
  };
  const auto buggy = run_example("buggy.yaml");
  INFO(buggy.out << buggy.err);
  CHECK(buggy.exit_code == 1);
  CHECK_THAT(buggy.out, Catch::Contains("violated every plan taken up is applied") &&
                            Catch::Contains("were taken up but not applied"));
  const fs::path run = fs::directory_iterator(dir.path + "/plan-race-buggy")->path();
  CHECK_THAT(buggy.out, Catch::Contains("  report: " + (run / "report.html").string()));
  CHECK_THAT(Read(run / "report.html"),
             Catch::Contains("<div class=\"violation\"><b>every plan taken up is applied</b>") &&
                 Catch::Contains("service agent point:plan.apply -&gt; delay(500ms)"));
  const auto fixed = run_example("fixed.yaml");
  INFO(fixed.out << fixed.err);
  CHECK(fixed.exit_code == 0);
}

TEST_CASE("the web example in the docs runs to a verdict", "[experiments][runner][example]") {
  // Its verdict depends on timing (an availability bound under random faults); what must
  // hold is that it runs: valid, services ready, a complete run directory.
  TempDir dir;
  const std::string example = std::string(EXAMPLES_SOURCE) + "/../web";
  CHECK(fs::exists(example + "/web.yaml"));
  const auto ran = RunProgram({"sh", "-c",
                               "cd '" + example + "' && exec '" + kFaultline +
                                   "' run web.yaml --seed 3 -q --runs-dir '" + dir.path + "'"},
                              {}, 60s);
  INFO(ran.out << ran.err);
  CHECK((ran.exit_code == 0 || ran.exit_code == 1));
  const fs::path run = fs::directory_iterator(dir.path + "/web-availability")->path();
  for (const char* file : {"result.json", "history.jsonl", "report.html", "logs/web.log"}) {
    CAPTURE(file);
    CHECK(fs::exists(run / file));
  }
  const auto result = Result(run);
  CHECK(result.at("ops").at("total").as_int64() > 20);
  CHECK(!result.at("faults_applied").as_array().empty());
}

namespace {

// Each label of the series in a metrics.prom (text exposition), with every value it takes,
// and the number of series.
struct SeriesLabels {
  std::map<std::string, std::set<std::string>> values;
  std::map<std::string, std::set<std::string>> metrics_with;  // label -> metric names
  std::size_t series = 0;
};

SeriesLabels ReadSeries(const std::string& exposition) {
  SeriesLabels read;
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    ++read.series;
    const auto open = line.find('{');
    const auto close = line.rfind('}');
    if (open == std::string::npos || close == std::string::npos) continue;
    const std::string metric = line.substr(0, open);
    // Label values here never hold '"' or ',' (names, kinds, numbers).
    std::istringstream labels(line.substr(open + 1, close - open - 1));
    for (std::string pair; std::getline(labels, pair, ',');) {
      const auto eq = pair.find('=');
      REQUIRE(eq != std::string::npos);
      const std::string name = pair.substr(0, eq);
      read.values[name].insert(pair.substr(eq + 2, pair.size() - eq - 3));
      read.metrics_with[name].insert(metric);
    }
  }
  return read;
}

}  // namespace

TEST_CASE("a nemesis run's metrics are labelled from bounded sets, however many faults fire",
          "[experiments][runner][metrics]") {
  TempDir dir;
  // A fault every 100 ms for 60 s: some six hundred faults, each with an id of its own, that
  // no label may carry.
  const std::string spec = WriteSpec(dir, R"(name: bounded
duration: 60s
services:
  web:
    cmd: python3 -m http.server {{port.web}} --bind 127.0.0.1
    ready: {http: "http://127.0.0.1:{{port.web}}/", timeout: 20s}
proxies:
  front: {upstream: web}
workload:
  - {client: "sh client.sh http://{{proxy.front}}/ 2", ops: 100000, history: true}
faults:
  - {nemesis: random, every: 100ms, for: 50ms, kinds: [latency, reset_peer, pause, timeout]}
invariants:
  - {checker: availability, min: 1%, name: some requests succeed}
)");
  const auto ran = RunProgram(Run(dir, spec, {"--seed", "3"}), {}, 180s);
  INFO(ran.out << ran.err);
  REQUIRE(ran.exit_code != 2);
  const fs::path run = OnlyRun(dir, "bounded");
  const std::string events = Read(run / "events.jsonl");
  std::size_t faults = 0;
  for (auto at = events.find("\"fault_started\""); at != std::string::npos;
       at = events.find("\"fault_started\"", at + 1)) {
    ++faults;
  }
  CHECK(faults >= 300);

  const SeriesLabels read = ReadSeries(Read(run / "metrics.prom"));
  INFO(Read(run / "metrics.prom"));
  const std::map<std::string, std::set<std::string>> bounded = {
      {"experiment", {"bounded"}},
      {"kind", {"latency", "reset_peer", "pause", "timeout"}},
      {"target", {"web", "front"}},
      {"proxy", {"front"}},
      {"direction", {"upstream", "downstream"}},
      {"f", {"get"}},
      {"outcome", {"ok", "fail", "info"}},
      {"invariant", {"some requests succeed"}},
      {"action",
       {"delay", "drop", "duplicate", "shed", "reorder", "hold", "release", "point", "close",
        "reset", "refuse", "accept_delay", "connect_delay", "pause", "resume"}},
  };
  for (const auto& [label, values] : read.values) {
    CAPTURE(label);
    if (label == "le" || label == "quantile") continue;  // a histogram's fixed buckets
    if (label == "run_id" || label == "seed") {
      // One run, one value: only the run's info series names it (DESIGN: faultline_run_info).
      CHECK(read.metrics_with.at(label) == std::set<std::string>{"faultline_run_info"});
      CHECK(values.size() == 1);
      continue;
    }
    REQUIRE(bounded.contains(label));
    for (const auto& value : values) {
      CAPTURE(value);
      CHECK(bounded.at(label).contains(value));
    }
  }
  // However many faults fired, the series are a product of those sets.
  CHECK(read.series < 200);
}

namespace {

std::vector<boost::json::object> Events(const fs::path& run) {
  return JsonLines(run / "events.jsonl");
}

// The value of the first sample of `series` (name and labels, as written) in a metrics file.
double Sample(const std::string& metrics, const std::string& series) {
  const auto at = metrics.find(series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(metrics.substr(at + series.size() + 1));
}

}  // namespace

TEST_CASE("what the proxy's and the shim's faults decide is in events.jsonl, bounded per second",
          "[experiments][runner][decisions]") {
  TempDir dir;
  // f1 delays each line the client sends through the proxy; f2 fails the syncer's fsyncs,
  // one every 10 ms, for a second. Both decide far more than 20 times in a second.
  WriteScript(dir, "syncer.py", R"(import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT)
while True:
    try:
        os.fsync(fd)
    except OSError:
        pass
    time.sleep(0.01)
)");
  const std::string spec = WriteSpec(dir, R"yaml(name: decided
services:
  web:
    cmd: python3 -m http.server {{port.web}} --bind 127.0.0.1
    ready: {http: "http://127.0.0.1:{{port.web}}/", timeout: 20s}
  syncer:
    cmd: python3 syncer.py {{run.dir}}/synced
    inject: true
proxies:
  front: {upstream: web}
workload:
  - {client: "sh client.sh http://{{proxy.front}}/ 5", ops: 100000, duration: 1500ms, history: true}
faults:
  - {at: 0s, proxy: front, toxic: {type: delay, delay: 1, framing: line, stream: upstream}}
  - {at: 0s, for: 1s, service: syncer, rule: "fsync -> fail(EIO)"}
)yaml");
  const auto ran = RunProgram(Run(dir, spec, {"--seed", "5"}), {}, 90s);
  INFO(ran.out << ran.err);
  REQUIRE(ran.exit_code == 0);
  const fs::path run = OnlyRun(dir, "decided");

  // Per (fault, action): decisions in full, decisions summed up, full ones per second.
  std::map<std::string, std::uint64_t> full;
  std::map<std::string, std::uint64_t> summed;
  std::map<std::pair<std::string, long>, std::uint64_t> full_per_second;
  for (const auto& event : Events(run)) {
    const std::string name(event.at("event").as_string());
    if (name != "decision" && name != "decisions_aggregated") continue;
    const std::string key = std::string(event.at("fault").as_string()) + " " +
                            std::string(event.at("action").as_string());
    const double time = event.at("time").to_number<double>();
    CHECK(time >= 0);
    if (name == "decisions_aggregated") {
      summed[key] += event.at("count").to_number<std::uint64_t>();
      CHECK(event.at("count").to_number<std::uint64_t>() >= 1);
      CHECK(event.at("to").to_number<double>() == event.at("from").to_number<double>() + 1);
      continue;
    }
    ++full[key];
    ++full_per_second[{key, static_cast<long>(time)}];
    if (key == "f1 delay") {
      CHECK(event.at("family") == "proxy");
      CHECK(event.at("kind") == "delay");
      CHECK(event.at("target") == "front");
      CHECK(event.at("direction") == "upstream");
      CHECK(event.at("frame").to_number<std::uint64_t>() >= 1);
    } else if (key == "f2 fail") {
      CHECK(event.at("family") == "shim");
      CHECK(event.at("kind") == "rule");
      CHECK(event.at("target") == "syncer");
      CHECK(event.at("call") == "fsync");
      CHECK(event.at("value").to_number<int>() == EIO);
      CHECK(event.at("pid").to_number<int>() > 0);
    } else {
      FAIL("a decision of no fault of the spec: " << key);
    }
  }
  // 1.5 s of requests of several lines each, and some fifty fsyncs in the second f2 lasts.
  CHECK(full["f1 delay"] + summed["f1 delay"] >= 30);
  CHECK(full["f2 fail"] + summed["f2 fail"] >= 20);
  CHECK(summed["f1 delay"] + summed["f2 fail"] > 0);
  // Twenty in full a second, and the last of the second after its count.
  for (const auto& [second, count] : full_per_second) {
    CAPTURE(second.first, second.second);
    CHECK(count <= 21);
  }
  // The metric counts every decision, summed up or not.
  const std::string metrics = Read(run / "metrics.prom");
  INFO(metrics);
  CHECK(
      Sample(
          metrics,
          R"(faultline_fault_decisions_total{action="delay",experiment="decided",kind="delay",target="front"})") ==
      static_cast<double>(full["f1 delay"] + summed["f1 delay"]));
  CHECK(
      Sample(
          metrics,
          R"(faultline_fault_decisions_total{action="fail",experiment="decided",kind="rule",target="syncer"})") ==
      static_cast<double>(full["f2 fail"] + summed["f2 fail"]));
}

TEST_CASE("replay says whether the replay's faults decided what the original's did",
          "[experiments][runner][decisions]") {
  TempDir dir;
  // Thirty fsyncs before the service is ready, 30% of them failed: which ones follows from
  // the seed alone, so a replay fails the same ones.
  WriteScript(dir, "syncer.py", R"(import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT)
for _ in range(30):
    try:
        os.fsync(fd)
    except OSError:
        pass
print("synced", flush=True)
time.sleep(300)
)");
  const std::string spec = WriteSpec(dir, R"yaml(name: resync
duration: 100ms
services:
  syncer:
    cmd: python3 syncer.py {{run.dir}}/synced
    inject: ["fsync -> 30%fail(EIO)"]
    ready: {log: synced, timeout: 20s}
)yaml");
  const auto first = RunProgram(Run(dir, spec, {"--seed", "9"}), {}, 60s);
  INFO(first.out << first.err);
  REQUIRE(first.exit_code == 0);
  const fs::path original = OnlyRun(dir, "resync");
  std::size_t failed = 0;
  for (const auto& event : Events(original)) failed += event.at("event") == "decision";
  CHECK(failed >= 3);
  CHECK(failed <= 20);

  const auto same = RunProgram({kFaultline, "replay", original.string(), "-q"}, {}, 60s);
  INFO(same.out << same.err);
  CHECK(same.exit_code == 0);
  CHECK_THAT(same.out, Catch::Contains("decisions: same decisions (" + std::to_string(failed) +
                                       " decisions of 1 fault)"));

  // The spec the replay reads, made to fail more often: the replay decides differently.
  const fs::path source = original / "spec.source.yaml";
  std::string text = Read(source);
  text.replace(text.find("30%"), 3, "90%");
  std::ofstream(source) << text;
  const auto differs = RunProgram({kFaultline, "replay", original.string(), "-q"}, {}, 60s);
  INFO(differs.out << differs.err);
  CHECK(differs.exit_code == 0);
  CHECK_THAT(differs.out,
             Catch::Contains("decisions: first difference: fault r1 (fail on syncer): " +
                             std::to_string(failed) + " decision(s) in the original"));
}

TEST_CASE("a proxy hold released by a shim rule forces their order across families, every run",
          "[experiments][runner][holds]") {
  TempDir dir;
  // The client sends GO at once; the agent marks a file 300 ms later, then passes its named
  // point. The proxy holds GO until the agent's rule `marked` has acted at that point, so the
  // sink always finds the mark when GO arrives. Without the hold, GO would come first.
  WriteScript(dir, "sink.py", R"(import os, socket, sys
port, out, marker = int(sys.argv[1]), sys.argv[2], sys.argv[3]
server = socket.create_server(("127.0.0.1", port))
while True:
    conn, _ = server.accept()
    for line in conn.makefile("r"):
        if line.startswith("GO"):
            with open(out, "a") as f:
                f.write("GO marker=%s\n" % ("yes" if os.path.exists(marker) else "no"))
            conn.sendall(b"ok\n")
)");
  WriteScript(dir, "agent.py", R"(import ctypes, sys, time
time.sleep(0.3)
open(sys.argv[1], "w").close()
ctypes.CDLL(None).faultline_point(b"marked")
print("marked", flush=True)
time.sleep(300)
)");
  WriteScript(dir, "go.py", R"(import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
print('{"type":"invoke","f":"go"}', flush=True)
with socket.create_connection((host, int(port))) as conn:
    conn.sendall(b"GO\n")
    reply = conn.makefile("r").readline()
print('{"type":"%s","f":"go"}' % ("ok" if reply == "ok\n" else "fail"), flush=True)
)");
  const std::string spec = WriteSpec(dir, R"yaml(name: ordered
services:
  sink:
    cmd: python3 sink.py {{port.sink}} {{run.dir}}/order {{run.dir}}/marker
    ready: {tcp: sink, timeout: 20s}
  agent:
    cmd: python3 agent.py {{run.dir}}/marker
    inject: ["rule marked: point:marked -> delay(1ms)"]
proxies:
  front:
    upstream: sink
    toxics:
      - {type: hold, name: gate, stream: upstream, framing: line, match: "^GO", release_on: agent/marked, timeout: 20s}
workload:
  - {client: "python3 go.py {{proxy.front}}", ops: 1, history: true}
invariants:
  - {checker: no-errors}
  - {final: "grep -qx 'GO marker=yes' {{run.dir}}/order", name: GO comes after the mark}
)yaml");
  const auto ran = RunProgram(Run(dir, spec, {"--runs", "20", "--seed", "1"}), {}, 300s);
  INFO(ran.out << ran.err);
  CHECK(ran.exit_code == 0);
  CHECK_THAT(ran.out, Catch::Contains("20 passed, 0 failed of 20 runs"));
  // Each run's hold went on because the agent's point was reached, not at its timeout.
  const std::vector<fs::path> runs = Runs(dir, "ordered");
  REQUIRE(runs.size() == 20);
  for (const fs::path& run : runs) {
    CAPTURE(run);
    CHECK_THAT(Read(run / "events.jsonl"),
               Catch::Contains(R"("action":"release","connection":1,"direction":"upstream",)"
                               R"("frame":1,"detail":"point agent/marked reached"})"));
  }
}

TEST_CASE("a shim hold released by a proxy point forces their order across families, every run",
          "[experiments][runner][holds]") {
  TempDir dir;
  // The agent reaches its point at once and then acts; the client sends GO 300 ms later.
  // The agent's rule parks it until=front/seen, a point toxic on the sink's reply, which
  // the sink sends only after it has recorded GO: so the agent always acts after GO.
  // Without the hold it would act first.
  WriteScript(dir, "sink.py", R"(import socket, sys
port, out = int(sys.argv[1]), sys.argv[2]
server = socket.create_server(("127.0.0.1", port))
while True:
    conn, _ = server.accept()
    for line in conn.makefile("r"):
        if line.startswith("GO"):
            open(out, "w").close()
            conn.sendall(b"ok\n")
)");
  WriteScript(dir, "agent.py", R"(import ctypes, os, sys, time
ctypes.CDLL(None).faultline_point(b"act")
with open(sys.argv[2], "w") as f:
    f.write("acted after GO: %s\n" % ("yes" if os.path.exists(sys.argv[1]) else "no"))
time.sleep(300)
)");
  WriteScript(dir, "go.py", R"(import os, socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
time.sleep(0.3)
print('{"type":"invoke","f":"go"}', flush=True)
with socket.create_connection((host, int(port))) as conn:
    conn.sendall(b"GO\n")
    reply = conn.makefile("r").readline()
deadline = time.monotonic() + 20
while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
    time.sleep(0.01)  # polls for the agent's file: the run ends once the agent has acted
print('{"type":"%s","f":"go"}' % ("ok" if reply == "ok\n" else "fail"), flush=True)
)");
  const std::string spec = WriteSpec(dir, R"yaml(name: shim-ordered
services:
  sink:
    cmd: python3 sink.py {{port.sink}} {{run.dir}}/go
    ready: {tcp: sink, timeout: 20s}
  agent:
    cmd: python3 agent.py {{run.dir}}/go {{run.dir}}/acted
    inject: ["rule parked: point:act -> hold(act) timeout=20s until=front/seen"]
proxies:
  front:
    upstream: sink
    toxics:
      - {type: point, name: seen, stream: downstream, framing: line, match: "^ok"}
workload:
  - {client: "python3 go.py {{proxy.front}} {{run.dir}}/acted", ops: 1, history: true}
invariants:
  - {checker: no-errors}
  - {final: "grep -qx 'acted after GO: yes' {{run.dir}}/acted", name: the agent acts after GO}
)yaml");
  const auto ran = RunProgram(Run(dir, spec, {"--runs", "20", "--seed", "1"}), {}, 300s);
  INFO(ran.out << ran.err);
  CHECK(ran.exit_code == 0);
  CHECK_THAT(ran.out, Catch::Contains("20 passed, 0 failed of 20 runs"));
  // Each run's agent went on because the proxy's point was reached, not at its timeout.
  const std::vector<fs::path> runs = Runs(dir, "shim-ordered");
  REQUIRE(runs.size() == 20);
  for (const fs::path& run : runs) {
    CAPTURE(run);
    const std::string events = Read(run / "events.jsonl");
    CHECK_THAT(events, Catch::Contains(R"("service":"agent","hold":"act",)"
                                       R"("why":"point front/seen reached")"));
    CHECK_THAT(events, Catch::Contains(R"("family":"shim","target":"agent","action":"release")"));
  }
}
