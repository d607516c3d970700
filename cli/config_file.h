#pragma once
// Reads a proxy config file: Toxiproxy's JSON array of {name, listen, upstream, enabled},
// or the same in YAML, each entry optionally with "toxics" (which Toxiproxy ignores).
// Errors name the file, the entry and, for YAML, the line.

#include <string>
#include <vector>

#include "faultline/core/result.h"
#include "faultline/proxy/server.h"

namespace faultline::cli {

core::Result<std::vector<proxy::ProxyState>> LoadProxyConfig(const std::string& path);

}  // namespace faultline::cli
