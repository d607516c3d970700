// Pipeline and toxic behaviour on a manual clock: no sockets, no sleeps.

#include "faultline/proxy/pipeline.h"
#include "faultline/proxy/events.h"

#include <catch2/catch.hpp>

#include <numeric>
#include <string>

using namespace faultline;
using namespace faultline::proxy;
using namespace std::chrono_literals;

namespace {

// Records what reaches the end of the chain, with the time it arrived.
class RecordingSink final : public PipelineSink {
 public:
  explicit RecordingSink(core::Clock& clock) : clock_(clock) {}
  void Deliver(Chunk chunk) override {
    data.append(chunk.data.begin(), chunk.data.end());
    arrivals.push_back({std::string(chunk.data.begin(), chunk.data.end()), clock_.Now()});
  }
  void DeliverEnd() override { ended_at = clock_.Now(), ended = true; }
  void Close(CloseMode mode) override { closes.push_back(mode); }
  void ToxicActivated(const ToxicSpec& spec) override { activated.push_back(spec.name); }

  struct Arrival {
    std::string bytes;
    core::TimePoint at;
  };
  std::string data;
  std::vector<Arrival> arrivals;
  bool ended = false;
  core::TimePoint ended_at{};
  std::vector<CloseMode> closes;
  std::vector<std::string> activated;

 private:
  core::Clock& clock_;
};

ToxicSpec Toxic(std::string type, core::Attributes attributes, std::string name = "") {
  ToxicSpec spec;
  spec.type = std::move(type);
  spec.name = std::move(name);
  spec.attributes = std::move(attributes);
  REQUIRE(ValidateToxic(spec));
  return spec;
}

struct Fixture {
  core::ManualClock clock;
  RecordingSink sink{clock};
  EventLog events;
  Pipeline pipeline{clock, sink, 1234, Env()};

  PipelineEnv Env() {
    PipelineEnv env;
    env.proxy = "p";
    env.connection = 1;
    env.events = &events;
    return env;
  }
  // The actions the toxics logged, oldest first.
  std::vector<std::string> Logged() const {
    std::vector<std::string> actions;
    for (const Event& event : events.Since(0, 100)) {
      actions.push_back(event.action + ": " + event.detail);
    }
    return actions;
  }

  void Set(std::vector<ToxicSpec> toxics) { pipeline.SetToxics(toxics); }
  void Push(const std::string& text) {
    pipeline.Push(Chunk{std::vector<char>(text.begin(), text.end()), clock.Now()});
  }
};

std::string Letters(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7) % 26);
  return s;
}

}  // namespace

TEST_CASE("with no toxic the pipeline passes data straight through", "[proxy][pipeline]") {
  Fixture f;
  CHECK(f.pipeline.bypass());
  f.Push("hello");
  f.pipeline.End();
  CHECK(f.sink.data == "hello");
  CHECK(f.sink.ended);
}

TEST_CASE("latency delays each chunk from the time it was read", "[proxy][toxic][latency]") {
  Fixture f;
  f.Set({Toxic("latency", {{"latency", 100}})});
  CHECK_FALSE(f.pipeline.bypass());
  const auto start = f.clock.Now();
  f.Push("a");
  f.clock.Advance(30ms);
  f.Push("b");
  f.pipeline.End();
  f.clock.Advance(69ms);
  CHECK(f.sink.data.empty());
  f.clock.Advance(1ms);
  CHECK(f.sink.data == "a");
  CHECK(f.sink.arrivals[0].at == start + 100ms);
  CHECK_FALSE(f.sink.ended);
  f.clock.Advance(30ms);
  CHECK(f.sink.data == "ab");
  CHECK(f.sink.arrivals[1].at == start + 130ms);
  CHECK(f.sink.ended);  // the end of stream waits behind the data
  CHECK(f.pipeline.buffered_bytes() == 0);
}

TEST_CASE("latency with jitter stays in bounds and never reorders", "[proxy][toxic][latency]") {
  Fixture f;
  f.Set({Toxic("latency", {{"latency", 50}, {"jitter", 20}})});
  const auto start = f.clock.Now();
  for (int i = 0; i < 200; ++i) {
    f.Push(std::to_string(i % 10));
    f.clock.Advance(1ms);
  }
  f.clock.Advance(1s);
  REQUIRE(f.sink.arrivals.size() == 200);
  std::string expected;
  for (int i = 0; i < 200; ++i) expected += std::to_string(i % 10);
  CHECK(f.sink.data == expected);
  for (std::size_t i = 0; i < f.sink.arrivals.size(); ++i) {
    const auto sent = start + std::chrono::milliseconds(i);
    const auto delay = f.sink.arrivals[i].at - sent;
    CHECK(delay >= 30ms);
    // In order: a chunk may wait for an earlier, later-scheduled one, never overtake it.
    if (i > 0) CHECK(f.sink.arrivals[i].at >= f.sink.arrivals[i - 1].at);
  }
}

