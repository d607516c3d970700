// The requests Toxiproxy's Ruby client (toxiproxy-ruby 2.0, on Net::HTTP) and Python client
// (toxiproxy-python 0.1.1, on requests) send, byte for byte, over a real socket to the API,
// and what each client reads from the replies. The bodies and headers are those the clients'
// published sources build: Ruby's Hash#to_json (compact, "enabled":null on create), Python's
// json.dumps (", " and ": " separators), Net::HTTP's and requests' default headers.

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "support/net.h"
#include "support/proxy_harness.h"
#include "support/run.h"

using faultline::testing::Client;
using faultline::testing::EchoServer;
using faultline::testing::Harness;
using namespace std::chrono_literals;
namespace bj = boost::json;

namespace {

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

// Sends `request` as it is on a new connection, half-closes and reads the reply to the end.
Reply Send(std::uint16_t port, const std::string& request) {
  Client client(port);
  REQUIRE(client.connected());
  REQUIRE(client.SendAll(request));
  client.ShutdownWrite();
  const std::string raw = client.ReceiveUntilEnd();
  INFO(raw);
  const auto head_end = raw.find("\r\n\r\n");
  REQUIRE(head_end != std::string::npos);
  REQUIRE(raw.starts_with("HTTP/1.1 "));
  Reply reply;
  reply.status = std::stoi(raw.substr(9, 3));
  std::size_t line = raw.find("\r\n") + 2;
  while (line < head_end) {
    const std::size_t next = raw.find("\r\n", line);
    const std::string header = raw.substr(line, next - line);
    const auto colon = header.find(':');
    std::string name = header.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = header.substr(header.find_first_not_of(' ', colon + 1));
    line = next + 2;
  }
  reply.body = raw.substr(head_end + 4);
  return reply;
}

std::string Host(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

// Net::HTTP's request for toxiproxy-ruby: its default headers, "Connection: close" (the client
// never starts a session), a Content-Length on POST and PATCH even with no body, and
// "application/x-www-form-urlencoded" on a body the client gives no type (net-http < 0.7).
std::string RubyRequest(std::uint16_t port, const std::string& method, const std::string& path,
                        std::optional<std::string> content_type = std::nullopt,
                        const std::string& body = "") {
  std::string request = method + " " + path +
                        " HTTP/1.1\r\n"
                        "Accept-Encoding: gzip;q=1.0,deflate;q=0.6,identity;q=0.3\r\n"
                        "Accept: */*\r\n"
                        "User-Agent: Ruby\r\n";
  const bool has_body = method == "POST" || method == "PATCH";
  if (has_body) {
    request +=
        "Content-Type: " + content_type.value_or("application/x-www-form-urlencoded") + "\r\n";
  }
  request += "Connection: close\r\nHost: " + Host(port) + "\r\n";
  if (has_body) request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return request + "\r\n" + body;
}

// requests' request for toxiproxy-python: Host first (http.client), requests' default
// headers, keep-alive, "Content-Length: 0" on a bodiless POST or DELETE, and for json= a
// Content-Type after it.
std::string PythonRequest(std::uint16_t port, const std::string& method, const std::string& path,
                          const std::string& json = "") {
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: " + Host(port) +
                        "\r\n"
                        "User-Agent: python-requests/2.28.1\r\n"
                        "Accept-Encoding: gzip, deflate\r\n"
                        "Accept: */*\r\n"
                        "Connection: keep-alive\r\n";
  if (method != "GET") request += "Content-Length: " + std::to_string(json.size()) + "\r\n";
  if (!json.empty()) request += "Content-Type: application/json\r\n";
  return request + "\r\n" + json;
}

bj::value Json(const Reply& reply) {
  INFO(reply.body);
  boost::system::error_code ec;
  bj::value value = bj::parse(reply.body, ec);
  REQUIRE_FALSE(ec);
  return value;
}

std::uint16_t PortOf(const bj::value& proxy) {
  const std::string listen(proxy.at("listen").as_string());
  return static_cast<std::uint16_t>(std::stoi(listen.substr(listen.rfind(':') + 1)));
}

// One echo round trip through `port`, in milliseconds; -1 when the proxy does not carry it.
long RoundTripMs(std::uint16_t port) {
  Client client(port, 5s);
  if (!client.connected()) return -1;
  const auto start = std::chrono::steady_clock::now();
  if (!client.SendAll("ping") || client.Receive(4) != "ping") return -1;
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - start)
                               .count());
}

bool Refused(std::uint16_t port) { return !Client(port, 5s).connected(); }

}  // namespace

