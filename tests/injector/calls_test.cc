// Every wrapped libc entry point, through the real shim in a real process: unchanged with no
// rule and with a rule that does not match; failing with the rule's errno when one does.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "faultline/core/calls.h"
#include "support/run.h"

using faultline::testing::RunProgram;
using faultline::testing::TempDir;

namespace {

// Each exported symbol and the call name a rule uses for it.
const std::vector<std::pair<std::string, std::string>> kSymbols = {
    {"connect", "connect"},
    {"accept", "accept"},
    {"accept4", "accept"},
    {"send", "send"},
    {"sendto", "sendto"},
    {"sendmsg", "sendmsg"},
    {"recv", "recv"},
    {"__recv_chk", "recv"},
    {"recvfrom", "recvfrom"},
    {"__recvfrom_chk", "recvfrom"},
    {"recvmsg", "recvmsg"},
    {"read", "read"},
    {"__read_chk", "read"},
    {"write", "write"},
    {"readv", "readv"},
    {"writev", "writev"},
    {"pread", "pread"},
    {"pread64", "pread"},
    {"__pread_chk", "pread"},
    {"__pread64_chk", "pread"},
    {"pwrite", "pwrite"},
    {"pwrite64", "pwrite"},
    {"open", "open"},
    {"open64", "open"},
    {"__open_2", "open"},
    {"__open64_2", "open"},
    {"openat", "openat"},
    {"openat64", "openat"},
    {"__openat_2", "openat"},
    {"__openat64_2", "openat"},
    {"creat", "creat"},
    {"creat64", "creat"},
    {"close", "close"},
    {"rename", "rename"},
    {"renameat", "renameat"},
    {"unlink", "unlink"},
    {"unlinkat", "unlinkat"},
    {"fsync", "fsync"},
    {"fdatasync", "fdatasync"},
    {"clock_gettime", "clock_gettime"},
    {"gettimeofday", "gettimeofday"},
    {"time", "time"},
    {"nanosleep", "nanosleep"},
    {"clock_nanosleep", "clock_nanosleep"},
    {"faultline_point", "point:probe"},
};

faultline::testing::Ran Probe(const std::string& symbol, const std::string& rules) {
  TempDir dir;
  std::vector<std::string> env;
  if (!rules.empty()) {
    env = {std::string("LD_PRELOAD=") + FAULTLINE_INJECT_LIB, "FAULTLINE_INJECT_RULES=" + rules};
  }
  return RunProgram({CALL_PROBE, symbol, dir.path}, env);
}

}  // namespace

TEST_CASE("the list above is every call the shim exports, and covers every call a rule names",
          "[injector][calls]") {
  const auto exported = RunProgram({"nm", "-D", "--defined-only", FAULTLINE_INJECT_LIB});
  REQUIRE(exported.exit_code == 0);
  std::set<std::string> symbols;
  std::istringstream lines(exported.out);
  for (std::string address, type, name; lines >> address >> type >> name;) symbols.insert(name);
  // These carry the rules to the programs a process starts (programs_test.cc, fork_exec_probe).
  for (const char* spawn : {"execve", "execvpe", "posix_spawn", "posix_spawnp"}) {
    CHECK(symbols.erase(spawn) == 1);
  }
  std::set<std::string> listed;
  std::set<std::string> calls;
  for (const auto& [symbol, call] : kSymbols) {
    listed.insert(symbol);
    calls.insert(call.starts_with("point:") ? "point" : call);
  }
  CHECK(symbols == listed);
  std::set<std::string> known(faultline::core::KnownCalls().begin(),
                              faultline::core::KnownCalls().end());
  known.insert("point");
  CHECK(calls == known);
}

TEST_CASE("every wrapped call passes through unchanged unless a rule matches it",
          "[injector][calls]") {
  const auto& [symbol, call] = GENERATE(from_range(kSymbols));
  CAPTURE(symbol);
  const auto plain = Probe(symbol, "");
  REQUIRE(plain.exit_code == 0);
  REQUIRE(plain.out.rfind("ok ", 0) == 0);
  // The shim loaded, its table armed for this very call, but the rule's filter excludes it.
  const auto missed = Probe(symbol, call + " thread=no-such-thread -> fail(EXDEV)");
  CHECK(missed.exit_code == 0);
  CHECK(missed.out == plain.out);
  CHECK(missed.err.empty());
  // Armed for another call only: the fast path.
  const auto other = Probe(symbol, "point:elsewhere -> fail(EXDEV)");
  CHECK(other.out == plain.out);
}

TEST_CASE("every wrapped call fails with the errno a matching rule names", "[injector][calls]") {
  const auto& [symbol, call] = GENERATE(from_range(kSymbols));
  CAPTURE(symbol);
  const auto failed = Probe(symbol, call + " -> fail(EXDEV)");
  CHECK(failed.exit_code == 0);
  CHECK(failed.out == "err 18\n");  // EXDEV: nothing here fails that way by itself
}

TEST_CASE("short() moves at most the given number of bytes", "[injector][calls]") {
  for (const char* symbol : {"read", "__read_chk", "write", "readv", "writev", "pread", "pwrite",
                             "recv", "recvfrom", "recvmsg", "send", "sendto", "sendmsg"}) {
    CAPTURE(symbol);
    std::string call = symbol;
    if (call == "__read_chk") call = "read";
    CHECK(Probe(symbol, call + " -> short(3)").out == "ok 3\n");
  }
}

TEST_CASE("after, times and probability decide which calls a rule acts on", "[injector][calls]") {
  // The probe makes one matching call: after=1 lets it pass, times is spent by nothing.
  CHECK(Probe("fsync", "fsync after=1 -> fail(EIO)").out == "ok 0\n");
  CHECK(Probe("fsync", "fsync -> 0%fail(EIO)").out == "ok 0\n");
  CHECK(Probe("fsync", "fsync -> 100%fail(EIO) times=1").out == "err 5\n");
  // The first of two rules that matches and fires acts; the second is not consulted.
  CHECK(Probe("fsync", "fsync -> fail(EIO);fsync -> fail(EXDEV)").out == "err 5\n");
  CHECK(Probe("fsync", "fsync after=1 -> fail(EIO);fsync -> fail(EXDEV)").out == "err 18\n");
}

TEST_CASE("a bad rule in the environment is reported and the program runs unharmed",
          "[injector][calls]") {
  const auto ran = Probe("fsync", "fsync -> explode(now)");
  CHECK(ran.exit_code == 0);
  CHECK(ran.out == "ok 0\n");
  CHECK_THAT(ran.err, Catch::Contains("unknown action 'explode'"));
}
