#include "faultline/proxy/json.h"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

using namespace faultline::proxy;

namespace {

json::Reading Strict() { return {json::Leniency::kStrict}; }
json::Reading Lenient() { return {json::Leniency::kToxiproxy}; }

boost::json::value Parsed(std::string_view text) {
  auto value = json::Parse(text);
  REQUIRE(value);
  return *value;
}

}  // namespace

TEST_CASE("a toxic survives a round trip through JSON", "[proxy][json]") {
  ToxicSpec toxic{"slow", "latency", Stream::kUpstream, 0.25, {{"latency", 10}, {"jitter", 2}}, {}};
  auto reading = Strict();
  auto back = json::ToxicFromJson(json::ToJson(toxic), reading);
  REQUIRE(back);
  CHECK(*back == toxic);
}

TEST_CASE("a proxy with toxics survives a round trip through JSON", "[proxy][json]") {
  ProxyState proxy{{"db", "127.0.0.1:5000", "127.0.0.1:5432", false, 7},
                   {{"t", "timeout", Stream::kDownstream, 1.0, {{"timeout", 0}}, {}}}};
  auto reading = Strict();
  auto back = json::ProxyFromJson(json::ToJson(proxy), reading);
  REQUIRE(back);
  CHECK(back->spec.name == "db");
  CHECK(back->spec.listen == "127.0.0.1:5000");
  CHECK(back->spec.enabled == false);
  REQUIRE(back->toxics.size() == 1);
  CHECK(back->toxics[0] == proxy.toxics[0]);
}

TEST_CASE("nested toxic errors say which toxic", "[proxy][json]") {
  auto value = json::Parse(
      R"({"name":"a","upstream":"x:1","toxics":[{"type":"latency"},{"attributes":1}]})");
  REQUIRE(value);
  auto reading = Strict();
  auto proxy = json::ProxyFromJson(*value, reading);
  REQUIRE_FALSE(proxy);
  CHECK(proxy.message().find("toxics[1]") != std::string::npos);
}

TEST_CASE("null means not given, in either reading", "[proxy][json]") {
  for (auto reading : {Strict(), Lenient()}) {
    // toxiproxy-ruby's create, byte for byte.
    auto proxy = json::ProxyFromJson(
        Parsed(R"({"upstream":"localhost:3306","name":"db","listen":null,"enabled":null})"),
        reading);
    REQUIRE(proxy);
    CHECK(proxy->spec.enabled);
    CHECK(proxy->spec.listen == "127.0.0.1:0");
    auto toxic =
        json::ToxicFromJson(Parsed(R"({"name":null,"type":"latency","stream":null,"toxicity":null,)"
                                   R"("attributes":{"latency":5,"jitter":null},"target":null})"),
                            reading);
    REQUIRE(toxic);
    CHECK(toxic->name.empty());  // ValidateToxic names it
    CHECK(toxic->stream == Stream::kDownstream);
    CHECK(toxic->toxicity == 1.0);
    CHECK(toxic->attributes == faultline::core::Attributes{{"latency", 5}});
    auto patch = json::ProxyPatchFromJson(Parsed(R"({"enabled":null,"upstream":null})"), reading);
    REQUIRE(patch);
    CHECK_FALSE(patch->enabled);
    CHECK_FALSE(patch->upstream);
    CHECK(reading.warnings.empty());
  }
}

