#pragma once
// Reads a proxy config file: Toxiproxy's JSON array of {name, listen, upstream, enabled},
// or the same in YAML, each entry optionally with "toxics" (which Toxiproxy ignores).
// Errors name the file, the entry and, for YAML, the line. A JSON file is Toxiproxy's and is
// read as Toxiproxy reads it (proxy/json.h): what it lets pass is in `warnings`, each naming
// the file and the entry. A YAML file is faultline's own and is read strictly.

#include <string>
#include <vector>

#include "faultline/core/result.h"
#include "faultline/proxy/server.h"

namespace faultline::cli {

struct ProxyConfig {
  std::vector<proxy::ProxyState> proxies;
  std::vector<std::string> warnings;
};

core::Result<ProxyConfig> LoadProxyConfig(const std::string& path);

}  // namespace faultline::cli
