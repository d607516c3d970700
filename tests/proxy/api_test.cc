// The HTTP API as a function: every route, status code and error body, on a real
// ProxyServer bound to loopback (port 0) with a resolver that never touches DNS.

#include "faultline/proxy/api.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>

#include "faultline/proxy/server.h"

using namespace faultline::proxy;
namespace bj = boost::json;

namespace {

struct ApiFixture {
  ProxyServer server{ProxyServer::Options{1, 42, NumericLookup, nullptr}};
  Api api{server, "test"};

  HttpResponse Call(std::string method, std::string target, std::string body = "",
                    std::string agent = "test") {
    return api.Handle({std::move(method), std::move(target), std::move(body), std::move(agent)});
  }
  // As faultline's own CLI calls: "Prefer: handling=strict".
  HttpResponse Strict(std::string method, std::string target, std::string body = "") {
    return api.Handle(
        {std::move(method), std::move(target), std::move(body), "test", "", "handling=strict"});
  }
  bj::value Json(const HttpResponse& r) { return bj::parse(r.body); }
  std::string Error(const HttpResponse& r) {
    auto v = Json(r);
    REQUIRE(v.as_object().at("status").as_int64() == r.status);
    return std::string(v.as_object().at("error").as_string());
  }
  void CreateEcho(const std::string& name = "redis") {
    auto r =
        Call("POST", "/proxies",
             R"({"name":")" + name + R"(","listen":"127.0.0.1:0","upstream":"127.0.0.1:6379"})");
    REQUIRE(r.status == 201);
  }
};

}  // namespace

TEST_CASE("creating a proxy returns Toxiproxy's shape with the bound address", "[proxy][api]") {
  ApiFixture f;
  auto r = f.Call("POST", "/proxies",
                  R"({"name":"redis","listen":"localhost:0","upstream":"127.0.0.1:6379"})");
  REQUIRE(r.status == 201);
  auto proxy = f.Json(r).as_object();
  CHECK(proxy.at("name") == "redis");
  CHECK(proxy.at("upstream") == "127.0.0.1:6379");
  CHECK(proxy.at("enabled") == true);
  CHECK(proxy.at("toxics").as_array().empty());
  const std::string listen(proxy.at("listen").as_string());
  CHECK(listen.rfind("127.0.0.1:", 0) == 0);
  CHECK(listen != "127.0.0.1:0");

  auto all = f.Json(f.Call("GET", "/proxies")).as_object();
  REQUIRE(all.contains("redis"));
  CHECK(all.at("redis").as_object().at("listen").as_string() == listen);
  CHECK(f.Call("GET", "/proxies/redis").status == 200);
}

TEST_CASE("proxy creation errors name the problem", "[proxy][api]") {
  ApiFixture f;
  f.CreateEcho();
  auto dup = f.Call("POST", "/proxies", R"({"name":"redis","upstream":"127.0.0.1:1"})");
  CHECK(dup.status == 409);
  CHECK(f.Error(dup) == "proxy already exists");

  auto no_name = f.Call("POST", "/proxies", R"({"upstream":"127.0.0.1:1"})");
  CHECK(no_name.status == 400);
  CHECK(f.Error(no_name) == "missing required field: name");
  auto no_upstream = f.Call("POST", "/proxies", R"({"name":"x"})");
  CHECK(f.Error(no_upstream) == "missing required field: upstream");
  auto unknown =
      f.Strict("POST", "/proxies", R"({"name":"x","upstream":"127.0.0.1:1","lisen":"1"})");
  CHECK(unknown.status == 400);
  CHECK(unknown.strict);
  CHECK(f.Error(unknown).find("unknown field 'lisen'") != std::string::npos);
  auto bad_json = f.Call("POST", "/proxies", R"({"name":)");
  CHECK(bad_json.status == 400);
  CHECK(f.Error(bad_json).find("invalid JSON") != std::string::npos);
  auto wrong_type =
      f.Call("POST", "/proxies", R"({"name":"x","upstream":"127.0.0.1:1","enabled":"yes"})");
  CHECK(f.Error(wrong_type) == "field 'enabled' must be true or false");
  auto no_port = f.Call("POST", "/proxies", R"({"name":"x","upstream":"somehost"})");
  CHECK(no_port.status == 400);
  CHECK(f.Error(no_port).find("missing port") != std::string::npos);
  auto bad_port = f.Call("POST", "/proxies", R"({"name":"x","upstream":"127.0.0.1:99999"})");
  CHECK(bad_port.status == 400);
  auto slash = f.Call("POST", "/proxies", R"({"name":"a/b","upstream":"127.0.0.1:1"})");
  CHECK(slash.status == 400);
  // Nothing above left a proxy behind.
  CHECK(f.Json(f.Call("GET", "/proxies")).as_object().size() == 1);
}

