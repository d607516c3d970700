// Experiment specs: what a valid one reads as, and one test per kind of mistake, each
// checking the message and where it points.

#include <catch2/catch.hpp>

#include <string>

#include "faultline/experiments/spec.h"

using namespace faultline::experiments;
namespace core = faultline::core;
using namespace std::chrono_literals;

namespace {

SpecResult Parse(const std::string& text) { return ParseSpec(text, "x.yaml", "/specs"); }

// The only error of a spec, formatted as the CLI prints it.
std::string OnlyError(const std::string& text) {
  const SpecResult result = Parse(text);
  REQUIRE(!result.spec);
  REQUIRE(result.errors.size() == 1);
  return result.errors[0].Format();
}

const std::string kValid = R"yaml(name: cleanup-race
seed: 42
duration: 20s
services:
  store:
    cmd: ./kvstore --port {{port.store}}
    ready: {tcp: "127.0.0.1:{{port.store}}", timeout: 5s}
  agent-a:
    cmd: ./agent
    args: [--store, "{{proxy.store_a}}"]
    env: {LOG_LEVEL: debug}
    depends_on: [store]
    inject: ["point:plan.apply -> hold(h1) timeout=2s"]
    restart: on-failure
  housekeeper: ./housekeeper --dir {{run.dir}} --seed {{seed}}
proxies:
  store_a:
    upstream: store
    toxics:
      - {type: latency, latency: 100ms, jitter: 10ms}
workload:
  - {client: "./client --store {{port.store}}", concurrency: 4, ops: 500, history: true}
faults:
  - {at: 2s, for: 3s, proxy: store_a, toxic: {type: latency, latency: 800ms}}
  - {after: store ready, at: 1s, for: 1s, pause: store}
  - {after: op 100, kill: store, restart_after: 500ms}
  - {at: 5s, service: agent-a, rule: "fsync -> delay(50ms)"}
  - {at: 6s, skew: agent-a, offset: -30s, rate: "2"}
  - {nemesis: random, every: 1s..3s, for: 500ms, kinds: [pause, latency], max_active: 2}
invariants:
  - {checker: availability, min: 99%}
  - {checker: no-errors}
  - {probe: ./check --expect-nonempty, every: 500ms}
  - {http: "http://127.0.0.1:{{port.store}}/health", must: eventually}
  - {final: ./verify, name: data intact}
)yaml";

// The values a run would fill the templates with.
std::optional<std::string> RunValues(std::string_view name) {
  if (name == "port.store") return "4100";
  if (name == "proxy.store_a") return "127.0.0.1:4200";
  if (name == "run.dir") return "/runs/cleanup-race/r1";
  if (name == "seed") return "42";
  return std::nullopt;
}

}  // namespace

