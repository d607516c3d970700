// Frame-aware toxics, holds and the event log on a manual clock: no sockets, no sleeps.

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "faultline/proxy/events.h"
#include "faultline/proxy/holds.h"
#include "faultline/proxy/pipeline.h"
#include "support/lines.h"

using namespace faultline;
using namespace faultline::proxy;
using namespace std::chrono_literals;
using faultline::testing::SplitLines;

namespace {

class Sink final : public PipelineSink {
 public:
  explicit Sink(core::Clock& clock) : clock_(clock) {}
  void Deliver(Chunk chunk) override {
    data.append(chunk.data.begin(), chunk.data.end());
    times.push_back(clock_.Now());
  }
  void DeliverEnd() override { ended = true; }
  void Close(CloseMode mode) override { closes.push_back(mode); }

  std::string data;
  std::vector<core::TimePoint> times;
  bool ended = false;
  std::vector<CloseMode> closes;

 private:
  core::Clock& clock_;
};

ToxicSpec Toxic(std::string type, core::Attributes attributes, std::string name = "t") {
  ToxicSpec spec;
  spec.type = std::move(type);
  spec.name = std::move(name);
  spec.attributes = std::move(attributes);
  auto ok = ValidateToxic(spec);
  INFO((ok ? std::string() : ok.message()));
  REQUIRE(ok.ok());
  return spec;
}

// Tasks posted to "the connection's thread", run when the test says so.
struct Mailbox {
  std::deque<std::function<void()>> tasks;
  void RunAll() {
    while (!tasks.empty()) {
      auto task = std::move(tasks.front());
      tasks.pop_front();
      task();
    }
  }
};

struct Conn {
  Conn(core::ManualClock& clock, std::vector<ToxicSpec> toxics, std::uint64_t seed = 7,
       std::string proxy = "p", HoldBoard* holds = nullptr, EventLog* events = nullptr,
       std::uint64_t connection = 1)
      : sink(clock),
        pipeline(clock, sink, seed, Env(proxy, holds, events, connection)),
        clock_(clock) {
    pipeline.SetToxics(toxics);
  }
  PipelineEnv Env(const std::string& proxy, HoldBoard* holds, EventLog* events,
                  std::uint64_t connection) {
    PipelineEnv env;
    env.proxy = proxy;
    env.connection = connection;
    env.holds = holds;
    env.events = events;
    env.post = [this](std::function<void()> task) { mailbox.tasks.push_back(std::move(task)); };
    return env;
  }
  void Push(const std::string& text) {
    pipeline.Push(Chunk{std::vector<char>(text.begin(), text.end()), clock_.Now()});
  }
  // As the proxy offers bytes still in the socket: if the toxics let them pass, the caller
  // forwards them itself, so they are appended to the sink's data here.
  bool Offer(const std::string& text) {
    const bool passed = pipeline.Offer(text, clock_.Now());
    if (passed) sink.data += text;
    return passed;
  }

  Mailbox mailbox;
  Sink sink;
  Pipeline pipeline;

 private:
  core::ManualClock& clock_;
};

std::string Lines(int from, int to) {
  std::string out;
  for (int i = from; i <= to; ++i) out += std::to_string(i) + "\n";
  return out;
}

const std::string kLine = "line";

}  // namespace

TEST_CASE("drop removes exactly the k-th frame and logs it", "[proxy][toxic][drop]") {
  core::ManualClock clock;
  EventLog events;
  Conn c(clock, {Toxic("drop", {{"framing", kLine}, {"frame", 3}})}, 7, "p", nullptr, &events);
  c.Push("1\n2\n3");  // frame 3 is incomplete here
  c.Push("\n4\n");
  CHECK(c.sink.data == "1\n2\n4\n");
  auto logged = events.Since(0, 10);
  REQUIRE(logged.size() == 1);
  CHECK(logged[0].action == "drop");
  CHECK(logged[0].frame == 3u);
  CHECK(logged[0].proxy == "p");
  CHECK(logged[0].direction == "downstream");
}

TEST_CASE("a line toxic added mid-line lets that line's tail pass and frames from the next",
          "[proxy][toxic][drop][live]") {
  core::ManualClock clock;
  Conn c(clock, {});
  c.Push("1\n2");  // no toxic yet: line 2 is half through
  c.pipeline.SetToxics(std::vector<ToxicSpec>{Toxic("drop", {{"framing", kLine}})});
  c.Push("2\n3\n4\n");
  // Every whole line is dropped, but "22" arrives whole: its tail is not a line of its own.
  CHECK(c.sink.data == "1\n22\n");
}