TEST_CASE(
    "an upstream name is not looked up by the API: a name that does not resolve is "
    "accepted",
    "[proxy][api]") {
  ApiFixture f;  // its lookup answers IP addresses only: any name fails
  auto r = f.Call("POST", "/proxies", R"({"name":"x","upstream":"no-such-host.invalid:80"})");
  CHECK(r.status == 201);
  CHECK(f.Json(r).as_object().at("upstream") == "no-such-host.invalid:80");
  auto moved = f.Call("POST", "/proxies/x", R"({"upstream":"other-host.invalid:81"})");
  CHECK(moved.status == 200);
  CHECK(f.Call("POST", "/proxies", R"({"name":"y","upstream":"[::1:80"})").status == 400);
}

TEST_CASE("a listen address in use is a conflict", "[proxy][api]") {
  ApiFixture f;
  boost::asio::io_context context;
  boost::asio::ip::tcp::acceptor taken(context, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto port = std::to_string(taken.local_endpoint().port());
  auto r = f.Call("POST", "/proxies",
                  R"({"name":"x","listen":"127.0.0.1:)" + port + R"(","upstream":"127.0.0.1:1"})");
  CHECK(r.status == 409);
  CHECK(f.Error(r).find("in use") != std::string::npos);
  CHECK(f.Call("GET", "/proxies/x").status == 404);
}

TEST_CASE("oversized bodies, browsers, unknown routes and methods are refused", "[proxy][api]") {
  ApiFixture f;
  CHECK(f.Call("POST", "/proxies", std::string(kMaxRequestBody + 1, ' ')).status == 413);
  CHECK(f.Call("GET", "/proxies", "", "Mozilla/5.0").status == 403);
  CHECK(f.Call("GET", "/nope").status == 404);
  CHECK(f.Call("PUT", "/proxies").status == 405);
  CHECK(f.Call("GET", "/proxies/missing").status == 404);
  CHECK(f.Error(f.Call("GET", "/proxies/missing")) == "proxy not found");
  CHECK(f.Call("GET", "/proxies/missing/toxics").status == 404);
  CHECK(f.Call("GET", "/proxies/%zz").status == 400);
}

TEST_CASE("toxics are added, listed, updated and removed", "[proxy][api][toxic]") {
  ApiFixture f;
  f.CreateEcho();
  auto added =
      f.Call("POST", "/proxies/redis/toxics", R"({"type":"latency","attributes":{"latency":100}})");
  REQUIRE(added.status == 200);
  auto toxic = f.Json(added).as_object();
  CHECK(toxic.at("name") == "latency_downstream");
  CHECK(toxic.at("stream") == "downstream");
  CHECK(toxic.at("toxicity").to_number<double>() == 1.0);
  CHECK(toxic.at("attributes").as_object().at("latency") == 100);
  CHECK(toxic.at("attributes").as_object().at("jitter") == 0);

  auto up = f.Call(
      "POST", "/proxies/redis/toxics",
      R"({"name":"cut","type":"bandwidth","stream":"upstream","toxicity":0.5,"attributes":{"rate":0}})");
  REQUIRE(up.status == 200);

  auto list = f.Json(f.Call("GET", "/proxies/redis/toxics")).as_array();
  REQUIRE(list.size() == 2);
  CHECK(list[0].as_object().at("name") == "cut");  // upstream chain first, as Toxiproxy lists
  CHECK(f.Json(f.Call("GET", "/proxies/redis")).as_object().at("toxics").as_array().size() == 2);

  auto updated =
      f.Call("PATCH", "/proxies/redis/toxics/latency_downstream", R"({"attributes":{"jitter":5}})");
  REQUIRE(updated.status == 200);
  auto attrs = f.Json(updated).as_object().at("attributes").as_object();
  CHECK(attrs.at("latency") == 100);  // merged, not replaced
  CHECK(attrs.at("jitter") == 5);
  // Clients that post the whole toxic back are fine as long as type and stream stay.
  auto whole = f.Call(
      "POST", "/proxies/redis/toxics/cut",
      R"({"name":"cut","type":"bandwidth","stream":"upstream","toxicity":1,"attributes":{"rate":5}})");
  CHECK(whole.status == 200);
  // A type cannot change: Toxiproxy ignores one in an update, a strict request is refused.
  auto ignored_type = f.Call("PATCH", "/proxies/redis/toxics/cut", R"({"type":"latency"})");
  CHECK(ignored_type.status == 200);
  CHECK(f.Json(ignored_type).as_object().at("type") == "bandwidth");
  auto change_type = f.Strict("PATCH", "/proxies/redis/toxics/cut", R"({"type":"latency"})");
  CHECK(change_type.status == 400);

  CHECK(f.Call("DELETE", "/proxies/redis/toxics/cut").status == 204);
  CHECK(f.Call("GET", "/proxies/redis/toxics/cut").status == 404);
  CHECK(f.Call("DELETE", "/proxies/redis/toxics/cut").status == 404);
}

TEST_CASE("toxic errors name the problem", "[proxy][api][toxic]") {
  ApiFixture f;
  f.CreateEcho();
  auto Post = [&](const std::string& body) {
    return f.Strict("POST", "/proxies/redis/toxics", body);
  };
  CHECK(
      f.Error(Post(R"({"type":"latncy","attributes":{"latency":1}})")).find("invalid toxic type") !=
      std::string::npos);
  CHECK(f.Error(Post(R"({"type":"latency","stream":"sideways","attributes":{"latency":1}})")) ==
        "stream was invalid, can be either upstream or downstream");
  CHECK(f.Error(Post(R"({"type":"latency","attributes":{"latency":-5}})")) ==
        "attribute 'latency' must not be negative");
  CHECK(f.Error(Post(R"({"type":"latency","attributes":{"latency":1.5}})")) ==
        "attribute 'latency' must be a whole number");
  CHECK(f.Error(Post(R"({"type":"latency","attributes":{"latency":"slow"}})")) ==
        "attribute 'latency' must be a number");
  CHECK(f.Error(Post(R"({"type":"drop","attributes":{"probability":1.5}})")) ==
        "attribute 'probability' must be between 0 and 1");
  CHECK(f.Error(Post(R"({"type":"drop","attributes":{"framing":"lines"}})")) ==
        "attribute 'framing' must be one of: raw,line,length-prefixed,fixed");
  CHECK(f.Error(Post(R"({"type":"drop","attributes":{"match":"(unclosed"}})"))
            .starts_with("attribute 'match' is not a valid RE2 pattern: '(unclosed': missing )"));
  CHECK(f.Error(Post(R"({"type":"reorder","attributes":{"window":0}})")) ==
        "attribute 'window' must be at least 2 frames");
  CHECK(f.Error(Post(R"({"type":"hold","attributes":{"release_on":"nowhere"}})")) ==
        "attribute 'release_on' must name a point as 'proxy/toxic'");
  CHECK(f.Error(Post(R"({"type":"drop","target":{"connection":-1}})")) ==
        "field 'target.connection' must not be negative");
  CHECK(f.Error(Post(R"({"type":"latency","attributes":{"latency":1e300}})")) ==
        "field 'attributes.latency' is too large");
  CHECK(f.Error(Post(R"({"type":"latency","attributes":{"latency":18446744073709551615}})")) ==
        "field 'attributes.latency' is too large");
  CHECK(f.Error(Post(R"({"type":"latency"})")) ==
        "missing required attribute 'latency' for toxic type latency");
  CHECK(f.Error(Post(R"({"type":"latency","latency":5})")).find("unknown field 'latency'") !=
        std::string::npos);
  CHECK(f.Error(Post(R"({"type":"latency","toxicity":2,"attributes":{"latency":1}})")) ==
        "field 'toxicity' must be between 0 and 1");
  CHECK(f.Error(Post(R"({"type":"latency","attributes":{"latency":1,"jiter":2}})")) ==
        "unknown attribute 'jiter' for toxic type latency (known: latency, jitter)");
  REQUIRE(Post(R"({"type":"latency","attributes":{"latency":1}})").status == 200);
  auto dup = Post(R"({"type":"latency","attributes":{"latency":1}})");
  CHECK(dup.status == 409);
  CHECK(f.Error(dup) == "toxic already exists");
  CHECK(f.Json(f.Call("GET", "/proxies/redis/toxics")).as_array().size() == 1);
}

TEST_CASE("bodies are read as Toxiproxy reads them, each leniency named in a warning",
          "[proxy][api][toxiproxy]") {
  ApiFixture f;
  // toxiproxy-ruby's create: "enabled": null is an enabled proxy.
  auto ruby = f.Call("POST", "/proxies",
                     R"({"upstream":"127.0.0.1:6379","name":"redis","listen":"localhost:0",)"
                     R"("enabled":null})");
  REQUIRE(ruby.status == 201);
  CHECK(f.Json(ruby).as_object().at("enabled") == true);
  CHECK(ruby.warnings.empty());
  CHECK_FALSE(ruby.strict);

  auto unknown = f.Call("POST", "/proxies", R"({"name":"x","upstream":"127.0.0.1:1","k0":1})");
  CHECK(unknown.status == 201);
  CHECK(unknown.warnings == std::vector<std::string>{"unknown field 'k0' in proxy ignored"});

  auto toxic = f.Call("POST", "/proxies/redis/toxics",
                      R"({"type":"latency","toxicity":2,"latency":5,)"
                      R"("attributes":{"latency":-5,"jiter":2}})");
  REQUIRE(toxic.status == 200);
  auto body = f.Json(toxic).as_object();
  CHECK(body.at("toxicity") == 1);
  CHECK(body.at("attributes").as_object().at("latency") == 0);
  CHECK_FALSE(body.at("attributes").as_object().contains("jiter"));
  CHECK(toxic.warnings == std::vector<std::string>{
                              "toxicity 2 taken as 1", "unknown field 'latency' in toxic ignored",
                              "unknown attribute 'jiter' for toxic type latency ignored",
                              "attribute 'latency' -5 taken as 0"});
  auto slicer = f.Call("POST", "/proxies/redis/toxics",
                       R"({"type":"slicer","attributes":{"average_size":4,"size_variation":10}})");
  CHECK(slicer.status == 200);  // Toxiproxy never checks it; a piece is at least 1 byte
  CHECK(f.Call("POST", "/proxies/redis/toxics", R"({"type":"noop"})").status == 200);

  // What Toxiproxy itself refuses or crashes on is refused here too.
  CHECK(f.Call("POST", "/proxies/redis/toxics", R"({"type":"bandwidth","attributes":{"rate":-1}})")
            .status == 400);
  CHECK(f.Call("POST", "/proxies/redis/toxics",
               R"({"type":"latency","attributes":{"latency":"100"}})")
            .status == 400);
  CHECK(f.Call("POST", "/proxies", R"({"name":"y","upstream":"127.0.0.1:1","enabled":"yes"})")
            .status == 400);
}

TEST_CASE("a match pattern RE2 cannot compile is a 400 naming it and RE2's reason",
          "[proxy][api][toxic][match]") {
  ApiFixture f;
  f.CreateEcho();
  auto backreference =
      f.Call("POST", "/proxies/redis/toxics",
             R"({"type":"drop","attributes":{"framing":"line","match":"(a)\\1"}})");
  CHECK(backreference.status == 400);
  CHECK(f.Error(backreference) ==
        "attribute 'match' is not a valid RE2 pattern: '(a)\\1': invalid escape sequence: \\1");
  auto lookahead = f.Call("POST", "/proxies/redis/toxics",
                          R"({"type":"hold","attributes":{"framing":"line","match":"(?=x)y"}})");
  CHECK(lookahead.status == 400);
  CHECK(f.Error(lookahead) ==
        "attribute 'match' is not a valid RE2 pattern: '(?=x)y': invalid perl operator: (?=");
  // Updating a toxic to such a pattern is refused too, and leaves the toxic as it was.
  REQUIRE(f.Call("POST", "/proxies/redis/toxics",
                 R"({"name":"gets","type":"drop","attributes":{"framing":"line","match":"^GET"}})")
              .status == 200);
  auto update =
      f.Call("PATCH", "/proxies/redis/toxics/gets", R"({"attributes":{"match":"(a)\\1"}})");
  CHECK(update.status == 400);
  CHECK_THAT(f.Error(update), Catch::Contains("'(a)\\1': invalid escape sequence"));
  auto kept = f.Json(f.Call("GET", "/proxies/redis/toxics/gets")).as_object();
  CHECK(kept.at("attributes").as_object().at("match") == "^GET");
}

TEST_CASE("populate creates, keeps identical proxies and rejects bad lists whole",
          "[proxy][api][populate]") {
  ApiFixture f;
  auto r = f.Call("POST", "/populate",
                  R"([{"name":"a","listen":"127.0.0.1:0","upstream":"127.0.0.1:1"},
                      {"name":"b","listen":"127.0.0.1:0","upstream":"127.0.0.1:2",
                       "toxics":[{"type":"latency","attributes":{"latency":3}}]}])");
  REQUIRE(r.status == 201);
  auto proxies = f.Json(r).as_object().at("proxies").as_array();
  REQUIRE(proxies.size() == 2);
  CHECK(proxies[1].as_object().at("toxics").as_array().size() == 1);

  auto bad = f.Call("POST", "/populate",
                    R"([{"name":"c","upstream":"127.0.0.1:3"},{"name":"d","upstream":"oops"}])");
  CHECK(bad.status == 400);
  CHECK(f.Error(bad).find("proxy 1 ('d')") != std::string::npos);
  CHECK(f.Call("GET", "/proxies/c").status == 404);  // nothing half-applied
  CHECK(f.Call("POST", "/populate", R"({"name":"x"})").status == 400);
}

TEST_CASE("disable, enable and reset", "[proxy][api]") {
  ApiFixture f;
  f.CreateEcho();
  const std::string listen(
      f.Json(f.Call("GET", "/proxies/redis")).as_object().at("listen").as_string());
  REQUIRE(
      f.Call("POST", "/proxies/redis/toxics", R"({"type":"latency","attributes":{"latency":1}})")
          .status == 200);
  auto off = f.Call("PATCH", "/proxies/redis", R"({"enabled":false})");
  REQUIRE(off.status == 200);
  CHECK(f.Json(off).as_object().at("enabled") == false);
  auto on = f.Call("POST", "/proxies/redis", R"({"enabled":true})");
  CHECK(f.Json(on).as_object().at("enabled") == true);
  CHECK(f.Json(on).as_object().at("listen").as_string() == listen);  // same port again
  f.Call("PATCH", "/proxies/redis", R"({"enabled":false})");
  CHECK(f.Call("POST", "/reset").status == 204);
  auto after = f.Json(f.Call("GET", "/proxies/redis")).as_object();
  CHECK(after.at("enabled") == true);
  CHECK(after.at("toxics").as_array().empty());
  CHECK(f.Call("DELETE", "/proxies/redis").status == 204);
  CHECK(f.Call("DELETE", "/proxies/redis").status == 404);
}

TEST_CASE("version and metrics", "[proxy][api]") {
  ApiFixture f;
  f.CreateEcho();
  // The Toxiproxy API level clients branch on, and faultline's own version beside it.
  const auto version = f.Json(f.Call("GET", "/version")).as_object();
  CHECK(version.at("version").as_string() == faultline::proxy::kToxiproxyApiVersion);
  CHECK(version.at("faultline") == "test");
  auto metrics = f.Call("GET", "/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.content_type.find("text/plain") == 0);
  CHECK(metrics.body.find("faultline_proxy_connections_total{proxy=\"redis\"} 0") !=
        std::string::npos);
  CHECK(metrics.body.find("faultline_proxy_bytes_total{direction=\"upstream\",proxy=\"redis\"}") !=
        std::string::npos);
}

TEST_CASE("a token closes every route but /version", "[proxy][api][token]") {
  ProxyServer server{ProxyServer::Options{1, 42, NumericLookup, nullptr}};
  Api api{server, "test", "s3cret"};
  auto call = [&](std::string method, std::string target, std::string authorization,
                  std::string body = "", std::string agent = "test") {
    return api.Handle({std::move(method), std::move(target), std::move(body), std::move(agent),
                       std::move(authorization)});
  };
  auto error = [](const HttpResponse& r) {
    auto v = bj::parse(r.body).as_object();
    REQUIRE(v.at("status").as_int64() == r.status);
    return std::string(v.at("error").as_string());
  };

  const auto missing = call("GET", "/proxies", "");
  CHECK(missing.status == 401);
  CHECK(missing.www_authenticate == "Bearer");
  CHECK(missing.content_type == "application/json");
  CHECK(error(missing).find("Authorization: Bearer") != std::string::npos);
  for (const char* wrong : {"Bearer nope", "Bearer s3cre", "Bearer s3cret2", "Bearer S3CRET",
                            "Bearer ", "Basic s3cret", "s3cret", "Bearers3cret"}) {
    INFO(wrong);
    const auto r = call("GET", "/proxies", wrong);
    CHECK(r.status == 401);
    CHECK(r.www_authenticate == "Bearer");
    CHECK_FALSE(error(r).empty());
  }
  CHECK(call("GET", "/proxies", "Bearer s3cret").status == 200);
  CHECK(call("GET", "/proxies", "bearer   s3cret").status == 200);  // the scheme has no case
  CHECK(call("GET", "/proxies", "Bearer s3cret").www_authenticate.empty());

  // Nothing changes without the token, whatever the route.
  REQUIRE(call("POST", "/proxies", "Bearer s3cret",
               R"({"name":"db","listen":"127.0.0.1:0","upstream":"127.0.0.1:1"})")
              .status == 201);
  CHECK(call("DELETE", "/proxies/db", "Bearer nope").status == 401);
  CHECK(call("POST", "/reset", "").status == 401);
  CHECK(call("POST", "/populate", "", "[]").status == 401);
  CHECK(call("GET", "/proxies/db", "Bearer s3cret").status == 200);
  CHECK(call("GET", "/proxies/%zz", "").status == 401);  // 401 before anything else is read
  CHECK(call("GET", "/nope", "").status == 401);
  CHECK(call("GET", "/holds", "").status == 401);
  CHECK(call("GET", "/events", "").status == 401);

  // /version stays open; /metrics names proxies and traffic, so it is closed too.
  CHECK(call("GET", "/version", "").status == 200);
  CHECK(call("GET", "/version/", "Bearer nope").status == 200);
  CHECK(call("GET", "/metrics", "").status == 401);
  CHECK(call("GET", "/metrics", "Bearer s3cret").status == 200);

  // The browser guard still comes first.
  CHECK(call("GET", "/proxies", "Bearer s3cret", "", "Mozilla/5.0").status == 403);
}

TEST_CASE("without a token the API stays open", "[proxy][api][token]") {
  ApiFixture f;
  const auto r = f.Call("GET", "/proxies");
  CHECK(r.status == 200);
  CHECK(r.www_authenticate.empty());
  CHECK(f.api.Handle({"GET", "/proxies", "", "test", "Bearer anything"}).status == 200);
}

TEST_CASE("a token file is read trimmed, and empty or unreadable ones are errors",
          "[proxy][api][token]") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("faultline-token-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  };
  CHECK(*ReadTokenFile(write("ok", "s3cret\n")) == "s3cret");
  CHECK(*ReadTokenFile(write("crlf", "  s3 cret \r\n\n")) == "s3 cret");
  const auto empty = ReadTokenFile(write("empty", ""));
  REQUIRE_FALSE(empty);
  CHECK(empty.message().find("empty") != std::string::npos);
  CHECK_FALSE(ReadTokenFile(write("blank", " \n\t\n")));
  CHECK_FALSE(ReadTokenFile(write("two-lines", "one\ntwo\n")));
  CHECK_FALSE(ReadTokenFile(write("long", std::string(5000, 'x'))));
  const auto missing = ReadTokenFile((dir / "missing").string());
  REQUIRE_FALSE(missing);
  CHECK(missing.message().find("missing: cannot open") != std::string::npos);
  const auto directory = ReadTokenFile(dir.string());
  REQUIRE_FALSE(directory);
  CHECK(directory.message().find("cannot read") != std::string::npos);
  std::filesystem::remove_all(dir);
}
