// The one-line grammar of a fault, for every family (rules in a process, a proxy's toxics, a
// process's pause and kill): what parses, how it reads back, and what each mistake says.

#include <catch2/catch.hpp>

#include <cerrno>

#include "faultline/core/fault.h"

using namespace faultline::core;
using namespace std::chrono_literals;

namespace {

Fault Parsed(std::string_view line) {
  auto rule = ParseFault(line);
  INFO((rule ? std::string() : rule.message()));
  REQUIRE(rule);
  return *rule;
}

std::string ErrorOf(std::string_view line) {
  auto rule = ParseFault(line);
  REQUIRE_FALSE(rule);
  return rule.message();
}

}  // namespace

TEST_CASE("the design's examples parse into their parts and read back unchanged", "[core][fault]") {
  const std::string line1 =
      "rule r1: send peer=127.0.0.1:6379 -> 20%delay(uniform 5ms 50ms) lease=30s";
  const Fault r1 = Parsed(line1);
  CHECK(r1.id == "r1");
  CHECK(r1.where.calls == std::vector<std::string>{"send"});
  CHECK(r1.where.peer_address == "127.0.0.1");
  CHECK(r1.where.peer_port == 6379);
  CHECK(r1.gate.probability.ppm() == 200000);
  CHECK(r1.action.on_call == CallAction::kDelay);
  CHECK(r1.action.delay.kind() == Distribution::Kind::kUniform);
  CHECK(r1.action.delay.a() == 5ms);
  CHECK(r1.action.delay.b() == 50ms);
  CHECK(r1.gate.lease == 30s);
  CHECK(FormatFault(r1) == line1);

  const std::string line2 = "rule r2: point:plan.apply after=1 -> hold(h1) timeout=10s";
  const Fault r2 = Parsed(line2);
  CHECK(r2.where.point == "plan.apply");
  CHECK(r2.where.calls.empty());
  CHECK(r2.gate.after == 1);
  CHECK(r2.action.on_call == CallAction::kHold);
  CHECK(r2.action.hold == "h1");
  CHECK(r2.action.timeout == 10s);
  CHECK(FormatFault(r2) == line2);

  const std::string line3 = "rule r3: point:act -> hold(h2) timeout=20s until=front/seen";
  const Fault r3 = Parsed(line3);
  CHECK(r3.action.until == "front/seen");
  CHECK(FormatFault(r3) == line3);
}

TEST_CASE("every action and filter reads back as it was written", "[core][fault]") {
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
    CHECK(FormatFault(Parsed(line)) == line);
  }
}

TEST_CASE("options may stand before or after the arrow", "[core][fault]") {
  const Fault a = Parsed("write -> fail(EIO) after=2 times=1");
  const Fault b = Parsed("write after=2 times=1 -> fail(EIO)");
  CHECK(FormatFault(a) == FormatFault(b));
  CHECK(a.gate.after == 2);
  CHECK(a.gate.times == 1);
}

TEST_CASE("errno names and numbers are both accepted", "[core][fault]") {
  CHECK(Parsed("write -> fail(EIO)").action.error == EIO);
  CHECK(Parsed("write -> fail(28)").action.error == 28);
  CHECK(ErrnoName(ENOSPC) == "ENOSPC");
  CHECK(ErrnoName(4000) == "4000");
}

TEST_CASE("each mistake is named, with the nearest valid word", "[core][fault]") {
  CHECK_THAT(ErrorOf("sendd -> delay(1ms)"),
             Catch::Contains("unknown call 'sendd'") && Catch::Contains("did you mean send?"));
  CHECK_THAT(ErrorOf("send -> dealy(1ms)"),
             Catch::Contains("unknown action 'dealy'") && Catch::Contains("did you mean delay?"));
  CHECK_THAT(ErrorOf("send prt=80 -> delay(1ms)"),
             Catch::Contains("unknown filter 'prt'") && Catch::Contains("did you mean port?"));
  CHECK_THAT(ErrorOf("send -> delay(1ms) leese=1s"),
             Catch::Contains("unknown option 'leese'") && Catch::Contains("did you mean lease?"));
  CHECK_THAT(ErrorOf("send delay(1ms)"),
             Catch::Contains("expected '[TARGET] [CALLS FILTERS] -> ACTION"));
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

TEST_CASE("a rules file reports the line of its mistake", "[core][fault]") {
  auto rules = ParseFaults("# comment\n\nfsync -> delay(1ms)\n  write -> fail(EIO)\n");
  REQUIRE(rules);
  CHECK(rules->size() == 2);
  auto bad = ParseFaults("fsync -> delay(1ms)\n# fine\nwrite -> nope(1)\n");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.message(), Catch::StartsWith("line 3: "));
}