TEST_CASE("a valid spec reads as written", "[experiments][spec]") {
  const SpecResult result = ParseSpec(kValid, "x.yaml", "/specs", RunValues);
  for (const auto& error : result.errors) UNSCOPED_INFO(error.Format());
  REQUIRE(result.spec);
  const Spec& spec = *result.spec;
  CHECK(spec.name == "cleanup-race");
  CHECK(spec.seed == 42u);
  CHECK(spec.duration == 20s);
  REQUIRE(spec.services.size() == 3);
  const ServiceSpec& store = spec.services[0];
  CHECK(store.command.shell);
  CHECK(store.command.Argv() ==
        std::vector<std::string>{"/bin/sh", "-c", "exec ./kvstore --port 4100"});
  REQUIRE(store.ready);
  CHECK(store.ready->kind == ReadySpec::Kind::kTcp);
  CHECK(store.ready->timeout == 5s);
  const ServiceSpec& agent = spec.services[1];
  CHECK(!agent.command.shell);
  CHECK(agent.command.Argv() == std::vector<std::string>{"./agent", "--store", "127.0.0.1:4200"});
  CHECK(agent.env == Environment{{"LOG_LEVEL", "debug"}});
  CHECK(agent.inject);
  REQUIRE(agent.rules.size() == 1);
  CHECK(agent.rules[0].where.point == "plan.apply");
  CHECK(agent.restart == RestartPolicy::kOnFailure);
  CHECK(spec.services[2].command.shell);  // the short form: a command line
  CHECK(spec.services[2].command.Text() == "./housekeeper --dir /runs/cleanup-race/r1 --seed 42");
  CHECK_THAT(spec.text, Catch::Contains("cmd: ./kvstore --port 4100\n"));

  REQUIRE(spec.proxies.size() == 1);
  CHECK(spec.proxies[0].listen == "auto");
  REQUIRE(spec.proxies[0].toxics.size() == 1);
  CHECK(core::IntegerAttribute(spec.proxies[0].toxics[0].action.settings, "latency") == 100);

  REQUIRE(spec.workload.size() == 1);
  CHECK(spec.workload[0].concurrency == 4);
  CHECK(spec.workload[0].ops == 500u);
  CHECK(spec.workload[0].history);

  REQUIRE(spec.faults.size() == 5);
  CHECK(spec.faults[0].fault.action.kind->name == "latency");
  CHECK(spec.faults[0].start.at == 2s);
  CHECK(spec.faults[0].length == 3s);
  CHECK(spec.faults[1].start.event == Trigger::Event::kReady);
  CHECK(spec.faults[1].start.service == "store");
  CHECK(spec.faults[1].start.at == 1s);
  CHECK(spec.faults[2].start.event == Trigger::Event::kOp);
  CHECK(spec.faults[2].start.op == 100u);
  CHECK(core::FormatFault(spec.faults[2].fault) == "service store -> kill(restart_after=500ms)");
  CHECK(spec.faults[3].fault.action.kind->name == "rule");
  CHECK(spec.faults[4].fault.action.kind->name == "skew");
  CHECK(spec.faults[4].fault.action.skew_rate == 2.0);
  CHECK(spec.faults[4].fault.action.skew_offset == -30s);
  REQUIRE(spec.nemeses.size() == 1);
  CHECK(spec.nemeses[0].every_min == 1s);
  CHECK(spec.nemeses[0].every_max == 3s);
  CHECK(spec.nemeses[0].length_max == 500ms);
  REQUIRE(spec.nemeses[0].kinds.size() == 2);
  CHECK(spec.nemeses[0].kinds[0].name == "pause");
  CHECK(spec.nemeses[0].kinds[1].name == "latency");
  CHECK(!spec.nemeses[0].kinds[1].own);
  CHECK(spec.nemeses[0].max_active == 2);

  REQUIRE(spec.invariants.size() == 5);
  CHECK(spec.invariants[0].min_availability == Approx(0.99));
  CHECK(spec.invariants[3].eventually);
  CHECK(spec.invariants[4].name == "data intact");

  const auto order = spec.StartOrder();
  REQUIRE(order.size() == 3);
  CHECK(order[0]->name == "store");
  CHECK(order[1]->name == "agent-a");
}

TEST_CASE("spec mistakes: YAML that does not parse", "[experiments][spec]") {
  CHECK_THAT(OnlyError("name: a\nservices: {store: [unclosed\n"),
             Catch::StartsWith("x.yaml:3:1: not valid YAML"));
}

TEST_CASE("spec mistakes: YAML errors say how to fix them", "[experiments][spec]") {
  // The mistake new users make first: an unquoted `: ` inside a command.
  CHECK(OnlyError("name: a\nservices:\n  s: sh -c echo key: value\n") ==
        "x.yaml:3:20: not valid YAML: illegal map value (a `: ` inside a value starts a "
        "mapping: quote this string, e.g. command: \"echo a: b\")");
  CHECK_THAT(OnlyError("name: a\nservices:\n  s: \"sh \\d\"\n"),
             Catch::Contains("unknown escape character: d (inside double quotes a backslash"));
  CHECK_THAT(OnlyError("name: a\nservices: {s: [x\n"), Catch::Contains("a `[` is not closed"));
  CHECK_THAT(OnlyError("name: a\nservices:\n  s: *x\n"),
             Catch::Contains("is an alias in YAML: quote this string"));
  CHECK_THAT(OnlyError("name: a\nservices:\n  s: @x\n"),
             Catch::Contains("reserved in YAML: quote this string"));
}