TEST_CASE("toxiproxy-ruby's requests, byte for byte", "[integration][toxiproxy][ruby]") {
  Harness h;
  EchoServer echo;
  const std::uint16_t api = h.http->port();

  // running? is a bare connect and close; then version.
  { Client probe(api); }
  auto version = Send(api, RubyRequest(api, "GET", "/version"));
  CHECK(version.status == 200);
  CHECK(Json(version).at("version") == "2.12.0");

  // Toxiproxy.create: listen "localhost:0", "enabled": null.
  const std::string create =
      R"({"upstream":")" + echo.address() +
      R"(","name":"test_mysql_master","listen":"localhost:0","enabled":null})";
  auto created = Send(api, RubyRequest(api, "POST", "/proxies", "application/json", create));
  REQUIRE(created.status == 201);
  const bj::value proxy = Json(created);
  CHECK(proxy.at("enabled") == true);
  CHECK(PortOf(proxy) != 0);  // the client keeps the address the proxy listens on
  const std::uint16_t port = PortOf(proxy);
  CHECK(RoundTripMs(port) >= 0);
  CHECK(Send(api, RubyRequest(api, "POST", "/proxies", "application/json", create)).status == 409);

  // Toxiproxy.all reads name, upstream, listen and enabled of each entry of an object.
  auto all = Json(Send(api, RubyRequest(api, "GET", "/proxies"))).as_object();
  REQUIRE(all.contains("test_mysql_master"));
  for (const char* field : {"name", "upstream", "listen", "enabled"}) {
    CHECK(all.at("test_mysql_master").as_object().contains(field));
  }

  // disable and enable are a POST of {"enabled":...}; the unreleased client PATCHes.
  for (const char* method : {"POST", "PATCH"}) {
    CAPTURE(method);
    auto off = Send(api, RubyRequest(api, method, "/proxies/test_mysql_master", "application/json",
                                     R"({"enabled":false})"));
    CHECK(off.status == 200);
    CHECK(Refused(port));
    auto on = Send(api, RubyRequest(api, method, "/proxies/test_mysql_master", "application/json",
                                    R"({"enabled":true})"));
    CHECK(on.status == 200);
    CHECK(RoundTripMs(port) >= 0);
  }

  // Toxic#save: every key, toxicity a float; the older gem set no Content-Type.
  const std::string toxic =
      R"({"name":"latency_downstream","type":"latency","stream":"downstream","toxicity":1.0,)"
      R"("attributes":{"latency":100}})";
  auto saved = Send(api, RubyRequest(api, "POST", "/proxies/test_mysql_master/toxics",
                                     "application/json", toxic));
  REQUIRE(saved.status == 200);
  CHECK(Json(saved).at("attributes").at("latency") == 100);
  CHECK(Json(saved).at("toxicity") == 1);
  CHECK(RoundTripMs(port) >= 100);
  auto old_gem =
      Send(api, RubyRequest(api, "POST", "/proxies/test_mysql_master/toxics", std::nullopt,
                            R"({"name":"cut","type":"bandwidth","stream":"upstream",)"
                            R"("toxicity":1.0,"attributes":{"rate":1000}})"));
  CHECK(old_gem.status == 200);
  auto toxics = Json(Send(api, RubyRequest(api, "GET", "/proxies/test_mysql_master/toxics")));
  REQUIRE(toxics.as_array().size() == 2);
  for (const bj::value& t : toxics.as_array()) {
    for (const char* field : {"type", "name", "stream", "toxicity", "attributes"}) {
      CHECK(t.as_object().contains(field));
    }
  }
  CHECK(Send(api, RubyRequest(api, "DELETE", "/proxies/test_mysql_master/toxics/cut")).status ==
        204);
  CHECK(Send(api, RubyRequest(api, "DELETE", "/proxies/test_mysql_master/toxics/cut")).status ==
        404);

  // reset: application/json with an empty body.
  CHECK(Send(api, RubyRequest(api, "POST", "/reset", "application/json")).status == 204);
  CHECK(Json(Send(api, RubyRequest(api, "GET", "/proxies/test_mysql_master/toxics")))
            .as_array()
            .empty());
  CHECK(RoundTripMs(port) >= 0);

  // populate: the caller's hashes, as given; the reply's "proxies" is read.
  const std::string listen = "127.0.0.1:" + std::to_string(faultline::core::FreeLoopbackPort());
  auto populated = Send(api, RubyRequest(api, "POST", "/populate", "application/json",
                                         R"([{"name":"mysql_master","listen":")" + listen +
                                             R"(","upstream":")" + echo.address() + R"("}])"));
  CHECK(populated.status == 201);
  const auto list = Json(populated).at("proxies").as_array();
  REQUIRE(list.size() == 1);
  CHECK(list[0].at("name") == "mysql_master");
  CHECK(list[0].at("listen").as_string() == listen);
  CHECK(list[0].at("enabled") == true);
  auto empty = Send(api, RubyRequest(api, "POST", "/populate", "application/json", "[]"));
  CHECK(empty.status == 201);
  CHECK(Json(empty).at("proxies").as_array().empty());  // [] and not null: the client maps it

  CHECK(Send(api, RubyRequest(api, "DELETE", "/proxies/test_mysql_master")).status == 204);
  CHECK(Send(api, RubyRequest(api, "DELETE", "/proxies/test_mysql_master")).status == 404);
  CHECK(Refused(port));
}

