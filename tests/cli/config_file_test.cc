#include "config_file.h"

#include "app.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

using namespace faultline;

namespace {

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = std::string(P_tmpdir) + "/faultline-config-test-" + name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("Toxiproxy JSON config files load, with optional toxics", "[cli][config]") {
  const auto path = WriteTemp("ok.json", R"([
    {"name": "redis", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:6379", "enabled": true},
    {"name": "pg", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:5432",
     "toxics": [{"type": "latency", "attributes": {"latency": 20}}]}
  ])");
  auto config = cli::LoadProxyConfig(path);
  REQUIRE(config);
  REQUIRE(config->proxies.size() == 2);
  CHECK(config->proxies[1].toxics.at(0).Int("latency") == 20);
  CHECK(config->warnings.empty());
}

TEST_CASE("a JSON config file is read as Toxiproxy reads it, with each leniency named",
          "[cli][config]") {
  const auto path = WriteTemp("lenient.json", R"([
    {"name": "redis", "upstream": "127.0.0.1:6379", "enabled": null, "lisen": "127.0.0.1:1",
     "toxics": [{"type": "latency", "Toxicity": null, "attributes": {"latency": -5, "jiter": 1}}]}
  ])");
  auto config = cli::LoadProxyConfig(path);
  REQUIRE(config);
  REQUIRE(config->proxies.size() == 1);
  const auto& redis = config->proxies[0];
  CHECK(redis.spec.enabled);                  // null: not given, so the default
  CHECK(redis.spec.listen == "127.0.0.1:0");  // the misspelt field did not count
  CHECK(redis.toxics.at(0).toxicity == 1.0);
  CHECK(redis.toxics.at(0).Int("latency") == 0);
  const std::string where = path + ": proxy 0 ('redis'): ";
  CHECK(config->warnings ==
        std::vector<std::string>{where + "unknown field 'lisen' in proxy ignored",
                                 where + "toxics[0]: unknown attribute 'jiter' for toxic type "
                                         "latency ignored",
                                 where + "toxics[0]: attribute 'latency' -5 taken as 0"});
}

TEST_CASE("YAML config files load the same shape", "[cli][config]") {
  const auto path = WriteTemp("ok.yaml", R"(
- name: redis
  listen: 127.0.0.1:0
  upstream: 127.0.0.1:6379
  toxics:
    - {type: latency, stream: upstream, toxicity: 0.5, attributes: {latency: 20, jitter: 5}}
- name: "123"
  upstream: "127.0.0.1:1"
  enabled: false
)");
  auto config = cli::LoadProxyConfig(path);
  REQUIRE(config);
  REQUIRE(config->proxies.size() == 2);
  CHECK(config->proxies[0].toxics.at(0).toxicity == 0.5);
  CHECK(config->proxies[1].spec.name == "123");  // quoted: stays a string
  CHECK_FALSE(config->proxies[1].spec.enabled);
}

TEST_CASE("config errors name the file, line and entry", "[cli][config]") {
  auto yaml = cli::LoadProxyConfig(WriteTemp("bad.yaml", R"(- name: a
  upstream: 127.0.0.1:1
- name: b
  upstream: 127.0.0.1:2
  lisen: 127.0.0.1:0
)"));
  REQUIRE_FALSE(yaml);
  CHECK(yaml.message().find("bad.yaml:3: proxy 1 ('b'): unknown field 'lisen'") !=
        std::string::npos);

  auto json = cli::LoadProxyConfig(WriteTemp(
      "bad.json",
      R"([{"name":"a","upstream":"x:1","toxics":[{"type":"latency","attributes":{"latency":"slow"}}]}])"));
  REQUIRE_FALSE(json);
  CHECK(json.message().find("proxy 0 ('a'): toxics[0]: attribute 'latency' must be a number") !=
        std::string::npos);

  auto syntax = cli::LoadProxyConfig(WriteTemp("syntax.yaml", "- name: [unclosed\n"));
  REQUIRE_FALSE(syntax);
  CHECK(syntax.message().find("syntax.yaml:") != std::string::npos);
  CHECK(syntax.message().find("a `[` is not closed") != std::string::npos);

  CHECK_FALSE(cli::LoadProxyConfig("/nonexistent/faultline.json"));
}

TEST_CASE("faultline proxy refuses a bad config or seed with exit code 2", "[cli][config]") {
  const auto bad =
      WriteTemp("start.yaml", "- name: a\n  upstream: 127.0.0.1:1\n  toxics: [{type: nope}]\n");
  std::vector<const char*> config = {"faultline", "proxy", "--port", "0", "--config", bad.c_str()};
  CHECK(cli::Main(static_cast<int>(config.size()), config.data()) == cli::kExitBadInput);
  auto loaded = cli::LoadProxyConfig(bad);
  REQUIRE_FALSE(loaded);
  CHECK(
      loaded.message().find("start.yaml:1: proxy 0 ('a'): toxics[0]: invalid toxic type 'nope'") !=
      std::string::npos);
  std::vector<const char*> seed = {"faultline", "proxy", "--port", "0", "--seed", "abc"};
  CHECK(cli::Main(static_cast<int>(seed.size()), seed.data()) == cli::kExitBadInput);
  std::vector<const char*> missing = {"faultline", "proxy", "--config", "/nonexistent.yaml"};
  CHECK(cli::Main(static_cast<int>(missing.size()), missing.data()) == cli::kExitBadInput);
}