TEST_CASE("spec mistakes: an unknown key, with the nearest valid one", "[experiments][spec]") {
  CHECK(OnlyError("name: a\nservices:\n  store:\n    cmd: ./s\n    readyy: {tcp: s}\n") ==
        "x.yaml:5:5: unknown key 'readyy' in service 'store' (did you mean ready?)");
  const SpecResult misspelt = Parse("name: a\nservice:\n  store: ./s\n");
  REQUIRE(!misspelt.errors.empty());
  CHECK(misspelt.errors[0].Format() ==
        "x.yaml:2:1: unknown key 'service' in the experiment (did you mean services?)");
}

TEST_CASE("spec mistakes: a value of the wrong type", "[experiments][spec]") {
  CHECK(OnlyError("name: a\nworkload:\n  - {client: ./c, concurrency: many}\n") ==
        "x.yaml:3:32: concurrency must be a whole number");
  CHECK(OnlyError("name: a\nseed: -1\nservices: {s: ./s}\n") ==
        "x.yaml:2:7: seed must be a whole number");
}

TEST_CASE("spec mistakes: a bad duration", "[experiments][spec]") {
  CHECK_THAT(OnlyError("name: a\nduration: 20 seconds\nservices: {s: ./s}\n"),
             Catch::StartsWith("x.yaml:2:11: duration: "));
  CHECK_THAT(OnlyError("name: a\nservices: {s: ./s}\nfaults:\n  - {nemesis: random, every: "
                       "3s..1s, kinds: [pause]}\n"),
             Catch::Contains("the range '3s..1s' ends before it starts"));
}

TEST_CASE("spec mistakes: a missing required key", "[experiments][spec]") {
  CHECK(OnlyError("services: {s: ./s}\n") == "x.yaml:1:1: the experiment needs `name`");
  CHECK(OnlyError("name: a\nservices:\n  s: {env: {A: b}}\n") ==
        "x.yaml:3:6: service 's' needs `cmd`");
}

TEST_CASE("spec mistakes: a bad injector rule names its word", "[experiments][spec]") {
  CHECK_THAT(OnlyError("name: a\nservices:\n  s: {cmd: ./s, inject: [\"fsync -> dealy(1ms)\"]}\n"),
             Catch::StartsWith("x.yaml:3:26: rule 'fsync -> dealy(1ms)': unknown action 'dealy'") &&
                 Catch::Contains("did you mean delay?"));
  // A fault line of another family is not a rule.
  CHECK_THAT(OnlyError("name: a\nservices:\n  s: {cmd: ./s, inject: [\"proxy p -> noop\"]}\n"),
             Catch::StartsWith("x.yaml:3:26: rule 'proxy p downstream -> noop' is a fault on a "
                               "proxy, not a rule"));
  CHECK_THAT(OnlyError("name: a\nservices:\n  s: {cmd: ./s, inject: [\"service s send -> "
                       "delay(1ms)\"]}\n"),
             Catch::Contains("names a target") && Catch::Contains("leave out 'service s'"));
}