TEST_CASE("random drops follow the seed", "[proxy][toxic][drop][seed]") {
  core::ManualClock clock;
  auto run = [&](std::uint64_t seed) {
    Conn c(clock, {Toxic("drop", {{"framing", kLine}, {"probability", 0.5}})}, seed);
    c.Push(Lines(1, 200));
    return c.sink.data;
  };
  const std::string a = run(1);
  CHECK(a == run(1));
  CHECK(a != run(2));
  const auto kept = SplitLines(a).size();
  CHECK(kept > 60);  // 100 expected; far outside chance otherwise
  CHECK(kept < 140);
}

TEST_CASE("duplicate repeats the frames its regex matches", "[proxy][toxic][duplicate]") {
  core::ManualClock clock;
  Conn c(clock,
         {Toxic("duplicate", {{"framing", kLine}, {"match", std::string("^SET")}, {"copies", 2}})});
  c.Push("GET a\nSET b\nGET c\n");
  CHECK(c.sink.data == "GET a\nSET b\nSET b\nSET b\nGET c\n");
}

TEST_CASE("duplicate makes no more copies than a direction may hold, and logs the rest",
          "[proxy][toxic][duplicate][budget]") {
  core::ManualClock clock;
  EventLog events;
  Conn c(clock,
         {Toxic("duplicate",
                {{"framing", std::string("fixed")}, {"frame_size", 1 << 20}, {"copies", 1000}})},
         7, "p", nullptr, &events);
  c.Push(std::string(1 << 20, 'x'));
  // The sink here never drains, so the direction's 4 MiB is all there is: three copies.
  CHECK(c.sink.data.size() == 4u << 20);
  bool shed = false;
  for (const Event& e : events.Since(0, 10)) {
    if (e.action == "shed") shed = e.detail.find("997 of 1000 copies") != std::string::npos;
  }
  CHECK(shed);
}

TEST_CASE("match ^$ on line framing selects only the empty lines", "[proxy][toxic][match]") {
  core::ManualClock clock;
  Conn c(clock, {Toxic("drop", {{"framing", kLine}, {"match", std::string("^$")}})});
  c.Push("a\n\nb\r\n\r\n\nc\n");
  CHECK(c.sink.data == "a\nb\r\nc\n");
}

TEST_CASE("match sees a frame without its delimiter, ^ and $ anchoring the whole of it",
          "[proxy][toxic][match]") {
  core::ManualClock clock;
  SECTION("line: without the \\n or \\r\\n") {
    Conn c(clock, {Toxic("drop", {{"framing", kLine}, {"match", std::string("^GET .*foo$")}})});
    c.Push("GET /foo\nGET /foo\r\nPOST /foo\nGET /foo?x\n GET /foo\n");
    CHECK(c.sink.data == "POST /foo\nGET /foo?x\n GET /foo\n");
  }
  SECTION("length-prefixed: without the length") {
    const std::string get("\0\0\0\x05GET x", 9);
    const std::string put("\0\0\0\x05PUT x", 9);
    const std::string empty("\0\0\0\0", 4);
    Conn c(clock, {Toxic("drop", {{"framing", std::string("length-prefixed")},
                                  {"match", std::string("^GET x$")}})});
    c.Push(get + put + get);
    CHECK(c.sink.data == put);
    Conn e(clock, {Toxic("drop", {{"framing", std::string("length-prefixed")},
                                  {"match", std::string("^$")}})});
    e.Push(put + empty + put);
    CHECK(e.sink.data == put + put);
  }
  SECTION("raw: a read's inner newlines are no anchors") {
    Conn c(clock, {Toxic("drop", {{"match", std::string("^b|a$")}})});
    c.Push("a\nb\nc");
    CHECK(c.sink.data == "a\nb\nc");
    c.Push("b\nc");  // dropped: "b" starts the frame
    c.Push("c\na");  // dropped: "a" ends it
    c.Push("z");
    CHECK(c.sink.data == "a\nb\ncz");
  }
  SECTION("a hold parks at the first frame whose payload matches") {
    Conn c(clock, {Toxic("hold", {{"framing", kLine}, {"match", std::string("^COMMIT$")}})});
    c.Push("BEGIN\nCOMMIT;\nCOMMIT\r\nafter\n");
    CHECK(c.sink.data == "BEGIN\nCOMMIT;\n");
  }
}

