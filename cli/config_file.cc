#include "config_file.h"

#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>
#include <boost/json.hpp>

#include "faultline/experiments/yaml_error.h"
#include "faultline/experiments/yaml_json.h"
#include "faultline/proxy/json.h"

namespace faultline::cli {
namespace {

namespace bj = boost::json;
using experiments::YamlToJson;

std::string ReadFile(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  ok = static_cast<bool>(in);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string EntryLabel(std::size_t index, const bj::value& entry) {
  std::string label = "proxy " + std::to_string(index);
  if (entry.is_object()) {
    if (const auto* name = entry.as_object().if_contains("name"); name && name->is_string()) {
      label += " ('" + std::string(name->as_string()) + "')";
    }
  }
  return label;
}

}  // namespace

core::Result<ProxyConfig> LoadProxyConfig(const std::string& path) {
  bool readable = false;
  const std::string text = ReadFile(path, readable);
  if (!readable) return core::MakeError(path + ": cannot read file");
  const auto first = text.find_first_not_of(" \t\r\n");
  const bool is_json = first != std::string::npos && (text[first] == '[' || text[first] == '{');

  std::vector<bj::value> entries;
  std::vector<int> lines;  // 1-based line of each entry, 0 when unknown (JSON)
  if (is_json) {
    auto value = proxy::json::Parse(text);
    if (!value) return core::MakeError(path + ": " + value.message());
    if (!value->is_array()) return core::MakeError(path + ": expected a JSON array of proxies");
    for (const auto& entry : value->as_array()) {
      entries.push_back(entry);
      lines.push_back(0);
    }
  } else {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      return core::MakeError(path + ":" + std::to_string(e.mark.line + 1) + ":" +
                             std::to_string(e.mark.column + 1) + ": " +
                             experiments::DescribeYamlError(e));
    }
    if (root.IsNull()) return ProxyConfig{};
    if (!root.IsSequence()) {
      return core::MakeError(path + ":" + std::to_string(root.Mark().line + 1) +
                             ": expected a list of proxies");
    }
    for (const auto& item : root) {
      entries.push_back(YamlToJson(item));
      lines.push_back(item.Mark().line + 1);
    }
  }

  ProxyConfig config;
  proxy::json::Reading reading{is_json ? proxy::json::Leniency::kToxiproxy
                                       : proxy::json::Leniency::kStrict};
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string where = (lines[i] > 0 ? path + ":" + std::to_string(lines[i]) : path) + ": " +
                              EntryLabel(i, entries[i]);
    reading.warnings.clear();
    auto parsed = proxy::json::ProxyFromJson(entries[i], reading);
    for (const std::string& warning : reading.warnings) {
      config.warnings.push_back(where + ": " + warning);
    }
    if (!parsed) return core::MakeError(where + ": " + parsed.message());
    // Check the toxics here too, so their mistakes are reported with the file and line.
    for (std::size_t t = 0; t < parsed->toxics.size(); ++t) {
      proxy::ToxicSpec copy = parsed->toxics[t];
      if (auto ok = proxy::ValidateToxic(copy); !ok) {
        return core::MakeError(where + ": toxics[" + std::to_string(t) + "]: " + ok.message());
      }
    }
    config.proxies.push_back(std::move(*parsed));
  }
  return config;
}

}  // namespace faultline::cli