TEST_CASE("a timeline fault may be written as its line", "[experiments][spec]") {
  const std::string head =
      "name: a\nservices:\n  s: {cmd: ./s, inject: true}\nproxies: {p: {upstream: s}}\n"
      "workload: [{name: w, client: ./c}]\nfaults:\n";
  const SpecResult read = Parse(head +
                                "  - {at: 1s, fault: \"proxy p upstream -> drop(framing=line, "
                                "probability=20%)\"}\n"
                                "  - {at: 1s, fault: \"service s fsync -> delay(5ms)\"}\n"
                                "  - {at: 1s, fault: \"service w -> pause\"}\n");
  INFO((read.errors.empty() ? "" : read.errors[0].Format()));
  REQUIRE(read.spec);
  REQUIRE(read.spec->faults.size() == 3);
  CHECK(core::FormatFault(read.spec->faults[0].fault) ==
        "proxy p upstream -> drop(framing=line, probability=20%)");
  CHECK(read.spec->faults[1].fault.family() == core::Family::kShim);
  // A workload's name makes the pause its clients'.
  CHECK(read.spec->faults[2].fault.where.target_kind == core::TargetKind::kClients);

  auto only_error = [&](const std::string& fault) { return OnlyError(head + fault); };
  CHECK(only_error("  - {at: 1s, fault: \"proxy q -> noop\"}\n") ==
        "x.yaml:7:21: fault: no proxy 'q' (did you mean p?)");
  CHECK_THAT(only_error("  - {at: 1s, fault: \"proxy p -> drop(match=\\\"(\\\")\"}\n"),
             Catch::Contains("not a valid RE2 pattern"));
  CHECK_THAT(only_error("  - {at: 1s, fault: \"fsync -> delay(1ms)\"}\n"),
             Catch::Contains("name what it acts on, e.g. 'service NAME fsync -> delay(1ms)'"));
  CHECK_THAT(only_error("  - {at: 1s, fault: \"rule x: service s -> pause\"}\n"),
             Catch::Contains("leave out 'rule x:'"));
  CHECK_THAT(only_error("  - {at: 1s, fault: \"clients s -> pause\"}\n"),
             Catch::Contains("clients 's': no workload or client"));
  CHECK_THAT(only_error("  - {at: 1s, fault: \"proxy p -> latency(latency=800)\"}\n"),
             Catch::Contains("a duration takes its unit"));
}

TEST_CASE("spec mistakes: a bad toxic", "[experiments][spec]") {
  CHECK_THAT(
      OnlyError("name: a\nservices: {s: ./s}\nproxies:\n  p:\n    upstream: s\n"
                "    toxics:\n      - {type: latencyy, latency: 5}\n"),
      Catch::StartsWith("x.yaml:7:9: unknown toxic type 'latencyy' (did you mean latency?)"));
  CHECK_THAT(OnlyError("name: a\nservices: {s: ./s}\nproxies:\n  p:\n    upstream: s\n"
                       "    toxics:\n      - {type: latency, latency: -5}\n"),
             Catch::StartsWith("x.yaml:7:9: toxic") && Catch::Contains("latency"));
}

TEST_CASE("spec mistakes: names that could not name a file, a metric or a variable",
          "[experiments][spec]") {
  for (const std::string name : {"-s", ".s", "_s", "a b", "caf\xc3\xa9", "a/b"}) {
    CAPTURE(name);
    CHECK(OnlyError("name: a\nservices:\n  '" + name + "': ./s\n") ==
          "x.yaml:3:3: service name '" + name +
              "': use letters, digits, '_', '.' and '-' (it names files and metrics)");
  }
  CHECK(Parse("name: a\nduration: 1s\nservices:\n  S0.a_b-c: ./s\n").spec);
  for (const std::string variable : {"1A", "A-B", "A B", ""}) {
    CAPTURE(variable);
    CHECK(OnlyError("name: a\nservices:\n  s: {cmd: ./s, env: {'" + variable + "': x}}\n") ==
          "x.yaml:3:23: environment variable '" + variable + "' is not a valid name");
  }
  CHECK(Parse("name: a\nduration: 1s\nservices:\n  s: {cmd: ./s, env: {_A1: x, b: y}}\n").spec);
}

TEST_CASE("spec mistakes: a pattern RE2 cannot compile, in a ready check or a toxic",
          "[experiments][spec][pattern]") {
  CHECK(OnlyError("name: a\nservices:\n  s:\n    cmd: ./s\n    ready: {log: '(up)\\1'}\n") ==
        "x.yaml:5:18: service 's': ready log '(up)\\1' is not a valid RE2 pattern: invalid escape "
        "sequence: \\1");
  CHECK(OnlyError("name: a\nservices:\n  s: {cmd: ./s, ready: {log: 'up(?=now)'}}\n") ==
        "x.yaml:3:30: service 's': ready log 'up(?=now)' is not a valid RE2 pattern: invalid "
        "perl operator: (?=");
  CHECK(OnlyError("name: a\nservices: {s: ./s}\nproxies:\n  p:\n    upstream: s\n"
                  "    toxics:\n      - {type: hold, framing: line, match: '(a)\\1'}\n") ==
        "x.yaml:7:9: toxic 'hold': attribute 'match' is not a valid RE2 pattern: '(a)\\1': "
        "invalid escape sequence: \\1");
  // RE2 syntax that ECMAScript lacks is accepted.
  CHECK(Parse("name: a\nduration: 1s\nservices:\n  s: {cmd: ./s, ready: {log: '(?i)^up\\b'}}\n")
            .spec);
}

