// The one-line rule grammar of the injector: what parses, how it reads back, and what each
// mistake says.

#include <catch2/catch.hpp>

#include <cerrno>

#include "faultline/core/rule.h"

using namespace faultline::core;
using namespace std::chrono_literals;

namespace {

Rule Parsed(std::string_view line) {
  auto rule = ParseRule(line);
  INFO((rule ? std::string() : rule.message()));
  REQUIRE(rule);
  return *rule;
}

std::string ErrorOf(std::string_view line) {
  auto rule = ParseRule(line);
  REQUIRE_FALSE(rule);
  return rule.message();
}

}  // namespace

TEST_CASE("the design's examples parse into their parts and read back unchanged", "[core][rule]") {
  const std::string line1 =
      "rule r1: send peer=127.0.0.1:6379 -> 20%delay(uniform 5ms 50ms) lease=30s";
  const Rule r1 = Parsed(line1);
  CHECK(r1.id == "r1");
  CHECK(r1.calls == std::vector<std::string>{"send"});
  CHECK(r1.peer_address == "127.0.0.1");
  CHECK(r1.peer_port == 6379);
  CHECK(r1.probability.ppm() == 200000);
  CHECK(r1.action.kind == ActionKind::kDelay);
  CHECK(r1.action.delay.kind() == Distribution::Kind::kUniform);
  CHECK(r1.action.delay.a() == 5ms);
  CHECK(r1.action.delay.b() == 50ms);
  CHECK(r1.lease == 30s);
  CHECK(FormatRule(r1) == line1);

  const std::string line2 = "rule r2: point:plan.apply after=1 -> hold(h1) timeout=10s";
  const Rule r2 = Parsed(line2);
  CHECK(r2.point == "plan.apply");
  CHECK(r2.calls.empty());
  CHECK(r2.after == 1);
  CHECK(r2.action.kind == ActionKind::kHold);
  CHECK(r2.action.hold == "h1");
  CHECK(r2.timeout == 10s);
  CHECK(FormatRule(r2) == line2);

  const std::string line3 = "rule r3: point:act -> hold(h2) timeout=20s until=front/seen";
  const Rule r3 = Parsed(line3);
  CHECK(r3.until == "front/seen");
  CHECK(FormatRule(r3) == line3);
}

TEST_CASE("every action and filter reads back as it was written", "[core][rule]") {
  for (const char* line : {
           "fsync path=/var/lib/app/* -> delay(50ms)",
           "connect port=5432 times=3 -> fail(ECONNREFUSED)",
           "clock_gettime,gettimeofday,time -> skew(+1h)",
           "clock_gettime clock=all -> skew(-30s, 2)",
           "clock_gettime clock=monotonic -> skew(+0s, 0.5)",
           "read,write fd=pipe thread=worker-* -> short(1)",
           "recv peer=[::1]:80 -> 0.5%fail(ECONNRESET)",
           "send peer=::1 after=10 -> delay(normal 10ms 2ms) lease=1m",
           "rename,unlink path=*.tmp -> hold(swap)",
           "point:a/b -> fail(EIO)",
       }) {
    CAPTURE(line);
    CHECK(FormatRule(Parsed(line)) == line);
  }
}

TEST_CASE("options may stand before or after the arrow", "[core][rule]") {
  const Rule a = Parsed("write -> fail(EIO) after=2 times=1");
  const Rule b = Parsed("write after=2 times=1 -> fail(EIO)");
  CHECK(FormatRule(a) == FormatRule(b));
  CHECK(a.after == 2);
  CHECK(a.times == 1);
}

TEST_CASE("errno names and numbers are both accepted", "[core][rule]") {
  CHECK(Parsed("write -> fail(EIO)").action.error == EIO);
  CHECK(Parsed("write -> fail(28)").action.error == 28);
  CHECK(ErrnoName(ENOSPC) == "ENOSPC");
  CHECK(ErrnoName(4000) == "4000");
}