TEST_CASE("chained latencies add up", "[proxy][toxic][latency]") {
  Fixture f;
  f.Set({Toxic("latency", {{"latency", 10}}, "one"), Toxic("latency", {{"latency", 15}}, "two")});
  const auto start = f.clock.Now();
  f.Push("x");
  f.clock.Advance(100ms);
  REQUIRE(f.sink.arrivals.size() == 1);
  CHECK(f.sink.arrivals[0].at == start + 25ms);
}

TEST_CASE("bandwidth paces data at the configured rate", "[proxy][toxic][bandwidth]") {
  Fixture f;
  f.Set({Toxic("bandwidth", {{"rate", 10}})});  // 10 KB/s = 10 bytes per ms
  const auto start = f.clock.Now();
  f.Push(Letters(5000));
  f.pipeline.End();
  f.clock.Advance(250ms);
  CHECK(f.sink.data.size() == 2000);  // 100 ms pieces of 1000 bytes
  f.clock.Advance(250ms);
  CHECK(f.sink.data == Letters(5000));
  CHECK(f.sink.arrivals.back().at == start + 500ms);
  CHECK(f.sink.ended);
}

TEST_CASE("bandwidth 0 holds data until the toxic is removed, losing nothing",
          "[proxy][toxic][bandwidth]") {
  Fixture f;
  f.Set({Toxic("bandwidth", {{"rate", 0}})});
  f.Push("held ");
  f.Push("data");
  f.clock.Advance(1h);
  CHECK(f.sink.data.empty());
  CHECK(f.pipeline.buffered_bytes() == 9);
  f.Set({});
  CHECK(f.sink.data == "held data");
  CHECK(f.pipeline.bypass());
}

TEST_CASE("updating bandwidth changes the pace of held data", "[proxy][toxic][bandwidth]") {
  Fixture f;
  f.Set({Toxic("bandwidth", {{"rate", 0}})});
  f.Push(Letters(1000));
  f.clock.Advance(1s);
  CHECK(f.sink.data.empty());
  f.Set({Toxic("bandwidth", {{"rate", 100}})});  // 100 bytes per ms
  f.clock.Advance(10ms);
  CHECK(f.sink.data == Letters(1000));
}

TEST_CASE("slow_close delays only the close", "[proxy][toxic][slow_close]") {
  Fixture f;
  f.Set({Toxic("slow_close", {{"delay", 500}})});
  f.Push("data");
  CHECK(f.sink.data == "data");
  f.pipeline.End();
  f.clock.Advance(499ms);
  CHECK_FALSE(f.sink.ended);
  f.clock.Advance(1ms);
  CHECK(f.sink.ended);
}

TEST_CASE("timeout drops data and closes after the timeout even under traffic",
          "[proxy][toxic][timeout]") {
  Fixture f;
  f.Set({Toxic("timeout", {{"timeout", 100}})});
  for (int i = 0; i < 20; ++i) {
    f.Push("dropped");
    f.clock.Advance(9ms);
  }
  CHECK(f.sink.data.empty());
  REQUIRE(f.sink.closes.size() == 1);
  CHECK(f.sink.closes[0] == CloseMode::kGraceful);
  CHECK(f.Logged() == std::vector<std::string>{"close: timeout 100ms, " + std::to_string(12 * 7) +
                                               " bytes dropped"});
}

TEST_CASE("timeout 0 drops forever; removal closes a connection that lost data",
          "[proxy][toxic][timeout]") {
  Fixture f;
  f.Set({Toxic("timeout", {{"timeout", 0}})});
  f.Push("lost");
  f.clock.Advance(1h);
  CHECK(f.sink.closes.empty());
  f.Set({});
  CHECK(f.sink.closes.size() == 1);
  CHECK(f.Logged() == std::vector<std::string>{"close: toxic removed, 4 bytes dropped"});
}

TEST_CASE("removing a timeout that dropped nothing keeps the connection",
          "[proxy][toxic][timeout]") {
  Fixture f;
  f.Set({Toxic("timeout", {{"timeout", 0}})});
  f.Set({});
  f.Push("fine");
  CHECK(f.sink.closes.empty());
  CHECK(f.sink.data == "fine");
}

TEST_CASE("reset_peer resets after the first data plus the timeout", "[proxy][toxic][reset_peer]") {
  Fixture f;
  f.Set({Toxic("reset_peer", {{"timeout", 200}})});
  f.clock.Advance(1s);
  CHECK(f.sink.closes.empty());  // idle: nothing to react to
  f.Push("request");
  f.clock.Advance(199ms);
  CHECK(f.sink.closes.empty());
  f.clock.Advance(1ms);
  REQUIRE(f.sink.closes.size() == 1);
  CHECK(f.sink.closes[0] == CloseMode::kReset);
  CHECK(f.sink.data.empty());
  CHECK(f.Logged() == std::vector<std::string>{"reset: 7 bytes held, after 200ms"});
}