TEST_CASE("a pathological pattern on a long line takes linear time", "[proxy][toxic][match]") {
  // (a|a)*c backtracks exponentially in a backtracking engine: Boost's took over a second per
  // 20 KB line, stalling the worker.
  core::ManualClock clock;
  Conn c(clock, {Toxic("drop", {{"framing", kLine}, {"match", std::string("(a|a)*c")}})});
  const std::string line = std::string(20000, 'a') + "\n";
  const auto start = std::chrono::steady_clock::now();
  c.Push(line);
  c.Push(std::string(20000, 'a') + "c\n");  // this one matches: dropped
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(c.sink.data == line);
  CHECK(took < 100ms);
}

TEST_CASE("delay holds one frame back and keeps the order", "[proxy][toxic][delay]") {
  core::ManualClock clock;
  Conn c(clock, {Toxic("delay", {{"framing", kLine}, {"frame", 2}, {"delay", 50}})});
  c.Push("1\n2\n3\n");
  CHECK(c.sink.data == "1\n");
  clock.Advance(49ms);
  CHECK(c.sink.data == "1\n");
  clock.Advance(1ms);
  CHECK(c.sink.data == "1\n2\n3\n");
  c.Push("4\n");  // nothing is selected any more: straight through
  CHECK(c.sink.data == "1\n2\n3\n4\n");
}

TEST_CASE("reorder with frame k swaps frames k and k+1", "[proxy][toxic][reorder]") {
  core::ManualClock clock;
  Conn c(clock, {Toxic("reorder", {{"framing", kLine}, {"frame", 2}})});
  c.Push("1\n2\n");
  CHECK(c.sink.data == "1\n");
  c.Push("3\n4\n");
  CHECK(c.sink.data == "1\n3\n2\n4\n");
}

TEST_CASE("reorder permutes each window, loses nothing, and follows the seed",
          "[proxy][toxic][reorder][seed]") {
  core::ManualClock clock;
  auto run = [&](std::uint64_t seed) {
    Conn c(clock, {Toxic("reorder", {{"framing", kLine}, {"window", 3}})}, seed);
    c.Push(Lines(1, 30));
    return SplitLines(c.sink.data);
  };
  const auto order = run(1);
  REQUIRE(order.size() == 30);
  auto sorted = order;
  std::sort(sorted.begin(), sorted.end());
  auto expected = SplitLines(Lines(1, 30));
  std::sort(expected.begin(), expected.end());
  CHECK(sorted == expected);
  for (std::size_t w = 0; w < 30; w += 3) {
    // Every window stays within itself and is never left in its original order.
    std::vector<int> window;
    for (std::size_t i = w; i < w + 3; ++i) window.push_back(std::stoi(order[i]));
    CHECK(*std::min_element(window.begin(), window.end()) == static_cast<int>(w) + 1);
    CHECK_FALSE(std::is_sorted(window.begin(), window.end()));
  }
  CHECK(order == run(1));
  CHECK((order != run(2) || order != run(3)));
}

TEST_CASE("a window that does not fill goes out after max_wait", "[proxy][toxic][reorder]") {
  core::ManualClock clock;
  Conn c(clock, {Toxic("reorder", {{"framing", kLine}, {"window", 4}, {"max_wait", 20}})});
  c.Push("a\nb\n");
  CHECK(c.sink.data.empty());
  clock.Advance(20ms);
  CHECK(c.sink.data == "b\na\n");
}

TEST_CASE("a hold at the k-th frame parks it and all after it until its timeout",
          "[proxy][toxic][hold]") {
  core::ManualClock clock;
  EventLog events;
  Conn c(clock, {Toxic("hold", {{"framing", kLine}, {"frame", 2}, {"timeout", 100}})}, 7, "p",
         nullptr, &events);
  c.Push("1\n2\n3\n");
  c.pipeline.End();
  CHECK(c.sink.data == "1\n");
  CHECK_FALSE(c.sink.ended);
  CHECK(c.pipeline.buffered_bytes() == 4);
  clock.Advance(100ms);
  CHECK(c.sink.data == "1\n2\n3\n");
  CHECK(c.sink.ended);
  c.Push("ignored after end");
  auto logged = events.Since(0, 10);
  REQUIRE(logged.size() == 2);
  CHECK(logged[0].action == "hold");
  CHECK(logged[1].action == "release");
  CHECK(logged[1].detail == "timeout 100ms");
}

