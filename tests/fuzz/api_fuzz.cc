// libFuzzer target over the HTTP API's request handling: the first line of the input is
// "METHOD TARGET", the rest is the body; a line ending in " !" asks for strict handling. Every
// request must get a well-formed reply with a sane status, and the server must stay consistent (no
// crash, leak or sanitizer report).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <boost/json.hpp>

#include "faultline/proxy/api.h"
#include "faultline/proxy/server.h"

using namespace faultline::proxy;

namespace {

ProxyServer& Server() {
  // Numeric resolution only: the fuzzer must never reach DNS or the network.
  static ProxyServer server(ProxyServer::Options{1, 1, NumericLookup, nullptr});
  return server;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto line_end = input.find('\n');
  std::string line = input.substr(0, line_end);
  const bool strict = line.ends_with(" !");
  if (strict) line.resize(line.size() - 2);
  const std::string body = line_end == std::string::npos ? "" : input.substr(line_end + 1);
  const auto space = line.find(' ');
  HttpRequest request{line.substr(0, space),
                      space == std::string::npos ? "/" : line.substr(space + 1),
                      body,
                      "fuzz",
                      "",
                      strict ? "handling=strict" : ""};

  Api api(Server(), "fuzz");
  const HttpResponse response = api.Handle(request);
  if (response.status < 200 || response.status >= 600 || response.status == 500) std::abort();
  if (response.status >= 400) {
    // Every error is a JSON object naming the problem.
    boost::system::error_code ec;
    auto value = boost::json::parse(response.body, ec);
    if (ec || !value.is_object() || !value.as_object().contains("error")) std::abort();
  }
  // A strict reading lets nothing pass, so it has nothing to warn of.
  if (strict && !response.warnings.empty()) std::abort();
  // Start every input from an empty server so state does not pile up across runs.
  for (const ProxyState& proxy : Server().List()) (void)Server().Delete(proxy.spec.name);
  return 0;
}
