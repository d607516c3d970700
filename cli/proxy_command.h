#pragma once
// `faultline proxy`: the Toxiproxy-compatible proxy server.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace faultline::cli {

struct ProxyOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8474;
  std::string config;
  std::string seed;  // empty: random, printed at start
  unsigned threads = 0;
  std::string busy_poll = "0";
  std::string events;      // JSON-lines event log; empty: memory only
  std::string token_file;  // the API's bearer token; empty: the API is open
};

void SetupProxyCommand(CLI::App& app, ProxyOptions& options, int& exit_code);
int RunProxy(const ProxyOptions& options);

}  // namespace faultline::cli