TEST_CASE("a hold with no timeout still lets go after 60 s", "[proxy][toxic][hold]") {
  core::ManualClock clock;
  Conn c(clock, {Toxic("hold", {})});
  c.Push("x");
  clock.Advance(59s);
  CHECK(c.sink.data.empty());
  clock.Advance(1s);
  CHECK(c.sink.data == "x");
}

TEST_CASE("a hold after N bytes splits the read there", "[proxy][toxic][hold]") {
  core::ManualClock clock;
  HoldBoard board;
  Conn c(clock, {Toxic("hold", {{"bytes", 5}}, "h")}, 7, "p", &board);
  c.Push("abc");
  c.Push("defgh");
  CHECK(c.sink.data == "abcde");
  REQUIRE(board.List().size() == 1);
  CHECK(board.List()[0].toxic == "h");
  CHECK(board.Release("p", "h", std::nullopt, false).size() == 1);
  CHECK(c.sink.data == "abcde");  // the release runs on the connection's own thread
  c.mailbox.RunAll();
  CHECK(c.sink.data == "abcdefgh");
  CHECK(board.List().empty());
  CHECK(board.Release("p", "h", std::nullopt, false).empty());  // released twice: nothing
}

TEST_CASE("release_on forces one connection's frame after another's",
          "[proxy][toxic][hold][point]") {
  core::ManualClock clock;
  HoldBoard board;
  EventLog events;
  auto hold = Toxic("hold", {{"framing", kLine}, {"release_on", std::string("b/sent")}}, "wait");
  auto point = Toxic("point", {{"framing", kLine}, {"frame", 1}}, "sent");
  for (std::uint64_t round = 1; round <= 3; ++round) {
    Conn a(clock, {hold}, 7, "a", &board, &events, round);
    Conn b(clock, {point}, 7, "b", &board, &events, round);
    a.Push("from a\n");
    CHECK(a.sink.data.empty());
    a.mailbox.RunAll();
    CHECK(a.sink.data.empty());  // the point of this round has not been reached yet
    b.Push("from b\n");
    CHECK(b.sink.data == "from b\n");
    a.mailbox.RunAll();
    CHECK(a.sink.data == "from a\n");
  }
  CHECK(board.reached("b/sent") == 3);
  // A hold whose point was already reached does not wait at all.
  Conn late_b(clock, {point}, 7, "b", &board, &events, 4);
  late_b.Push("b first\n");
  Conn late_a(clock, {hold}, 7, "a", &board, &events, 4);
  late_a.Push("a second\n");
  late_a.mailbox.RunAll();
  CHECK(late_a.sink.data == "a second\n");
}

TEST_CASE("removing a hold sends what it held, in order", "[proxy][toxic][hold]") {
  core::ManualClock clock;
  HoldBoard board;
  Conn c(clock, {Toxic("hold", {}, "h")}, 7, "p", &board);
  c.Push("one ");
  c.Push("two");
  CHECK(c.sink.data.empty());
  c.pipeline.SetToxics({});
  CHECK(c.sink.data == "one two");
  CHECK(board.List().empty());
}

TEST_CASE("a connection closed while held leaves no hold behind", "[proxy][toxic][hold]") {
  core::ManualClock clock;
  HoldBoard board;
  {
    Conn c(clock, {Toxic("hold", {}, "h")}, 7, "p", &board);
    c.Push("x");
    CHECK(board.List().size() == 1);
  }
  CHECK(board.List().empty());
}

TEST_CASE("malformed framing closes the connection with a logged reason", "[proxy][framing]") {
  core::ManualClock clock;
  EventLog events;
  Conn c(clock,
         {Toxic("drop", {{"framing", std::string("length-prefixed")},
                         {"length_bytes", 2},
                         {"max_frame", 16},
                         {"frame", 9}})},
         7, "p", nullptr, &events);
  c.Push(std::string("\0\x03", 2) + "abc" + std::string("\x10\x00", 2));
  CHECK(c.sink.data == std::string("\0\x03", 2) + "abc");
  REQUIRE(c.sink.closes.size() == 1);
  CHECK(c.sink.closes[0] == CloseMode::kReset);
  auto logged = events.Since(0, 10);
  REQUIRE(logged.size() == 1);
  CHECK(logged[0].action == "close");
  CHECK(logged[0].detail.find("over max_frame") != std::string::npos);
}

