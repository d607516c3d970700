#include "faultline/proxy/json.h"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

using namespace faultline::proxy;

TEST_CASE("a toxic survives a round trip through JSON", "[proxy][json]") {
  ToxicSpec toxic{"slow", "latency", Stream::kUpstream, 0.25, {{"latency", 10}, {"jitter", 2}}, {}};
  auto back = json::ToxicFromJson(json::ToJson(toxic));
  REQUIRE(back);
  CHECK(*back == toxic);
}

TEST_CASE("a proxy with toxics survives a round trip through JSON", "[proxy][json]") {
  ProxyState proxy{{"db", "127.0.0.1:5000", "127.0.0.1:5432", false, 7},
                   {{"t", "timeout", Stream::kDownstream, 1.0, {{"timeout", 0}}, {}}}};
  auto back = json::ProxyFromJson(json::ToJson(proxy));
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
  auto proxy = json::ProxyFromJson(*value);
  REQUIRE_FALSE(proxy);
  CHECK(proxy.message().find("toxics[1]") != std::string::npos);
}
