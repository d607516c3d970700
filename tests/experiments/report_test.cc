// report.html: built from a run directory's files, well-formed (parsed here as XML), with
// each fault window where its events put it, the violation and its evidence op marked,
// everything from the run escaped, and bounded in size for a large history.

#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "faultline/experiments/report.h"
#include "support/run.h"

using namespace faultline;
using namespace faultline::experiments;
using faultline::testing::TempDir;
namespace fs = std::filesystem;
namespace pt = boost::property_tree;

namespace {

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::string Read(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// One element of the page: its attributes and the text of its <title>, if any.
struct Element {
  std::map<std::string, std::string> attributes;
  std::string title;
  std::string text;
};

void Collect(const pt::ptree& tree, const std::string& tag, std::vector<Element>& out) {
  for (const auto& [name, child] : tree) {
    if (name == tag) {
      Element element;
      if (auto attributes = child.get_child_optional("<xmlattr>")) {
        for (const auto& [key, value] : *attributes) element.attributes[key] = value.data();
      }
      element.title = child.get("title", "");
      element.text = child.data();
      out.push_back(std::move(element));
    }
    Collect(child, tag, out);
  }
}

// Parses the page as XML: a REQUIRE that it is well-formed, then every element of a tag.
struct Page {
  explicit Page(const std::string& path) : text(Read(path)) {
    std::istringstream in(text);
    try {
      pt::read_xml(in, tree);
      parsed = true;
    } catch (const pt::xml_parser_error& e) {
      FAIL("report.html is not well-formed: " << e.what());
    }
  }
  std::vector<Element> All(const std::string& tag) const {
    std::vector<Element> out;
    Collect(tree, tag, out);
    return out;
  }
  std::vector<Element> Rects(const std::string& css) const {
    std::vector<Element> out;
    for (Element& rect : All("rect")) {
      if (rect.attributes["class"] == css) out.push_back(std::move(rect));
    }
    return out;
  }
  std::string text;
  pt::ptree tree;
  bool parsed = false;
};

double Attribute(const Element& element, const std::string& name) {
  return std::stod(element.attributes.at(name));
}

// The timeline's x for a time, given the run's length: what the page promises to draw.
double X(double seconds, double length) { return 190 + seconds / length * 960; }

std::string Line(const boost::json::object& object) { return boost::json::serialize(object); }

// A run of 10 s: two services, a toxic window, a rule window, a fault that failed, a crash,
// and a checker's violation naming op 5 as its evidence.
void WriteFailedRun(const fs::path& run) {
  WriteFile(run / "seed", "42\n");
  std::string events;
  for (const auto& event : std::vector<boost::json::object>{
           {{"time", 0.0},
            {"event", "run_started"},
            {"experiment", "demo"},
            {"run_id", "20261123T101500-42"},
            {"seed", "42"}},
           {{"time", 0.1}, {"event", "service_started"}, {"service", "store"}, {"pid", 10}},
           {{"time", 0.2}, {"event", "service_ready"}, {"service", "store"}},
           {{"time", 2.0},
            {"event", "fault_started"},
            {"fault", "f1"},
            {"kind", "latency"},
            {"target", "front"},
            {"description", "f1 at 2s for 3s: latency on proxy front"}},
           {{"time", 3.0},
            {"event", "fault_started"},
            {"fault", "n1.1"},
            {"kind", "rule"},
            {"target", "store"},
            {"description", "n1.1 at 3s for 1s: service store write -> fail(EIO)"}},
           {{"time", 4.0}, {"event", "fault_ended"}, {"fault", "n1.1"}},
           {{"time", 4.5},
            {"event", "fault_failed"},
            {"fault", "f2"},
            {"kind", "pause"},
            {"target", "store"},
            {"description", "f2 at 4.5s: service store -> pause"},
            {"error", "no such process"}},
           {{"time", 5.0}, {"event", "fault_ended"}, {"fault", "f1"}},
           {{"time", 6.0}, {"event", "service_exited"}, {"service", "store"}, {"code", 3}},
           {{"time", 9.0},
            {"event", "invariant_violated"},
            {"invariant", "no-errors"},
            {"summary", "op 5 (process 1, get) failed"}},
           {{"time", 10.0}, {"event", "run_ended"}, {"verdict", "fail"}}}) {
    events += Line(event) + "\n";
  }
  WriteFile(run / "events.jsonl", events);
  WriteFile(run / "result.json",
            Line({{"experiment", "demo"},
                  {"run_id", "20261123T101500-42"},
                  {"seed", "42"},
                  {"verdict", "fail"},
                  {"duration_seconds", 10.0},
                  {"violations", boost::json::array{{{"invariant", "no-errors"},
                                                     {"summary", "op 5 (process 1, get) failed"},
                                                     {"evidence", {{"op_index", 5}}}}}},
                  {"ops", {{"ok", 2}, {"failed", 1}, {"total", 6}}}}));
  std::string history;
  const char* lines[] = {
      R"({"type":"invoke","f":"get","value":null,"process":0,"time":1000000000,"index":0})",
      R"({"type":"ok","f":"get","value":1,"process":0,"time":1500000000,"index":1})",
      R"({"type":"invoke","f":"get","value":null,"process":1,"time":2000000000,"index":2})",
      R"({"type":"ok","f":"get","value":1,"process":1,"time":2500000000,"index":3})",
      R"({"type":"invoke","f":"get","value":null,"process":1,"time":3000000000,"index":4})",
      R"({"type":"fail","f":"get","value":null,"process":1,"time":3500000000,"index":5})"};
  for (const char* line : lines) history += std::string(line) + "\n";
  WriteFile(run / "history.jsonl", history);
  WriteFile(run / "logs" / "store.log", "hello\n");
}

}  // namespace

TEST_CASE("the report draws each fault window, the violation and its evidence",
          "[experiments][report]") {
  TempDir dir;
  const fs::path run = fs::path(dir.path) / "demo" / "20261123T101500-42";
  WriteFailedRun(run);
  const auto path = WriteReport(run.string());
  REQUIRE(path);
  CHECK(*path == (run / "report.html").string());
  const Page page(*path);
  REQUIRE(page.parsed);

  CHECK(page.tree.get<std::string>("html.head.title") == "demo 20261123T101500-42: fail");
  const auto verdicts = page.All("span");
  REQUIRE(!verdicts.empty());
  CHECK(verdicts[0].text == "fail");

  // The toxic window from 2 s to 5 s, the rule's from 3 s to 4 s, on a 10 s axis.
  const auto toxics = page.Rects("toxic");
  REQUIRE(toxics.size() == 1);
  CHECK(Attribute(toxics[0], "x") == Approx(X(2, 10)).margin(0.1));
  CHECK(Attribute(toxics[0], "width") == Approx(X(5, 10) - X(2, 10)).margin(0.2));
  CHECK_THAT(toxics[0].title, Catch::StartsWith("f1 at 2s for 3s: latency on proxy front"));
  const auto rules = page.Rects("shim");
  REQUIRE(rules.size() == 1);
  CHECK(Attribute(rules[0], "x") == Approx(X(3, 10)).margin(0.1));
  CHECK(Attribute(rules[0], "width") == Approx(X(4, 10) - X(3, 10)).margin(0.2));
  const auto failed = page.Rects("faultfailed");
  REQUIRE(failed.size() == 1);
  CHECK_THAT(failed[0].title, Catch::EndsWith("could not be applied: no such process"));
  // Each applied window also shades the rows below it.
  CHECK(page.Rects("shade toxic").size() == 1);
  CHECK(page.Rects("shade shim").size() == 1);

  // The crash, and the violation as a line at 9 s and a block of its own.
  const auto exits = page.Rects("exit");
  REQUIRE(exits.size() == 2);  // the crash at 6 s and the violation at 9 s
  CHECK_THAT(exits[0].title, Catch::StartsWith("no-errors violated at 9.000 s"));
  CHECK_THAT(exits[1].title, Catch::StartsWith("exited at 6.000 s (code 3)"));
  const auto lines = page.All("line");
  const auto violation_line = std::find_if(lines.begin(), lines.end(), [](const Element& line) {
    return line.attributes.at("class") == "vline";
  });
  REQUIRE(violation_line != lines.end());
  CHECK(Attribute(*violation_line, "x1") == Approx(X(9, 10)).margin(0.1));
  CHECK_THAT(page.text, Catch::Contains("<div class=\"violation\"><b>no-errors</b> at 9.000 s"));

  // Operations: two ok and one failed, and the failed one (op 5 completes invoke 4) outlined.
  CHECK(page.Rects("ok").size() >= 2);
  CHECK(page.Rects("failop").size() >= 1);
  const auto evidence = page.Rects("evidence");
  REQUIRE(evidence.size() == 1);
  CHECK(Attribute(evidence[0], "x") == Approx(X(3, 10) - 2).margin(0.1));
  bool evidence_titled = false;
  for (const Element& rect : page.Rects("failop")) {
    evidence_titled |= rect.title.starts_with("first evidence of the violation: op 4 (process 1");
  }
  CHECK(evidence_titled);

  // The replay command and links to the run's files.
  CHECK_THAT(page.text, Catch::Contains("faultline replay " + run.string()));
  CHECK_THAT(page.text, Catch::Contains("<a href=\"logs/store.log\">"));
  CHECK_THAT(page.text, Catch::Contains("<a href=\"history.jsonl\">"));
}

TEST_CASE("the report escapes everything that comes from the run", "[experiments][report]") {
  TempDir dir;
  const fs::path run = fs::path(dir.path) / "x" / "1-1";
  WriteFile(run / "seed", "1\n");
  WriteFile(run / "events.jsonl", Line({{"time", 1.0},
                                        {"event", "invariant_violated"},
                                        {"invariant", "<b>bold</b>"},
                                        {"summary", "</div><script>alert(\"x\")</script>"}}) +
                                      "\n");
  WriteFile(run / "result.json",
            Line({{"verdict", "fail\"><script>"},
                  {"violations", boost::json::array{{{"invariant", "<b>bold</b>"},
                                                     {"summary", "<script>alert('x')</script>"},
                                                     {"evidence", {{"note", "a & b"}}}}}}}));
  const auto path = WriteReport(run.string());
  REQUIRE(path);
  const Page page(*path);
  REQUIRE(page.parsed);
  CHECK(page.text.find("<script") == std::string::npos);
  CHECK(page.text.find("<b>bold") == std::string::npos);
  CHECK_THAT(page.text, Catch::Contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
  CHECK_THAT(page.text, Catch::Contains("a &amp; b"));
}

TEST_CASE("a killed run gets a report from its event log", "[experiments][report]") {
  TempDir dir;
  const fs::path run = fs::path(dir.path) / "x" / "1-7";
  WriteFile(run / "seed", "7\n");
  // No result.json, no history.jsonl, and the last event cut off mid-line by the kill.
  WriteFile(run / "events.jsonl",
            Line({{"time", 0.5},
                  {"event", "run_started"},
                  {"experiment", "x"},
                  {"run_id", "1-7"},
                  {"seed", "7"}}) +
                "\n" +
                Line({{"time", 1.0},
                      {"event", "fault_started"},
                      {"fault", "f1"},
                      {"kind", "pause"},
                      {"target", "s"},
                      {"description", "f1 at 1s: service s -> pause"}}) +
                "\n" + Line({{"time", 3.0}, {"event", "service_ready"}, {"service", "t"}}) +
                "\n{\"time\":4.0,\"event\":\"fau");
  const auto path = WriteReport(run.string());
  REQUIRE(path);
  const Page page(*path);
  REQUIRE(page.parsed);
  CHECK(page.tree.get<std::string>("html.head.title") == "x 1-7: incomplete");
  CHECK_THAT(page.text, Catch::Contains("This run has no result.json"));
  CHECK_THAT(page.text, Catch::Contains("1 line(s) of events.jsonl could not be read"));
  // The pause is still on when the log ends: its window runs to the end of the axis.
  const auto pauses = page.Rects("process");
  REQUIRE(pauses.size() == 1);
  CHECK(Attribute(pauses[0], "x") == Approx(X(1, 3)).margin(0.1));
  CHECK(Attribute(pauses[0], "x") + Attribute(pauses[0], "width") == Approx(X(3, 3)).margin(0.2));
  CHECK_THAT(pauses[0].title, Catch::EndsWith("(1.000 s to the end)"));
}

TEST_CASE("a large history is drawn as counts, and the page stays small", "[experiments][report]") {
  TempDir dir;
  const fs::path run = fs::path(dir.path) / "x" / "1-3";
  WriteFile(run / "seed", "3\n");
  WriteFile(run / "events.jsonl",
            Line({{"time", 0.0}, {"event", "run_started"}, {"experiment", "x"}}) + "\n");
  History history;
  const std::uint64_t invokes = kMaxDrawnOps * 5;
  for (std::uint64_t i = 0; i < invokes; ++i) {
    Op invoke;
    invoke.f = "write";
    invoke.process = static_cast<int>(i % 4);
    invoke.time_ns = static_cast<std::int64_t>(i) * 1'000'000;
    history.Append(invoke);
    Op done = invoke;
    done.type = i % 10 == 0 ? Op::Type::kFail : Op::Type::kOk;
    done.time_ns += 500'000;
    history.Append(done);
  }
  const auto path = WriteReport(run.string(), history);
  REQUIRE(path);
  const Page page(*path);
  REQUIRE(page.parsed);
  CHECK(fs::file_size(*path) < 200'000);
  CHECK_THAT(page.text, Catch::Contains(std::to_string(invokes) +
                                        " operations by 4 processes: too many to draw"));
  // Counts per interval: every completion is in one bar, ok and failed apart.
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  for (const Element& bar : page.Rects("ok")) ok += std::stoull(bar.title);
  for (const Element& bar : page.Rects("failop")) failed += std::stoull(bar.title);
  CHECK(ok == invokes - invokes / 10);
  CHECK(failed == invokes / 10);
}

TEST_CASE("a directory that is not a run has no report", "[experiments][report]") {
  TempDir dir;
  const auto path = WriteReport(dir.path);
  REQUIRE(!path);
  CHECK(path.message() == dir.path + " is not a run directory (no events.jsonl)");
}

TEST_CASE("the report sums up each fault's decisions instead of listing them",
          "[experiments][report][decisions]") {
  TempDir dir;
  const fs::path run = fs::path(dir.path) / "x" / "1-9";
  WriteFile(run / "seed", "9\n");
  std::string events =
      Line({{"time", 0.1}, {"event", "run_started"}, {"experiment", "x"}, {"seed", "9"}}) + "\n";
  const boost::json::object drop = {{"event", "decision"}, {"fault", "f1"},  {"kind", "drop"},
                                    {"family", "proxy"},   {"target", "db"}, {"action", "drop"},
                                    {"connection", 1},     {"frame", 1}};
  for (int i = 0; i < 3; ++i) {
    boost::json::object line = drop;
    line["time"] = 1.0 + i;
    events += Line(line) + "\n";
  }
  events += Line({{"time", 3.5},
                  {"event", "decisions_aggregated"},
                  {"fault", "f1"},
                  {"kind", "drop"},
                  {"target", "db"},
                  {"action", "drop"},
                  {"count", 500},
                  {"from", 3},
                  {"to", 4}}) +
            "\n" +
            Line({{"time", 0.5},
                  {"event", "decision"},
                  {"fault", "f2"},
                  {"kind", "rule"},
                  {"target", "agent"},
                  {"action", "fail"}}) +
            "\n" +
            Line({{"time", 3.6},
                  {"event", "decisions_lost"},
                  {"family", "shim"},
                  {"target", "agent"},
                  {"count", 12}}) +
            "\n";
  WriteFile(run / "events.jsonl", events);
  const auto path = WriteReport(run.string());
  REQUIRE(path);
  const Page page(*path);
  REQUIRE(page.parsed);
  CHECK_THAT(page.text, Catch::Contains("<h2>Decisions</h2>"));
  CHECK_THAT(page.text, Catch::Contains("12 decision(s) were overwritten"));
  // f2 decided first, so its row comes first; f1's counts its summed-up 500.
  const auto f2 =
      page.text.find("<tr><td>f2</td><td>rule</td><td>agent</td><td>fail</td><td>1</td>");
  const auto f1 = page.text.find(
      "<tr><td>f1</td><td>drop</td><td>db</td><td>drop</td><td>503</td><td>1.000</td><td>3.500</"
      "td>");
  CHECK(f2 != std::string::npos);
  CHECK(f1 != std::string::npos);
  CHECK(f2 < f1);
  // The events table leaves them out.
  const auto table = page.text.find("<h2>Events</h2>");
  REQUIRE(table != std::string::npos);
  CHECK(page.text.find(">decision<", table) == std::string::npos);
  CHECK(page.text.find(">decisions_lost<", table) != std::string::npos);
}