TEST_CASE("spec mistakes: a reference to a service or proxy that does not exist",
          "[experiments][spec]") {
  CHECK(OnlyError("name: a\nservices: {store: ./s}\nfaults:\n  - {at: 1s, pause: stor}\n") ==
        "x.yaml:4:21: pause: no service, workload or client 'stor' (did you mean store?)");
  CHECK(OnlyError("name: a\nservices: {store: ./s}\nproxies: {p: {upstream: stroe}}\n") ==
        "x.yaml:3:25: proxy 'p': upstream 'stroe' is neither a service nor HOST:PORT (did you "
        "mean store?)");
  CHECK(OnlyError("name: a\nservices: {store: ./s}\nfaults:\n  - {at: 1s, proxy: q, toxic: "
                  "{type: timeout, timeout: 0}}\n") == "x.yaml:4:21: proxy: no proxy 'q'");
  CHECK(OnlyError("name: a\nservices: {store: ./s}\nfaults:\n  - {at: 1s, service: store, rule: "
                  "\"fsync -> delay(1ms)\"}\n") ==
        "x.yaml:4:23: service: service 'store' does not run under the injector; give it "
        "`inject: true`");
}

TEST_CASE("pause and kill name a service, a workload or one of its clients",
          "[experiments][spec]") {
  const std::string head =
      "name: a\nservices: {store: ./s}\nworkload: [{name: writers, client: ./c, concurrency: 2}]\n"
      "faults:\n";
  const SpecResult read =
      Parse(head +
            "  - {at: 1s, pause: writers}\n"
            "  - {at: 1s, kill: writers-1}\n"
            "  - {at: 1s, pause: store}\n"
            "  - {nemesis: random, every: 1s, kinds: [pause], targets: [writers-0]}\n");
  for (const auto& error : read.errors) UNSCOPED_INFO(error.Format());
  REQUIRE(read.spec);
  REQUIRE(read.spec->faults.size() == 3);
  CHECK(read.spec->faults[0].fault.where.target_kind == core::TargetKind::kClients);
  CHECK(read.spec->faults[1].fault.where.target_kind == core::TargetKind::kClients);
  CHECK(read.spec->faults[2].fault.where.target_kind == core::TargetKind::kService);

  CHECK_THAT(OnlyError(head + "  - {at: 1s, kill: writers-2}\n"),
             Catch::StartsWith("x.yaml:5:20: kill: no service, workload or client 'writers-2' (did "
                               "you mean writers-"));
  CHECK(OnlyError(head + "  - {at: 1s, kill: writers, restart: true}\n") ==
        "x.yaml:5:5: kill 'writers': a workload's client is not restarted; `restart` is for "
        "services");
  CHECK_THAT(OnlyError("name: a\nservices: {w: ./s}\nworkload: [{name: w, client: ./c}]\n"),
             Catch::Contains("a workload and a service are named 'w'"));
}

TEST_CASE("a service may write a history, as a client does", "[experiments][spec]") {
  const SpecResult read = Parse(
      "name: a\nduration: 1s\nservices:\n  s: {cmd: ./s, history: true}\n"
      "  t: {cmd: ./t, history: \"{{run.dir}}/t.ops\"}\n");
  REQUIRE(read.spec);
  CHECK(read.spec->services[0].history);
  CHECK(read.spec->services[0].history_file.empty());
  CHECK(read.spec->services[1].history);
  CHECK(read.spec->services[1].history_file == "/faultline-run/t.ops");
}

