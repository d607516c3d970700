#pragma once
// `faultline ctl`: a client for the proxy API (faultline's or Toxiproxy's), with
// toxiproxy-cli's verbs: list, inspect, create, delete, toggle, toxic add|update|remove,
// plus reset and populate, and faultline's own: holds, release, events.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace faultline::cli {

struct CtlOptions {
  std::string url;  // default: $FAULTLINE_URL, $TOXIPROXY_URL, http://127.0.0.1:8474
  bool json = false;
  std::string token_file;  // default: the token in $FAULTLINE_TOKEN
  std::string token;       // what is sent as "Authorization: Bearer <token>"; empty: nothing
  std::string proxy;
  std::string listen;
  std::string upstream;
  bool disabled = false;
  std::string protocol;               // "" leaves the server's default (tcp)
  std::optional<std::uint64_t> seed;  // unset: the server's seed
  std::string file;
  // toxics
  std::string toxic_name;
  std::string toxic_type;
  double toxicity = -1;  // unset
  bool upstream_stream = false;
  bool downstream_stream = false;
  std::vector<std::string> attributes;  // k=v
  std::uint64_t target_connection = 0;  // toxic add --connection; release --connection
  std::uint64_t target_every = 0;
  std::string target_client;
  std::string fault_line;  // ctl fault
  // holds and events
  bool all = false;
  std::uint64_t since = 0;
};

void SetupCtlCommand(CLI::App& app, CtlOptions& options, int& exit_code);

}  // namespace faultline::cli
