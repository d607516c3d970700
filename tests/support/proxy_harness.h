#pragma once
// A proxy server with its HTTP API on loopback, driven the way a client drives it.

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <memory>
#include <string>

#include "faultline/proxy/api.h"
#include "faultline/proxy/http_server.h"
#include "faultline/proxy/server.h"
#include "http_client.h"

namespace faultline::testing {

struct Harness {
  // `threads`: the proxy's data-path threads (connections take them in turn).
  explicit Harness(proxy::Lookup lookup = proxy::SystemLookup, unsigned threads = 2)
      : server(proxy::ProxyServer::Options{threads, 7, std::move(lookup), nullptr}) {}
  explicit Harness(unsigned threads) : Harness(proxy::SystemLookup, threads) {}

  proxy::ProxyServer server;
  proxy::Api api{server, "test"};
  std::unique_ptr<proxy::HttpServer> http = *proxy::HttpServer::Start(api, "127.0.0.1", 0);
  std::string url = "http://" + http->address();

  cli::HttpReply Call(std::string_view method, const std::string& path,
                      const std::string& body = "") {
    auto reply = cli::HttpCall(url, method, path, body);
    REQUIRE(reply);
    return *reply;
  }
  // Creates a proxy in front of `upstream` and returns its port. `extra` adds JSON fields,
  // e.g. R"(,"seed":5)".
  std::uint16_t Proxy(const std::string& name, const std::string& upstream,
                      const std::string& extra = "") {
    auto r = Call("POST", "/proxies",
                  R"({"name":")" + name + R"(","listen":"127.0.0.1:0","upstream":")" + upstream +
                      R"(")" + extra + "}");
    INFO(r.body);
    REQUIRE(r.status == 201);
    const std::string listen(boost::json::parse(r.body).as_object().at("listen").as_string());
    return static_cast<std::uint16_t>(std::stoi(listen.substr(listen.rfind(':') + 1)));
  }
  void Toxic(const std::string& proxy, const std::string& body) {
    auto r = Call("POST", "/proxies/" + proxy + "/toxics", body);
    INFO(r.body);
    REQUIRE(r.status == 200);
  }
};

}  // namespace faultline::testing