TEST_CASE("each mistake is named, with the nearest valid word", "[core][rule]") {
  CHECK_THAT(ErrorOf("sendd -> delay(1ms)"),
             Catch::Contains("unknown call 'sendd'") && Catch::Contains("did you mean send?"));
  CHECK_THAT(ErrorOf("send -> dealy(1ms)"),
             Catch::Contains("unknown action 'dealy'") && Catch::Contains("did you mean delay?"));
  CHECK_THAT(ErrorOf("send prt=80 -> delay(1ms)"),
             Catch::Contains("unknown filter 'prt'") && Catch::Contains("did you mean port?"));
  CHECK_THAT(ErrorOf("send -> delay(1ms) leese=1s"),
             Catch::Contains("unknown option 'leese'") && Catch::Contains("did you mean lease?"));
  CHECK_THAT(ErrorOf("send delay(1ms)"), Catch::Contains("expected 'CALLS [FILTERS] -> ACTION"));
  CHECK_THAT(ErrorOf("send -> delay"), Catch::Contains("expected an action"));
  CHECK_THAT(ErrorOf("send -> delay(soon)"), Catch::Contains("delay(soon)"));
  CHECK_THAT(ErrorOf("send -> fail(EWHAT)"), Catch::Contains("unknown errno 'EWHAT'"));
  CHECK_THAT(ErrorOf("send -> short(0)"), Catch::Contains("at least 1 byte"));
  CHECK_THAT(ErrorOf("send -> 120%delay(1ms)"), Catch::Contains("between 0% and 100%"));
  CHECK_THAT(ErrorOf("send -> hold()"), Catch::Contains("a hold needs a name"));
  CHECK_THAT(ErrorOf("send -> skew(+1h)"), Catch::Contains("skew() does not apply to send"));
  CHECK_THAT(ErrorOf("fsync -> short(10)"), Catch::Contains("short() does not apply to fsync"));
  CHECK_THAT(ErrorOf("fsync port=80 -> delay(1ms)"), Catch::Contains("do not apply to fsync"));
  CHECK_THAT(ErrorOf("point:p fd=socket -> delay(1ms)"), Catch::Contains("fd= does not apply"));
  CHECK_THAT(ErrorOf("open fd=file -> delay(1ms)"), Catch::Contains("fd= does not apply to open"));
  CHECK_THAT(ErrorOf("send peer=example.com -> delay(1ms)"),
             Catch::Contains("names are not resolved"));
  CHECK_THAT(ErrorOf("send peer=1.2.3.4:99999 -> delay(1ms)"), Catch::Contains("1 to 65535"));
  CHECK_THAT(ErrorOf("send -> delay(1ms) timeout=1s"), Catch::Contains("only to hold()"));
  CHECK_THAT(ErrorOf("send -> delay(1ms) times=0"), Catch::Contains("never act"));
  CHECK_THAT(ErrorOf("send -> delay(1ms) until=front/seen"), Catch::Contains("only to hold()"));
  CHECK_THAT(ErrorOf("send -> hold(h) until=seen"), Catch::Contains("expected OWNER/POINT"));
  CHECK_THAT(ErrorOf("send -> hold(h) until=front/"), Catch::Contains("expected OWNER/POINT"));
  CHECK_THAT(ErrorOf("send -> hold(h) untl=a/b"), Catch::Contains("until"));
  CHECK_THAT(ErrorOf("clock_gettime -> skew(+1h, 0)"), Catch::Contains("above 0"));
  CHECK_THAT(ErrorOf("rule : send -> delay(1ms)"), Catch::Contains("rule ID"));
  CHECK_THAT(ErrorOf("send stray -> delay(1ms)"), Catch::Contains("got 'stray'"));
  CHECK_THAT(ErrorOf("send -> delay(1ms) stray"), Catch::Contains("got 'stray'"));
}

TEST_CASE("a rules file reports the line of its mistake", "[core][rule]") {
  auto rules = ParseRules("# comment\n\nfsync -> delay(1ms)\n  write -> fail(EIO)\n");
  REQUIRE(rules);
  CHECK(rules->size() == 2);
  auto bad = ParseRules("fsync -> delay(1ms)\n# fine\nwrite -> nope(1)\n");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.message(), Catch::StartsWith("line 3: "));
}

TEST_CASE("globs match any run with * and one character with ?", "[core][rule]") {
  CHECK(GlobMatch("*", ""));
  CHECK(GlobMatch("/var/lib/app/*", "/var/lib/app/data/x.db"));
  CHECK(GlobMatch("*.tmp", "/a/b.tmp"));
  CHECK_FALSE(GlobMatch("*.tmp", "/a/b.tmpx"));
  CHECK(GlobMatch("w?rker-*", "worker-3"));
  CHECK_FALSE(GlobMatch("w?rker", "wrker"));
  CHECK(GlobMatch("a*b*c", "aXXbYYc"));
  CHECK_FALSE(GlobMatch("a*b*c", "aXXbYY"));
  // No exponential backtracking on a hostile pattern.
  CHECK_FALSE(GlobMatch("*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}