TEST_CASE("spec mistakes: services that depend on each other in a cycle", "[experiments][spec]") {
  CHECK(OnlyError("name: a\nservices:\n  a: {cmd: ./a, depends_on: [b]}\n  b: {cmd: ./b, "
                  "depends_on: [a]}\n  c: ./c\n") ==
        "x.yaml: services depend on each other in a cycle: a, b");
}

TEST_CASE("spec mistakes: a template that names nothing", "[experiments][spec]") {
  CHECK_THAT(OnlyError("name: a\nservices:\n  s: ./s --to {{proxy.nope}}\n"),
             Catch::StartsWith("x.yaml:3:6: unknown template {{proxy.nope}}"));
  CHECK_THAT(OnlyError("name: a\nservices:\n  s: ./s {{port.s\n"),
             Catch::StartsWith("x.yaml:3:6: unclosed template"));
}

TEST_CASE("spec mistakes: a run that would never end", "[experiments][spec]") {
  CHECK(OnlyError("name: a\nservices: {s: ./s}\n") ==
        "x.yaml:1:1: the experiment has no duration and no workload: it would not end");
  CHECK(Parse("name: a\nduration: 1s\nservices: {s: ./s}\n").spec);
  CHECK(Parse("name: a\nworkload: [{client: ./c}]\n").spec);
}

TEST_CASE("spec mistakes: a fault with no action, or two", "[experiments][spec]") {
  CHECK_THAT(OnlyError("name: a\nservices: {s: ./s}\nfaults:\n  - {at: 1s, for: 2s}\n"),
             Catch::StartsWith("x.yaml:4:5: a fault needs one action"));
  CHECK(OnlyError("name: a\nservices: {s: ./s}\nfaults:\n  - {at: 1s, pause: s, kill: s}\n") ==
        "x.yaml:4:5: a fault has one action; write two faults for two");
  CHECK(OnlyError("name: a\nservices: {s: ./s}\nfaults:\n  - {pause: s}\n") ==
        "x.yaml:4:5: a fault needs `at` (after the run starts) or `after` (an event)");
}

TEST_CASE("spec mistakes: a nemesis kind or checker that does not exist", "[experiments][spec]") {
  CHECK_THAT(OnlyError("name: a\nservices: {s: ./s}\nfaults:\n  - {nemesis: random, every: 1s, "
                       "kinds: [pause, latensy]}\n"),
             Catch::StartsWith("x.yaml:4:49: unknown nemesis kind 'latensy' (did you mean "
                               "latency?)"));
  CHECK_THAT(OnlyError("name: a\nservices: {s: ./s}\nworkload: [{client: ./c, history: true}]\n"
                       "invariants:\n  - {checker: linearisable}\n"),
             Catch::StartsWith("x.yaml:5:15: unknown checker 'linearisable'"));
  CHECK(OnlyError("name: a\nservices: {s: ./s}\ninvariants:\n  - {checker: no-errors}\n") ==
        "x.yaml:4:15: checker 'no-errors' reads the history: give a workload `history: true`");
}

TEST_CASE("spec mistakes: a nemesis kind of one's own", "[experiments][spec]") {
  const std::string head =
      "name: a\nservices: {s: ./s, i: {cmd: ./i, inject: true}}\nproxies: {p: {upstream: s}}\n"
      "faults:\n  - nemesis: random\n    every: 1s\n    kinds:\n";
  CHECK(OnlyError(head + "      - {toxic: {type: latency, latency: 1500us}}\n") ==
        "x.yaml:8:42: latency: 1500us is not a whole number of milliseconds");
  CHECK_THAT(OnlyError(head + "      - {rule: \"write -> dealy(1ms)\"}\n"),
             Catch::StartsWith("x.yaml:8:16: ") && Catch::Contains("dealy"));
  CHECK(OnlyError(head + "      - {rule: \"write -> fail(EIO)\", toxic: {type: timeout}}\n") ==
        "x.yaml:8:9: a nemesis kind is a toxic or a rule, not both; list them as two kinds");
  CHECK(OnlyError(head + "      - {rulle: \"write -> fail(EIO)\"}\n") ==
        "x.yaml:8:10: unknown key 'rulle' in a nemesis kind (did you mean rule?)");
}

