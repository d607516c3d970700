// `faultline validate`: exit codes and what it prints, in-process.

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "app.h"
#include "cli/captured.h"
#include "support/run.h"

using namespace faultline;
using faultline::testing::Captured;

namespace {

Captured Validate(std::vector<std::string> specs) {
  specs.insert(specs.begin(), "validate");
  return testing::Faultline(specs);
}

}  // namespace

TEST_CASE("faultline validate lists every mistake with file:line:column and exits 2",
          "[cli][validate]") {
  testing::TempDir dir;
  const std::string bad = dir.path + "/bad.yaml";
  std::ofstream(bad) << "name: demo\n"
                        "services:\n"
                        "  store:\n"
                        "    cmd: ./kvstore --port {{port.store}}\n"
                        "    readyy: {tcp: store}\n"
                        "faults:\n"
                        "  - {at: 1s, pause: stor}\n";
  const Captured ran = Validate({bad});
  CHECK(ran.exit_code == cli::kExitBadInput);
  CHECK(ran.err ==
        bad + ":5:5: unknown key 'readyy' in service 'store' (did you mean ready?)\n" + bad +
            ":7:21: pause: no service, workload or client 'stor' (did you mean store?)\n" + bad +
            ": 2 errors\n");
}

TEST_CASE("faultline validate summarises a valid spec and exits 0", "[cli][validate]") {
  testing::TempDir dir;
  const std::string good = dir.path + "/good.yaml";
  std::ofstream(good) << "name: demo\n"
                         "duration: 10s\n"
                         "services:\n"
                         "  store: ./kvstore --port {{port.store}}\n"
                         "proxies: {p: {upstream: store}}\n";
  const Captured ran = Validate({good});
  CHECK(ran.exit_code == cli::kExitOk);
  CHECK(ran.out ==
        good + ": ok: experiment demo, 1 service, 1 proxy, 0 clients, 0 faults, 0 invariants\n");
  CHECK(Validate({dir.path + "/missing.yaml"}).exit_code == cli::kExitBadInput);
}

TEST_CASE("faultline validate warns of a toxic's bare-number duration and still exits 0",
          "[cli][validate]") {
  testing::TempDir dir;
  const std::string spec = dir.path + "/bare.yaml";
  std::ofstream(spec) << "name: demo\n"
                         "duration: 10s\n"
                         "services:\n"
                         "  store: ./kvstore --port {{port.store}}\n"
                         "proxies:\n"
                         "  p: {upstream: store, toxics: [{type: latency, latency: 800}]}\n";
  const Captured ran = Validate({spec});
  CHECK(ran.exit_code == cli::kExitOk);
  CHECK(ran.err == spec +
                       ":6:58: warning: latency: a bare number is taken as milliseconds; write "
                       "`latency: 800ms` (bare numbers for durations in a spec are deprecated)\n");
}

namespace {

// The lines of `text` that start with `prefix`.
int CountLines(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  int count = 0;
  for (std::string line; std::getline(in, line);) count += line.starts_with(prefix) ? 1 : 0;
  return count;
}

}  // namespace

TEST_CASE("run --dry-run fills the templates and plans only as far as the run can last",
          "[cli][dry-run]") {
  testing::TempDir dir;
  const std::string bounded = dir.path + "/bounded.yaml";
  std::ofstream(bounded)
      << "name: bounded\n"
         "services:\n"
         "  store:\n"
         "    cmd: ./kvstore --port {{port.store}}\n"
         "    inject: [\"send port={{port.store}} -> delay(400ms)\"]\n"
         "workload:\n"
         "  - {client: \"./client {{run.dir}} {{seed}}\", ops: 10, duration: 3s}\n"
         "faults:\n"
         "  - {nemesis: random, every: 1s, for: 100ms, kinds: [pause]}\n";
  const Captured ran = testing::Faultline(
      {"run", bounded, "--dry-run", "--seed", "7", "--runs-dir", dir.path + "/runs"});
  INFO(ran.out << ran.err);
  CHECK(ran.exit_code == cli::kExitOk);
  CHECK(ran.out.find("{{") == std::string::npos);
  CHECK_THAT(ran.out, Catch::Contains("  client1: 1 x ./client " + dir.path +
                                      "/runs/bounded/<start>-7 7, 10 ops, for 3s\n"));
  // The port the command was given is the one its rule names.
  const std::string command = "  store: ./kvstore --port ";
  const auto at = ran.out.find(command);
  REQUIRE(at != std::string::npos);
  const std::string port = ran.out.substr(
      at + command.size(), ran.out.find(' ', at + command.size()) - at - command.size());
  CHECK(std::stoi(port) > 0);
  CHECK_THAT(ran.out, Catch::Contains("    rule send port=" + port + " -> delay(400ms)\n"));
  CHECK_THAT(ran.out, Catch::Contains("port.store=" + port + "\n"));
  // A workload that lasts 3 s bounds a run that has no duration of its own.
  CHECK_THAT(ran.out, Catch::Contains("faults, over the run's 3s:\n"));
  const int bounded_faults = CountLines(ran.out, "  n1.");
  CHECK(bounded_faults >= 1);
  CHECK(bounded_faults <= 3);

  // Clients bound only by ops: the run is open-ended, and the plan shows its first minute.
  const std::string open = dir.path + "/open.yaml";
  std::ofstream(open) << "name: open\n"
                         "services: {store: ./kvstore}\n"
                         "workload: [{client: ./client, ops: 10}]\n"
                         "faults:\n"
                         "  - {nemesis: random, every: 1s, for: 100ms, kinds: [pause]}\n";
  const Captured open_ran = testing::Faultline({"run", open, "--dry-run", "--seed", "7"});
  INFO(open_ran.out << open_ran.err);
  CHECK(open_ran.exit_code == cli::kExitOk);
  CHECK_THAT(open_ran.out,
             Catch::Contains("the run is open-ended") && Catch::Contains("its first minute:\n"));
  const int open_faults = CountLines(open_ran.out, "  n1.");
  CHECK(open_faults >= 50);
  CHECK(open_faults <= 60);
}