TEST_CASE("a Toxiproxy reading ignores unknown fields and names them; a strict one refuses them",
          "[proxy][json]") {
  const auto body = Parsed(
      R"({"name":"db","upstream":"x:1","k0":1,"Enabled":false,)"
      R"("toxics":[{"type":"latency","Stream":"UPSTREAM","attributes":{"latency":1},"tyep":2}]})");
  auto lenient = Lenient();
  auto proxy = json::ProxyFromJson(body, lenient);
  REQUIRE(proxy);
  CHECK_FALSE(proxy->spec.enabled);  // Go matches a field name in any case
  REQUIRE(proxy->toxics.size() == 1);
  CHECK(proxy->toxics[0].stream == Stream::kUpstream);
  CHECK(lenient.warnings ==
        std::vector<std::string>{"unknown field 'k0' in proxy ignored",
                                 "toxics[0]: unknown field 'tyep' in toxic ignored"});

  auto strict = Strict();
  auto refused = json::ProxyFromJson(body, strict);
  REQUIRE_FALSE(refused);
  CHECK(refused.message() ==
        "unknown field 'k0' in proxy (known: name, listen, upstream, enabled, toxics, seed, "
        "protocol)");

  auto list = Lenient();
  auto proxies = json::ProxyListFromJson(
      Parsed(R"([{"name":"a","upstream":"x:1"},{"name":"b","upstream":"x:2","extra":[]}])"), list);
  REQUIRE(proxies);
  CHECK(list.warnings ==
        std::vector<std::string>{"proxy 1 ('b'): unknown field 'extra' in proxy ignored"});
}

TEST_CASE("a Toxiproxy reading takes attribute values as Toxiproxy's toxics do", "[proxy][json]") {
  auto reading = Lenient();
  auto toxic = json::ToxicFromJson(
      Parsed(
          R"({"type":"latency","toxicity":1.5,"attributes":{"latency":-5,"jitter":1e15,"x":1}})"),
      reading);
  REQUIRE(toxic);
  CHECK(toxic->toxicity == 1.0);
  CHECK(toxic->Int("latency") == 0);
  CHECK(toxic->Int("jitter") == 365LL * 24 * 3600 * 1000);  // the most a latency takes: a year
  CHECK_FALSE(toxic->attributes.contains("x"));
  CHECK(reading.warnings ==
        std::vector<std::string>{"toxicity 1.5 taken as 1",
                                 "attribute 'jitter' 1000000000000000 taken as 31536000000",
                                 "attribute 'latency' -5 taken as 0",
                                 "unknown attribute 'x' for toxic type latency ignored"});
  CHECK(ValidateToxic(*toxic));

  // What Toxiproxy crashes on is still refused.
  for (const char* crashes : {R"({"type":"bandwidth","attributes":{"rate":-1}})",
                              R"({"type":"slicer","attributes":{"average_size":0}})",
                              R"({"type":"slicer","attributes":{"average_size":-3}})",
                              R"({"type":"slicer","attributes":{"average_size":8,)"
                              R"("size_variation":-1}})"}) {
    CAPTURE(crashes);
    auto again = Lenient();
    auto parsed = json::ToxicFromJson(Parsed(crashes), again);
    REQUIRE(parsed);
    CHECK_FALSE(ValidateToxic(*parsed));
  }
  // And what Toxiproxy's decoder refuses: a fraction for a whole number, a string for one.
  auto fraction = Lenient();
  auto half =
      json::ToxicFromJson(Parsed(R"({"type":"latency","attributes":{"latency":1.5}})"), fraction);
  REQUIRE(half);
  CHECK_FALSE(ValidateToxic(*half));
}

TEST_CASE("a toxic update ignores name, type and stream as Toxiproxy does, unless strict",
          "[proxy][json]") {
  const ToxicSpec current{"slow", "latency", Stream::kDownstream, 1.0, {{"latency", 10}}, {}};
  const auto body =
      Parsed(R"({"name":"other","type":"bandwidth","stream":"upstream","toxicity":0.5,)"
             R"("attributes":{"latency":20}})");
  auto lenient = Lenient();
  auto patch = json::ToxicPatchFromJson(body, current, lenient);
  REQUIRE(patch);
  CHECK(patch->toxicity == 0.5);
  CHECK(patch->attributes == faultline::core::Attributes{{"latency", 20}});
  auto strict = Strict();
  auto refused = json::ToxicPatchFromJson(body, current, strict);
  REQUIRE_FALSE(refused);
  CHECK(refused.message() == "field 'name' cannot be changed (delete and re-add the toxic)");
}