TEST_CASE("reset_peer removed before firing forwards what it held", "[proxy][toxic][reset_peer]") {
  Fixture f;
  f.Set({Toxic("reset_peer", {{"timeout", 200}})});
  f.Push("keep me");
  f.clock.Advance(100ms);
  f.Set({});
  f.clock.Advance(1s);
  CHECK(f.sink.closes.empty());
  CHECK(f.sink.data == "keep me");
}

TEST_CASE("slicer cuts chunks into pieces of about the average size", "[proxy][toxic][slicer]") {
  Fixture f;
  f.Set({Toxic("slicer", {{"average_size", 100}, {"size_variation", 30}})});
  const std::string payload = Letters(10'000);
  f.Push(payload);
  CHECK(f.sink.data == payload);
  CHECK(f.sink.arrivals.size() > 50);
  for (const auto& a : f.sink.arrivals) {
    CHECK(a.bytes.size() >= 1);
    CHECK(a.bytes.size() <= 130);
  }
}

TEST_CASE("slicer with a variation beyond the average still cuts pieces of at least a byte",
          "[proxy][toxic][slicer]") {
  Fixture f;
  f.Set({Toxic("slicer", {{"average_size", 2}, {"size_variation", 5000}})});
  const std::string payload = Letters(64 << 10);
  f.Push(payload);
  CHECK(f.sink.data == payload);
  CHECK(f.sink.arrivals.size() > 1);
  for (const auto& a : f.sink.arrivals) {
    CHECK(a.bytes.size() >= 1);
    CHECK(a.bytes.size() <= 2 + 5000);
  }
}

TEST_CASE("slicer with a delay spaces the pieces", "[proxy][toxic][slicer]") {
  Fixture f;
  f.Set({Toxic("slicer", {{"average_size", 10}, {"delay", 1000}})});  // 1 ms between pieces
  f.Push(Letters(100));
  f.pipeline.End();
  CHECK(f.sink.arrivals.size() == 1);  // the first piece goes at once
  f.clock.Advance(5ms);
  CHECK(f.sink.arrivals.size() == 6);  // then one per millisecond
  CHECK_FALSE(f.sink.ended);
  f.clock.Advance(1s);
  CHECK(f.sink.data == Letters(100));
  CHECK(f.sink.arrivals.size() > 8);
  for (const auto& a : f.sink.arrivals) CHECK(a.bytes.size() <= 10);
  CHECK(f.sink.ended);
}

TEST_CASE("slicer updated to no delay keeps the pieces it queued ahead of new data",
          "[proxy][toxic][slicer]") {
  Fixture f;
  f.Set({Toxic("slicer", {{"average_size", 10}, {"delay", 1000}}, "cut")});
  const std::string text = Letters(200);
  f.Push(text.substr(0, 100));  // one piece now, nine queued a millisecond apart
  f.Set({Toxic("slicer", {{"average_size", 10}, {"delay", 0}}, "cut")});
  f.Push(text.substr(100));
  CHECK(f.sink.data == text);
  f.clock.Advance(1s);
  CHECK(f.sink.data == text);
}

// Chunk boundaries differ between two runs of one schedule, so a stream toxic's decision is
// logged once per connection and direction (and again after an update), never per chunk.
TEST_CASE("stream toxics log one decision per direction, not one per chunk",
          "[proxy][toxic][decisions]") {
  using Log = std::vector<std::string>;
  SECTION("latency") {
    Fixture f;
    f.Set({Toxic("latency", {{"latency", 100}, {"jitter", 10}})});
    CHECK(f.Logged().empty());  // nothing decided before data
    for (int i = 0; i < 5; ++i) f.Push("chunk");
    CHECK(f.Logged() == Log{"delay: 100ms ± 10ms per chunk"});
    f.Set({Toxic("latency", {{"latency", 200}})});  // an update is a new decision
    f.Push("more");
    f.Push("more");
    CHECK(f.Logged() == Log{"delay: 100ms ± 10ms per chunk", "delay: 200ms per chunk"});
  }
  SECTION("bandwidth") {
    Fixture f;
    f.Set({Toxic("bandwidth", {{"rate", 10}})});
    for (int i = 0; i < 5; ++i) f.Push("chunk");
    CHECK(f.Logged() == Log{"throttle: 10 KB/s"});
  }
  SECTION("slicer") {
    Fixture f;
    f.Set({Toxic("slicer", {{"average_size", 4}, {"size_variation", 1}, {"delay", 5}})});
    for (int i = 0; i < 3; ++i) f.Push(Letters(64));
    CHECK(f.Logged() == Log{"slice: 4 ± 1 bytes a piece, 5us apart"});
  }
  SECTION("slow_close decides when the close comes") {
    Fixture f;
    f.Set({Toxic("slow_close", {{"delay", 500}})});
    f.Push("data");
    CHECK(f.Logged().empty());
    f.pipeline.End();
    CHECK(f.Logged() == Log{"close_delay: 500ms"});
  }
}

TEST_CASE("limit_data passes the limit then closes", "[proxy][toxic][limit_data]") {
  Fixture f;
  f.Set({Toxic("limit_data", {{"bytes", 10}})});
  f.Push("123456");
  CHECK(f.sink.closes.empty());
  f.Push("7890abcdef");
  CHECK(f.sink.data == "1234567890");
  REQUIRE(f.sink.closes.size() == 1);
  CHECK(f.sink.closes[0] == CloseMode::kGraceful);
  CHECK(f.Logged() == std::vector<std::string>{"close: 10 bytes passed"});
  f.Push("more");
  CHECK(f.sink.data == "1234567890");
}

TEST_CASE("removing a toxic mid-stream loses and reorders nothing", "[proxy][pipeline]") {
  Fixture f;
  f.Set({Toxic("latency", {{"latency", 100}}, "slow"),
         Toxic("slicer", {{"average_size", 3}}, "cut")});
  std::string sent;
  for (int i = 0; i < 50; ++i) {
    const std::string piece = std::to_string(i) + ",";
    sent += piece;
    f.Push(piece);
    f.clock.Advance(3ms);
    if (i == 20) f.Set({Toxic("slicer", {{"average_size", 3}}, "cut")});  // drop latency
    if (i == 35) f.Set({Toxic("latency", {{"latency", 5}}, "slow")});     // swap again
  }
  f.pipeline.End();
  f.clock.Advance(1s);
  CHECK(f.sink.data == sent);
  CHECK(f.sink.ended);
}

TEST_CASE("updating a toxic keeps the data it holds", "[proxy][pipeline]") {
  Fixture f;
  f.Set({Toxic("latency", {{"latency", 1000}})});
  f.Push("queued");
  f.Set({Toxic("latency", {{"latency", 10}})});
  f.Push("later");
  f.clock.Advance(1s);
  CHECK(f.sink.data == "queuedlater");
}

TEST_CASE("toxicity is drawn per connection and is stable across other changes",
          "[proxy][pipeline][toxicity]") {
  // Over many connections about half get a 50% toxic; on each connection the decision does
  // not change when an unrelated toxic is added or removed (unlike Toxiproxy's re-roll).
  int active = 0;
  for (std::uint64_t connection = 0; connection < 400; ++connection) {
    core::ManualClock clock;
    RecordingSink sink(clock);
    Pipeline pipeline(clock, sink, core::DeriveSeed(99, {connection}));
    ToxicSpec half = Toxic("latency", {{"latency", 5}}, "half");
    half.toxicity = 0.5;
    pipeline.SetToxics(std::vector<ToxicSpec>{half});
    const bool first = !pipeline.bypass();
    active += first ? 1 : 0;
    for (int round = 0; round < 8; ++round) {
      pipeline.SetToxics(
          std::vector<ToxicSpec>{half, Toxic("slow_close", {{"delay", 1}}, "other")});
      pipeline.SetToxics(std::vector<ToxicSpec>{half});
      REQUIRE((!pipeline.bypass()) == first);
    }
    CHECK(sink.activated.size() == (first ? 1u : 0u) + 8u);
  }
  CHECK(active > 150);
  CHECK(active < 250);
}

TEST_CASE("the same seed makes the same decisions", "[proxy][pipeline][seed]") {
  auto run = [](std::uint64_t seed) {
    core::ManualClock clock;
    RecordingSink sink(clock);
    Pipeline pipeline(clock, sink, seed);
    pipeline.SetToxics(std::vector<ToxicSpec>{Toxic("latency", {{"latency", 20}, {"jitter", 15}})});
    std::vector<core::Duration> delays;
    for (int i = 0; i < 50; ++i) {
      pipeline.Push(Chunk{{'x'}, clock.Now()});
      clock.Advance(100ms);
      delays.push_back(sink.arrivals.back().at - (clock.Now() - 100ms));
    }
    return delays;
  };
  CHECK(run(7) == run(7));
  CHECK(run(7) != run(8));
}

TEST_CASE("toxic with toxicity 0 never acts", "[proxy][pipeline][toxicity]") {
  Fixture f;
  ToxicSpec never = Toxic("timeout", {{"timeout", 0}});
  never.toxicity = 0;
  f.Set({never});
  CHECK(f.pipeline.bypass());
  f.Push("passes");
  CHECK(f.sink.data == "passes");
  CHECK(f.sink.activated.empty());
}