TEST_CASE("a rule is a fault on calls with no target", "[core][fault]") {
  CHECK(CheckRule(Parsed("fsync -> delay(1ms)")));
  CHECK_THAT(CheckRule(Parsed("service s -> pause")).message(),
             Catch::Contains("is a fault on a process, not a rule"));
  CHECK_THAT(CheckRule(Parsed("service s fsync -> delay(1ms)")).message(),
             Catch::Contains("names a target"));
  auto file = ParseFaults("fsync -> delay(1ms)\nproxy p -> noop\n", CheckRule);
  REQUIRE_FALSE(file);
  CHECK_THAT(file.message(), Catch::StartsWith("line 2: rule 'proxy p downstream -> noop' is a "
                                               "fault on a proxy"));
  CHECK(ParseFaults("fsync -> delay(1ms)\nproxy p -> noop\n"));  // no check: any family
}

TEST_CASE("globs match any run with * and one character with ?", "[core][fault]") {
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

TEST_CASE("a proxy fault names its proxy, direction and connections, and its toxic's settings",
          "[core][fault]") {
  const std::string line =
      "rule f1: proxy store_a upstream conn=3 every=2 client=10.0.0.7 -> 20%drop(framing=line, "
      "match=\"^(SET|GET) a,b\", probability=50%) lease=3s";
  const Fault f = Parsed(line);
  CHECK(f.id == "f1");
  CHECK(f.family() == Family::kProxy);
  CHECK(f.action.kind->name == "drop");
  CHECK(f.where.target_kind == TargetKind::kProxy);
  CHECK(f.where.target == "store_a");
  CHECK(f.where.stream == Stream::kUpstream);
  CHECK(f.where.connections == Connections{3, 2, "10.0.0.7"});
  CHECK(f.gate.probability.ppm() == 200000);  // per connection
  CHECK(f.gate.lease == 3s);
  // As given: the kind's defaults are not filled in.
  CHECK(f.action.settings == Attributes{{"framing", std::string("line")},
                                        {"match", std::string("^(SET|GET) a,b")},
                                        {"probability", 0.5}});
  CHECK(FormatFault(f) == line);

  // Durations take their unit and are stored in the attribute's (ms); downstream by default.
  const Fault latency = Parsed("proxy db -> latency(latency=1s, jitter=10ms)");
  CHECK(latency.where.stream == Stream::kDownstream);
  CHECK(latency.action.settings ==
        Attributes{{"jitter", std::int64_t{10}}, {"latency", std::int64_t{1000}}});
  CHECK(FormatFault(latency) == "proxy db downstream -> latency(jitter=10ms, latency=1s)");
  // A kind with no settings needs no parentheses.
  CHECK(FormatFault(Parsed("proxy db upstream -> reset_peer()")) ==
        "proxy db upstream -> reset_peer");
  // Quoted, a value may hold anything, a quote escaped.
  CHECK(TextAttribute(Parsed("proxy db -> drop(match=\"a\\\"b)\")").action.settings, "match") ==
        "a\"b)");
  // An unquoted pattern with parentheses runs to the last one.
  CHECK(IntegerAttribute(Parsed("proxy db -> hold(match=^(A|B), frame=2)").action.settings,
                         "frame") == 2);
  CHECK(TextAttribute(Parsed("proxy db -> hold(match=^(A|B), frame=2)").action.settings, "match") ==
        "^(A|B)");
}

TEST_CASE("a process fault names a service or a workload's clients", "[core][fault]") {
  const Fault pause = Parsed("service store -> pause lease=2s");
  CHECK(pause.family() == Family::kProcess);
  CHECK(pause.where.target_kind == TargetKind::kService);
  CHECK(pause.action.kind->name == "pause");
  CHECK(FormatFault(pause) == "service store -> pause lease=2s");
  const Fault kill = Parsed("service store -> kill(restart=1, restart_after=1500ms)");
  CHECK(IntegerAttribute(kill.action.settings, "restart_after") == 1500);
  CHECK(FormatFault(kill) == "service store -> kill(restart=1, restart_after=1500ms)");
  CHECK(Parsed("clients workload1 -> kill").where.target_kind == TargetKind::kClients);
  // A service's calls make it a rule on that service.
  const Fault rule = Parsed("service store send -> delay(5ms)");
  CHECK(rule.family() == Family::kShim);
  CHECK(rule.action.kind->name == "rule");
  CHECK(rule.where.target == "store");
  CHECK(FormatFault(rule) == "service store send -> delay(5ms)");
  CHECK(Parsed("service store clock_gettime -> skew(+1h)").action.kind->name == "skew");
}

TEST_CASE("every family reads back what it wrote", "[core][fault]") {
  for (const char* line : {
           "proxy a downstream -> latency(latency=800ms)",
           "proxy a upstream conn=1 -> 0.5%slicer(average_size=4, delay=5us)",
           "proxy a downstream -> bandwidth(rate=10) lease=1m",
           "proxy a downstream every=3 -> duplicate(copies=2, framing=length-prefixed)",
           "proxy a downstream -> hold(release_on=b/seen, timeout=2s)",
           "proxy a downstream -> connect_refuse",
           "proxy a downstream -> drop(match=\"a, b=c\")",
           "proxy a downstream -> drop(match=a\"b)",
           "service s -> pause",
           "clients w -> pause lease=500ms",
           "service s -> kill(restart=1)",
           "rule k1: service s point:apply -> hold(h) until=a/b",
       }) {
    CAPTURE(line);
    const Fault fault = Parsed(line);
    CHECK(FormatFault(fault) == line);
    CHECK(Parsed(FormatFault(fault)) == fault);
  }
}

TEST_CASE("each mistake of a proxy or process fault is named", "[core][fault]") {
  CHECK_THAT(ErrorOf("proxy db -> latncy(latency=1s)"),
             Catch::Contains("unknown action 'latncy' on a proxy") &&
                 Catch::Contains("did you mean latency?"));
  CHECK_THAT(ErrorOf("proxy db -> latency(latency=800)"),
             Catch::Contains("a duration takes its unit, e.g. latency=800ms"));
  CHECK_THAT(ErrorOf("proxy db -> latency(jitter=1ms)"),
             Catch::Contains("missing required attribute 'latency' for latency"));
  CHECK_THAT(ErrorOf("proxy db -> latency(latncy=1s)"),
             Catch::Contains("unknown attribute 'latncy' for latency") &&
                 Catch::Contains("did you mean latency?"));
  CHECK_THAT(ErrorOf("proxy db -> latency(latency=1s, latency=2s)"),
             Catch::Contains("'latency' is given twice"));
  CHECK_THAT(ErrorOf("proxy db -> drop(framing=lines)"), Catch::Contains("must be one of"));
  CHECK_THAT(ErrorOf("proxy db -> drop(match=\"open)"), Catch::Contains("no closing"));
  CHECK_THAT(ErrorOf("proxy db -> drop(framing line)"), Catch::Contains("expected NAME=VALUE"));
  CHECK_THAT(ErrorOf("proxy db -> noop(x=1)"), Catch::Contains("(it takes none)"));
  CHECK_THAT(ErrorOf("proxy db sideways -> noop"), Catch::Contains("upstream or downstream"));
  CHECK_THAT(ErrorOf("proxy db port=1 -> noop"), Catch::Contains("expected conn, every or client"));
  CHECK_THAT(ErrorOf("proxy db conn=0 -> noop"), Catch::Contains("match no connection"));
  CHECK_THAT(ErrorOf("proxy db client=db.local -> noop"), Catch::Contains("an IP address"));
  CHECK_THAT(ErrorOf("proxy db -> noop times=2"), Catch::Contains("applies only to calls"));
  CHECK_THAT(ErrorOf("proxy db -> noop until=a/b"), Catch::Contains("only to hold() on calls"));
  CHECK_THAT(ErrorOf("proxy -> noop"), Catch::Contains("proxy needs a name"));
  CHECK_THAT(ErrorOf("proxy db/x -> noop"), Catch::Contains("proxy needs a name"));
  CHECK_THAT(ErrorOf("service s -> pase"),
             Catch::Contains("did you mean pause?") && Catch::Contains("or calls before '->'"));
  CHECK_THAT(ErrorOf("service s -> 50%pause"), Catch::Contains("acts on its target once"));
  CHECK_THAT(ErrorOf("service s path=/x -> pause"), Catch::Contains("needs calls before it"));
  CHECK_THAT(ErrorOf("clients w send -> delay(1ms)"), Catch::Contains("they take pause or kill"));
  CHECK_THAT(ErrorOf("clients w -> kill(restart=1)"), Catch::Contains("clients are not restarted"));
  CHECK_THAT(ErrorOf("service s -> kill(restart=2)"), Catch::Contains("too large"));
  CHECK_THAT(ErrorOf("service s -> latency(latency=1s)"), Catch::Contains("on a process"));
  CHECK_THAT(ErrorOf("proxy db -> 20%"), Catch::Contains("expected an action"));
}

TEST_CASE("a kind's settings are read as a line writes them, and only the given are kept",
          "[core][fault]") {
  const KindInfo& latency = *FindKind("latency");
  auto settings = ReadSettings(latency, "latency=500ms, jitter=1s");
  REQUIRE(settings);
  CHECK(*settings == Attributes{{"jitter", std::int64_t{1000}}, {"latency", std::int64_t{500}}});
  CHECK(*ReadSettings(*FindKind("drop"), "") == Attributes{});
  CHECK_THAT(ReadSettings(latency, "").message(), Catch::Contains("missing required attribute"));
  // A kill restarts with restart=1 or any restart_after, 0 included.
  CHECK_FALSE(Restarts(Parsed("service s -> kill")));
  CHECK_FALSE(Restarts(Parsed("service s -> kill(restart=0)")));
  CHECK(Restarts(Parsed("service s -> kill(restart=1)")));
  CHECK(Restarts(Parsed("service s -> kill(restart_after=0ms)")));
  CHECK(RestartAfter(Parsed("service s -> kill(restart_after=2s)")) == 2s);
}
