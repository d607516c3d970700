// What `faultline` says about its commands: an unknown one is named, with the commands there
// are, at every level that has commands; a missing one shows the usage. In-process.

#include <catch2/catch.hpp>

#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "app.h"
#include "cli/captured.h"

using namespace faultline;
using faultline::testing::Captured;
using faultline::testing::Faultline;

TEST_CASE("an unknown command is named, with the commands there are", "[cli][commands]") {
  const auto agent = Faultline({"agent"});
  INFO(agent.err);
  CHECK(agent.exit_code == 2);
  CHECK_THAT(agent.err, Catch::StartsWith("faultline: unknown command 'agent'\nCommands:\n"));
  for (const char* command : {"proxy", "ctl", "inject", "validate", "run", "replay", "report"}) {
    CHECK_THAT(agent.err, Catch::Contains(std::string("\n  ") + command + " "));
  }
  CHECK_THAT(agent.err, Catch::EndsWith("Run 'faultline --help' for more.\n"));
  CHECK_THAT(agent.err, !Catch::Contains("subcommand is required"));

  const auto typo = Faultline({"rnu", "spec.yaml"});
  CHECK(typo.exit_code == 2);
  CHECK_THAT(typo.err, Catch::StartsWith("faultline: unknown command 'rnu' (did you mean run?)\n"));
  // Before a known command too: nothing runs.
  const auto before = Faultline({"agent", "validate", "no-such-spec.yaml"});
  CHECK(before.exit_code == 2);
  CHECK_THAT(before.err, Catch::StartsWith("faultline: unknown command 'agent'\n"));
}

TEST_CASE("no command at all: a subcommand is required, and the usage", "[cli][commands]") {
  const auto none = Faultline({});
  CHECK(none.exit_code == 2);
  CHECK_THAT(none.err, Catch::StartsWith("faultline: a subcommand is required\n"));
  CHECK_THAT(none.err, Catch::Contains("Usage: faultline") && Catch::Contains("inject"));
  const auto ctl = Faultline({"ctl"});
  CHECK(ctl.exit_code == 2);
  CHECK_THAT(ctl.err, Catch::StartsWith("faultline ctl: a subcommand is required\n"));
  CHECK_THAT(ctl.err, Catch::Contains("Usage: faultline ctl") && Catch::Contains("toxic"));
  // Help and version are no errors.
  CHECK(Faultline({"--help"}).exit_code == 0);
  const auto version = Faultline({"--version"});
  CHECK(version.exit_code == 0);
  // Its own version, and the Toxiproxy API level its proxy's /version reports.
  CHECK(version.out == "faultline 0.1.0 (Toxiproxy API 2.12.0)\n");
}

TEST_CASE("ctl and its toxic commands name an unknown command the same way",
          "[cli][commands][ctl]") {
  const auto ctl = Faultline({"ctl", "lsit"});
  CHECK(ctl.exit_code == 2);
  CHECK_THAT(ctl.err,
             Catch::StartsWith("faultline ctl: unknown command 'lsit' (did you mean list?)\n"));
  CHECK_THAT(ctl.err, Catch::Contains("\n  toxic ") && Catch::Contains("\n  populate "));
  CHECK_THAT(ctl.err, Catch::EndsWith("Run 'faultline ctl --help' for more.\n"));
  // After ctl's own options.
  const auto after_url = Faultline({"ctl", "--url", "http://127.0.0.1:1", "frobnicate"});
  CHECK(after_url.exit_code == 2);
  CHECK_THAT(after_url.err, Catch::StartsWith("faultline ctl: unknown command 'frobnicate'\n"));
  const auto toxic = Faultline({"ctl", "toxic", "ad", "db"});
  CHECK(toxic.exit_code == 2);
  CHECK_THAT(toxic.err,
             Catch::StartsWith("faultline ctl toxic: unknown command 'ad' (did you mean add?)\n"));
  CHECK_THAT(toxic.err, Catch::Contains("\n  remove "));
}

TEST_CASE("inject names an unknown command that is no program either", "[cli][commands][inject]") {
  const auto typo = Faultline({"inject", "stauts", "--target", "1"});
  CHECK(typo.exit_code == 2);
  CHECK_THAT(typo.err, Catch::StartsWith(
                           "faultline inject: unknown command 'stauts' (did you mean status?)\n"));
  CHECK_THAT(typo.err, Catch::Contains("\n  release "));
  const auto bare = Faultline({"inject", "frobnicate"});
  CHECK(bare.exit_code == 2);
  CHECK_THAT(bare.err, Catch::StartsWith("faultline inject: unknown command 'frobnicate'\n"));
  CHECK_THAT(bare.err, Catch::Contains("faultline inject [--rule RULE]... -- CMD [ARGS...]"));
}
