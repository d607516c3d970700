#pragma once
// YAML nodes as JSON values, so YAML files can describe what the proxy's JSON API accepts
// (toxics, proxies) and be checked by the same strict reader.

#include <yaml-cpp/yaml.h>
#include <boost/json/value.hpp>

namespace faultline::experiments {

// Quoted scalars stay strings; plain ones that read as a boolean or a number become one.
boost::json::value YamlToJson(const YAML::Node& node);

}  // namespace faultline::experiments
