// Named points from Python, Go and Node: the example programs docs/injector.md shows
// (injector/examples/points), run as they are, under the shim and without it. A fail(ERRNO)
// rule makes the point return that errno, which the program prints: a check that does not
// depend on timing.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "support/run.h"

using faultline::testing::Ran;
using faultline::testing::RunProgram;
using faultline::testing::TempDir;
using namespace std::chrono_literals;

namespace {

const std::string kFaultline = FAULTLINE_BIN;
const std::string kExamples = POINT_EXAMPLES;
const std::string kGo = GO_BIN;      // empty when go was not found at configure time
const std::string kNode = NODE_BIN;  // likewise for node
const std::string kNodeModules = NODE_MODULES;
const std::string kDoc = INJECTOR_DOC;

// ctest reports a test that prints this as skipped (SKIP_REGULAR_EXPRESSION in
// tests/CMakeLists.txt).
void Skip(const std::string& why) {
  std::cout << "FAULTLINE_TEST_SKIPPED: " << why << std::endl;
  SUCCEED(why);
}

// The line each example prints for its point.
std::string Printed(const std::string& name, int value) {
  return "faultline_point(" + name + ") = " + std::to_string(value) + "\n";
}

// The example three ways: a fail(EIO) rule on its point, a rule on another point only, and
// no shim at all (LD_PRELOAD emptied so nothing from the test's environment can bring it).
void CheckExample(const std::vector<std::string>& command, const std::vector<std::string>& env) {
  const std::string name = "lang.apply";
  // Under `faultline inject` with `rule`, or without the shim when there is none.
  const auto run = [&](const std::string& rule) {
    std::vector<std::string> argv;
    std::vector<std::string> environment = env;
    if (rule.empty()) {
      environment.push_back("LD_PRELOAD=");
    } else {
      argv = {kFaultline, "inject", "-q", "--rule", rule, "--"};
    }
    argv.insert(argv.end(), command.begin(), command.end());
    argv.push_back(name);
    return RunProgram(argv, environment);
  };

  const Ran failed = run("point:" + name + " -> fail(EIO)");
  INFO("under fail(EIO): " << failed.out << failed.err);
  CHECK(failed.exit_code == 0);
  CHECK(failed.out == Printed(name, EIO));

  const Ran other = run("point:lang.other -> fail(EIO)");
  INFO("a rule on another point: " << other.out << other.err);
  CHECK(other.exit_code == 0);
  CHECK(other.out == Printed(name, 0));

  const Ran plain = run("");
  INFO("without the shim: " << plain.out << plain.err);
  CHECK(plain.exit_code == 0);
  CHECK(plain.out == Printed(name, 0));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The non-blank lines of each ```LANGUAGE block in a Markdown text.
std::vector<std::vector<std::string>> Snippets(const std::string& markdown,
                                               const std::string& language) {
  std::vector<std::vector<std::string>> blocks;
  std::istringstream in(markdown);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside && line == "```" + language) {
      inside = true;
      blocks.emplace_back();
    } else if (inside && line == "```") {
      inside = false;
    } else if (inside && !line.empty()) {
      blocks.back().push_back(line);
    }
  }
  return blocks;
}

}  // namespace

TEST_CASE("the snippets docs/injector.md shows are lines of the tested examples",
          "[injector][points][docs]") {
  const std::string doc = ReadFile(kDoc);
  REQUIRE(!doc.empty());
  for (const auto& [language, file] : std::vector<std::pair<std::string, std::string>>{
           {"python", "point.py"}, {"go", "point.go"}, {"js", "point.js"}}) {
    CAPTURE(language, file);
    const auto blocks = Snippets(doc, language);
    CHECK(!blocks.empty());
    // Each snippet is an excerpt: its lines appear in the file, in the same order.
    std::istringstream source(ReadFile(kExamples + "/" + file));
    std::vector<std::string> lines;
    for (std::string line; std::getline(source, line);) lines.push_back(line);
    for (const auto& block : blocks) {
      auto at = lines.begin();
      for (const std::string& wanted : block) {
        CAPTURE(wanted);
        at = std::find(at, lines.end(), wanted);
        REQUIRE(at != lines.end());
        ++at;
      }
    }
  }
}

TEST_CASE("a Python program marks a named point through ctypes", "[injector][points][python]") {
  CheckExample({"python3", kExamples + "/point.py"}, {});
}

TEST_CASE("a Go program marks a named point through cgo", "[injector][points][go]") {
  if (kGo.empty()) {
    Skip("go was not found when the build was configured (Debian: golang-go; ./dev installs it)");
    return;
  }
  // One build per run, with its own cache: the toolchain needs a writable GOCACHE and
  // GOPATH, and the example uses only the standard library, so nothing is fetched.
  TempDir dir;
  const std::vector<std::string> go_env = {"GOCACHE=" + dir.path + "/cache",
                                           "GOPATH=" + dir.path + "/gopath",
                                           "GOENV=off",
                                           "GOFLAGS=-mod=mod",
                                           "GO111MODULE=on",
                                           "GOPROXY=off",
                                           "GOTOOLCHAIN=local",
                                           "CGO_ENABLED=1"};
  const std::string binary = dir.path + "/point";
  const Ran built =
      RunProgram({"env", "-C", kExamples, kGo, "build", "-o", binary, "."}, go_env, 100s);
  INFO("go build: " << built.out << built.err);
  REQUIRE(!built.timed_out);
  REQUIRE(built.exit_code == 0);
  REQUIRE(std::filesystem::exists(binary));
  CheckExample({binary}, {});
}

TEST_CASE("a Node program marks a named point through koffi", "[injector][points][node]") {
  if (kNode.empty()) {
    Skip("node was not found when the build was configured");
    return;
  }
  // Not a skip: ./dev installs koffi, and a missing install step must show.
  INFO("koffi is missing from " << kNodeModules << " (./dev test installs it there)");
  REQUIRE(std::filesystem::exists(kNodeModules + "/koffi"));
  CheckExample({kNode, kExamples + "/point.js"}, {"NODE_PATH=" + kNodeModules});
}