TEST_CASE("spec mistakes: a nemesis kind with nothing to act on", "[experiments][spec]") {
  CHECK(OnlyError("name: a\nservices: {s: ./s}\nfaults:\n  - {nemesis: random, every: 1s, "
                  "kinds: [pause, skew]}\n") ==
        "x.yaml:4:49: nemesis kind 'skew' has nothing to act on: no service with inject");
  CHECK(OnlyError("name: a\nservices: {s: ./s}\nfaults:\n  - {nemesis: random, every: 1s, "
                  "kinds: [{rule: \"write -> fail(EIO)\"}]}\n") ==
        "x.yaml:4:42: nemesis kind 'rule' has nothing to act on: no service with inject");
  CHECK(OnlyError("name: a\nservices: {s: ./s}\nproxies: {p: {upstream: s}}\nfaults:\n"
                  "  - {nemesis: random, every: 1s, targets: [s], kinds: [pause, latency]}\n") ==
        "x.yaml:5:63: nemesis kind 'latency' has nothing to act on: no proxy among the "
        "nemesis's targets");
}

TEST_CASE("every mistake in a spec is reported, in the order of the file", "[experiments][spec]") {
  const SpecResult result = Parse(
      "name: a\n"
      "services:\n"
      "  s: {cmd: ./s, restart: sometimes}\n"
      "workload:\n"
      "  - {client: ./c, ops: lots}\n"
      "faults:\n"
      "  - {at: soon, pause: s}\n");
  REQUIRE(!result.spec);
  REQUIRE(result.errors.size() == 3);
  CHECK(result.errors[0].where.line == 3);
  CHECK_THAT(result.errors[0].message, Catch::Contains("restart is never, on-failure or always"));
  CHECK(result.errors[1].where.line == 5);
  CHECK(result.errors[2].where.line == 7);
}

TEST_CASE("templates are filled in, and an unknown one is an error", "[experiments][spec]") {
  auto lookup = [](std::string_view name) -> std::optional<std::string> {
    if (name == "port.store") return "4100";
    if (name == "seed") return "7";
    return std::nullopt;
  };
  CHECK(ResolveTemplates("--port {{port.store}} --seed {{ seed }}", lookup).value() ==
        "--port 4100 --seed 7");
  CHECK(ResolveTemplates("no templates", lookup).value() == "no templates");
  const auto unknown = ResolveTemplates("{{port.other}}", lookup);
  REQUIRE(!unknown);
  CHECK_THAT(unknown.message(), Catch::StartsWith("unknown template {{port.other}}"));
}

TEST_CASE("templates stand in any value: a rule's port, a toxic's pattern", "[experiments][spec]") {
  const std::string text =
      "name: t\n"
      "services:\n"
      "  store:\n"
      "    cmd: ./store {{port.store}}\n"
      "    inject: [\"send port={{port.store}} -> delay(400ms)\"]\n"
      "proxies:\n"
      "  front: {upstream: store, toxics: [{type: hold, match: \"^SET k{{seed}} \"}]}\n"
      "faults:\n"
      "  - {at: 1s, service: store, rule: \"connect port={{port.store}} -> fail(ECONNREFUSED)\"}\n"
      "  - {at: 1s, proxy: front, toxic: {type: drop, match: \"{{run.dir}}\"}}\n"
      "duration: 2s\n";
  // Checked with stand-ins, before any port exists...
  const SpecResult checked = Parse(text);
  for (const auto& error : checked.errors) UNSCOPED_INFO(error.Format());
  REQUIRE(checked.spec);
  CHECK(checked.spec->services[0].rules.at(0).where.peer_port == 1);
  CHECK(checked.spec->text == text);
  // ...and read with the run's values.
  const SpecResult run = ParseSpec(text, "x.yaml", "/specs", RunValues);
  REQUIRE(run.spec);
  CHECK(run.spec->services[0].rules.at(0).where.peer_port == 4100);
  CHECK(core::TextAttribute(run.spec->proxies[0].toxics.at(0).action.settings, "match") ==
        "^SET k42 ");
  CHECK(run.spec->faults.at(0).fault.where.peer_port == 4100);
  CHECK(core::TextAttribute(run.spec->faults.at(1).fault.action.settings, "match") ==
        "/runs/cleanup-race/r1");

  // A value can make a rule invalid only once it is known: the run says where.
  const std::string bad_port =
      "name: t\nduration: 1s\nservices:\n  s:\n    cmd: ./s\n"
      "    inject: [\"send port=7{{seed}}00 -> delay(1ms)\"]\n";
  REQUIRE(Parse(bad_port).spec);
  const SpecResult refused = ParseSpec(bad_port, "x.yaml", "/specs", RunValues);
  REQUIRE(refused.errors.size() == 1);
  CHECK_THAT(refused.errors[0].Format(), Catch::StartsWith("x.yaml:6:14: ") &&
                                             Catch::Contains("port=74200: expected 1 to 65535"));

  // One message for a template that names nothing, not a second for the rule it breaks.
  CHECK_THAT(OnlyError("name: t\nduration: 1s\nservices:\n  s:\n    cmd: ./s\n"
                       "    inject: [\"send port={{port}} -> delay(1ms)\"]\n"),
             Catch::StartsWith("x.yaml:6:14: unknown template {{port}}"));
}

