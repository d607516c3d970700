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
  CHECK(ran.err == bad + ":5:5: unknown key 'readyy' in service 'store' (did you mean ready?)\n" +
                       bad + ":7:21: pause: no service 'stor' (did you mean store?)\n" + bad +
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