TEST_CASE("toxiproxy-python's requests, byte for byte", "[integration][toxiproxy][python]") {
  Harness h;
  EchoServer echo;
  const std::uint16_t api = h.http->port();

  { Client probe(api); }  // running(): connect_ex and close
  CHECK(Send(api, PythonRequest(api, "GET", "/version")).status == 200);

  // create: a GET of /proxies first, then the POST; listen "127.0.0.1:0", no "enabled".
  CHECK(Json(Send(api, PythonRequest(api, "GET", "/proxies"))).as_object().empty());
  auto created = Send(api, PythonRequest(api, "POST", "/proxies",
                                         R"({"upstream": ")" + echo.address() +
                                             R"(", "name": "redis", "listen": "127.0.0.1:0"})"));
  REQUIRE(created.status == 201);
  const bj::value proxy = Json(created);
  for (const char* field : {"name", "upstream", "enabled", "listen"}) {
    CHECK(proxy.as_object().contains(field));
  }
  const std::uint16_t port = PortOf(proxy);
  CHECK(RoundTripMs(port) >= 0);

  // disable and enable: a POST, and the client calls .json() on the reply.
  auto off = Send(api, PythonRequest(api, "POST", "/proxies/redis", R"({"enabled": false})"));
  CHECK(off.status == 200);
  CHECK(Json(off).at("enabled") == false);
  CHECK(Refused(port));
  auto on = Send(api, PythonRequest(api, "POST", "/proxies/redis", R"({"enabled": true})"));
  CHECK(Json(on).at("enabled") == true);
  CHECK(RoundTripMs(port) >= 0);

  // add_toxic sends all five keys; .json() is called on the reply.
  auto added = Send(api, PythonRequest(api, "POST", "/proxies/redis/toxics",
                                       R"({"name": "latency_downstream", "type": "latency", )"
                                       R"("stream": "downstream", "toxicity": 1.0, )"
                                       R"("attributes": {"latency": 100}})"));
  CHECK(added.status == 200);
  CHECK(Json(added).at("name") == "latency_downstream");
  CHECK(RoundTripMs(port) >= 100);
  auto toxics = Json(Send(api, PythonRequest(api, "GET", "/proxies/redis/toxics")));
  REQUIRE(toxics.as_array().size() == 1);
  CHECK(toxics.as_array()[0].at("type") == "latency");
  // A fork's edit_toxic posts the whole toxic back, name, type and stream included.
  auto edited = Send(api, PythonRequest(api, "POST", "/proxies/redis/toxics/latency_downstream",
                                        R"({"name": "latency_downstream", "type": "latency", )"
                                        R"("stream": "downstream", "toxicity": 1.0, )"
                                        R"("attributes": {"latency": 5}})"));
  CHECK(edited.status == 200);
  CHECK(Json(edited).at("attributes").at("latency") == 5);
  CHECK(
      Send(api, PythonRequest(api, "DELETE", "/proxies/redis/toxics/latency_downstream")).status ==
      204);

  // reset: no body and no Content-Type. destroy: bool(response), so any status below 400.
  CHECK(Send(api, PythonRequest(api, "POST", "/reset")).status == 204);
  CHECK(Send(api, PythonRequest(api, "DELETE", "/proxies/redis")).status == 204);
  CHECK(Send(api, PythonRequest(api, "DELETE", "/proxies/redis")).status == 404);
  CHECK(Refused(port));
}

TEST_CASE("over HTTP a leniency is a Warning header, and Prefer: handling=strict refuses it",
          "[integration][toxiproxy]") {
  Harness h;
  const std::uint16_t api = h.http->port();
  const std::string body = R"({"name":"x","upstream":"127.0.0.1:1","k0":1})";
  auto lenient = Send(api, PythonRequest(api, "POST", "/proxies", body));
  CHECK(lenient.status == 201);
  CHECK(lenient.headers["warning"] == R"(299 faultline "unknown field 'k0' in proxy ignored")");

  std::string strict_request = PythonRequest(api, "POST", "/proxies", body);
  strict_request.insert(strict_request.find("\r\n") + 2, "Prefer: handling=strict\r\n");
  auto strict = Send(api, strict_request);
  CHECK(strict.status == 400);
  CHECK(strict.headers["preference-applied"] == "handling=strict");
  CHECK_FALSE(strict.headers.contains("warning"));
  CHECK_THAT(std::string(Json(strict).at("error").as_string()),
             Catch::StartsWith("unknown field 'k0' in proxy"));
}