TEST_CASE("an unfinished frame at the end of the stream passes unchanged", "[proxy][framing]") {
  core::ManualClock clock;
  Conn c(clock, {Toxic("drop", {{"framing", kLine}, {"match", std::string("never")}})});
  c.Push("whole\npart");
  CHECK(c.sink.data == "whole\n");
  c.pipeline.End();
  CHECK(c.sink.data == "whole\npart");
  CHECK(c.sink.ended);
}

TEST_CASE("targeting picks connections by index, period and client", "[proxy][toxic]") {
  core::Connections target;
  CHECK(target.Matches(5, "10.0.0.1"));
  target.every = 2;
  CHECK_FALSE(target.Matches(3, ""));
  CHECK(target.Matches(4, ""));
  target = core::Connections{3, 0, ""};
  CHECK(target.Matches(3, ""));
  CHECK_FALSE(target.Matches(4, ""));
  target = core::Connections{0, 0, "127.0.0.2"};
  CHECK(target.Matches(1, "127.0.0.2"));
  CHECK_FALSE(target.Matches(1, "127.0.0.1"));

  core::ManualClock clock;
  auto drop = Toxic("drop", {});
  drop.target.connection = 2;
  Conn first(clock, {drop}, 7, "p", nullptr, nullptr, 1);
  Conn second(clock, {drop}, 7, "p", nullptr, nullptr, 2);
  first.Push("kept");
  second.Push("dropped");
  CHECK(first.sink.data == "kept");
  CHECK(second.sink.data.empty());
}

TEST_CASE("the event log numbers events and pages through them", "[proxy][events]") {
  EventLog log(3);
  for (int i = 0; i < 5; ++i) {
    Event e;
    e.action = "a" + std::to_string(i);
    CHECK(log.Append(e) == static_cast<std::uint64_t>(i + 1));
  }
  CHECK(log.last_seq() == 5);
  auto kept = log.Since(0, 100);  // capacity 3: the oldest two are gone from memory
  REQUIRE(kept.size() == 3);
  CHECK(kept[0].seq == 3);
  auto page = log.Since(3, 1);
  REQUIRE(page.size() == 1);
  CHECK(page[0].action == "a3");
  CHECK(log.Since(5, 10).empty());
}

TEST_CASE("bandwidth keeps datagrams whole", "[proxy][toxic][bandwidth]") {
  core::ManualClock clock;
  Sink sink(clock);
  PipelineEnv env;
  env.datagrams = true;
  Pipeline pipeline(clock, sink, 1, env);
  const std::vector<ToxicSpec> toxics = {Toxic("bandwidth", {{"rate", 1}})};  // 100 B pieces
  pipeline.SetToxics(toxics);
  pipeline.Push(Chunk{std::vector<char>(250, 'x'), clock.Now()});
  clock.Advance(249ms);
  CHECK(sink.data.empty());
  clock.Advance(1ms);  // 250 bytes at 1000 B/s
  CHECK(sink.data.size() == 250);
  CHECK(sink.times.size() == 1);  // one datagram, not three pieces
}

TEST_CASE("the event log writes one JSON line per event to its file", "[proxy][events]") {
  const std::string path = "/tmp/faultline-events-test-" + std::to_string(::getpid()) + ".jsonl";
  std::remove(path.c_str());
  {
    EventLog log;
    REQUIRE(log.WriteTo(path).ok());
    Event e;
    e.proxy = "db";
    e.action = "drop";
    e.frame = 4;
    log.Append(e);
    e.action = "hold";
    e.frame.reset();
    log.Append(e);
  }
  std::ifstream in(path);
  std::string first;
  std::string second;
  REQUIRE(std::getline(in, first));
  REQUIRE(std::getline(in, second));
  CHECK(first.find(R"("seq":1)") != std::string::npos);
  CHECK(first.find(R"("frame":4)") != std::string::npos);
  CHECK(second.find(R"("action":"hold")") != std::string::npos);
  CHECK(second.find(R"("frame":null)") != std::string::npos);
  std::remove(path.c_str());
  EventLog unwritable;
  CHECK_FALSE(unwritable.WriteTo("/nonexistent-dir/events.jsonl").ok());
}