TEST_CASE("a spec file that cannot be read says so", "[experiments][spec]") {
  const SpecResult result = LoadSpec("/nonexistent/spec.yaml");
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].Format() == "/nonexistent/spec.yaml: cannot read the file");
}

TEST_CASE("a toxic's durations take units and its chances percentages; bare numbers warn",
          "[experiments][spec]") {
  const std::string head =
      "name: a\nduration: 1s\nservices: {s: ./s}\nproxies:\n  p:\n    upstream: s\n"
      "    toxics:\n";
  const auto read = Parse(head +
                          "      - {type: latency, latency: 1.5s, jitter: 250ms}\n"
                          "      - {type: slicer, average_size: 10, delay: 2ms}\n"
                          "      - {type: drop, framing: line, probability: 12.5%, toxicity: 50%}\n"
                          "      - {type: timeout, attributes: {timeout: 2m}}\n");
  INFO((read.errors.empty() ? "" : read.errors[0].Format()));
  REQUIRE(read.spec);
  CHECK(read.warnings.empty());
  const auto& toxics = read.spec->proxies.at(0).toxics;
  CHECK(core::IntegerAttribute(toxics[0].action.settings, "latency") ==
        1500);  // the latency toxic's unit is ms
  CHECK(core::IntegerAttribute(toxics[0].action.settings, "jitter") == 250);
  CHECK(core::IntegerAttribute(toxics[1].action.settings, "delay") == 2000);  // the slicer's is µs
  CHECK(core::FractionAttribute(toxics[2].action.settings, "probability") == 0.125);
  CHECK(toxics[2].gate.probability.ppm() == 500000);
  CHECK(core::IntegerAttribute(toxics[3].action.settings, "timeout") == 120000);

  // A bare number is still milliseconds, with a warning that says how to write it.
  const auto bare = Parse(head + "      - {type: latency, latency: 800}\n");
  REQUIRE(bare.spec);
  CHECK(core::IntegerAttribute(bare.spec->proxies.at(0).toxics[0].action.settings, "latency") ==
        800);
  REQUIRE(bare.warnings.size() == 1);
  CHECK(bare.warnings[0].Format() ==
        "x.yaml:8:34: warning: latency: a bare number is taken as milliseconds; write "
        "`latency: 800ms` (bare numbers for durations in a spec are deprecated)");

  CHECK(OnlyError(head + "      - {type: latency, latency: soon}\n") ==
        "x.yaml:8:34: latency: bad duration 'soon': expected a non-negative number with a unit");
  CHECK_THAT(OnlyError(head + "      - {type: drop, framing: line, probability: 120%}\n"),
             Catch::StartsWith("x.yaml:8:50: probability: "));
  CHECK_THAT(OnlyError(head + "      - {type: latency, latency: 1ms, toxicity: lots}\n"),
             Catch::StartsWith("x.yaml:8:49: toxicity: bad probability 'lots'"));
}