TEST_CASE("dropping the k-th line is exact on large reads of any size", "[proxy][toxic][drop]") {
  // Large reads go through the path that counts lines in bulk instead of visiting each.
  core::Rng rng(99);
  std::string text;
  std::vector<std::string> lines;
  while (text.size() < 300000) {
    std::string line(rng.Below(300), 'x');
    for (char& c : line) c = static_cast<char>('a' + rng.Below(26));
    line += '\n';
    lines.push_back(line);
    text += line;
  }
  for (std::uint64_t k : {std::uint64_t{1}, std::uint64_t{777}, std::uint64_t{lines.size()}}) {
    core::ManualClock clock;
    Conn c(clock, {Toxic("drop", {{"framing", kLine}, {"frame", static_cast<std::int64_t>(k)}})});
    for (std::size_t at = 0; at < text.size();) {
      const std::size_t n = 1 + rng.Below(70000);
      // Reads arrive both ways: copied in (Push), or offered while still in the socket.
      if (rng.Below(2) == 0) {
        c.Push(text.substr(at, n));
      } else {
        c.Offer(text.substr(at, n));
      }
      at += n;
    }
    std::string expected;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (i + 1 != k) expected += lines[i];
    }
    CAPTURE(k);
    CHECK(c.sink.data == expected);
  }
}

TEST_CASE("offered bytes a frame toxic does not want pass without a copy",
          "[proxy][toxic][offer]") {
  core::ManualClock clock;
  Conn c(clock, {Toxic("drop", {{"framing", kLine}, {"frame", 5}})});
  CHECK(c.Offer("1\n2\n"));
  CHECK(c.Offer("3\n4"));  // line 4 is unfinished, and not the wanted one
  CHECK(c.sink.data == "1\n2\n3\n4");
  // Line 5 completes here: the toxic takes a copy, drops it and lets the rest through.
  CHECK_FALSE(c.Offer("\n5\n6\n"));
  CHECK(c.sink.data == "1\n2\n3\n4\n6\n");
  // Nothing is left to drop: everything passes.
  CHECK(c.Offer("7\n"));
  CHECK(c.sink.data == "1\n2\n3\n4\n6\n7\n");
}

TEST_CASE("an offer that would reach the wanted frame is declined unchanged",
          "[proxy][toxic][offer]") {
  core::ManualClock clock;
  Conn c(clock, {Toxic("drop", {{"framing", kLine}, {"frame", 3}})});
  CHECK(c.Offer("1\n"));
  // Line 3 begins in this read, unfinished: the toxic must see it whole.
  CHECK_FALSE(c.Offer("2\n3"));
  CHECK(c.sink.data == "1\n2\n");
  c.Push("33\n4\n");
  CHECK(c.sink.data == "1\n2\n4\n");
}

TEST_CASE("a toxic holding data declines offers, so nothing overtakes it",
          "[proxy][toxic][offer]") {
  core::ManualClock clock;
  Conn c(clock, {Toxic("delay", {{"framing", kLine}, {"frame", 2}, {"delay", 50}})});
  CHECK_FALSE(c.Offer("1\n2\n"));
  CHECK(c.sink.data == "1\n");
  CHECK_FALSE(c.Offer("3\n"));  // line 2 is still held
  clock.Advance(50ms);
  CHECK(c.sink.data == "1\n2\n3\n");
  CHECK(c.Offer("4\n"));
}

TEST_CASE("an offer passed by one toxic reaches the next one that needs it",
          "[proxy][toxic][offer]") {
  core::ManualClock clock;
  Conn c(clock, {Toxic("drop", {{"framing", kLine}, {"frame", 1000}}, "far"),
                 Toxic("latency", {{"latency", 20}}, "slow")});
  CHECK_FALSE(c.Offer("a\nb\n"));
  CHECK(c.sink.data.empty());
  clock.Advance(20ms);
  CHECK(c.sink.data == "a\nb\n");
  // The drop counted those two lines: the 1000th is still 998 lines away.
  std::string lines;
  for (int i = 3; i <= 1001; ++i) lines += std::to_string(i) + "\n";
  c.Push(lines);
  clock.Advance(20ms);
  std::string expected = "a\nb\n";
  for (int i = 3; i <= 1001; ++i) {
    if (i != 1000) expected += std::to_string(i) + "\n";
  }
  CHECK(c.sink.data == expected);
}
