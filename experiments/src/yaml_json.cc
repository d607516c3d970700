#include "faultline/experiments/yaml_json.h"

#include <boost/json.hpp>

namespace faultline::experiments {

namespace bj = boost::json;

bj::value YamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence: {
      bj::array array;
      for (const auto& item : node) array.push_back(YamlToJson(item));
      return array;
    }
    case YAML::NodeType::Map: {
      bj::object object;
      for (const auto& item : node) object[item.first.as<std::string>()] = YamlToJson(item.second);
      return object;
    }
    case YAML::NodeType::Scalar: {
      const std::string text = node.Scalar();
      if (node.Tag() == "!") return bj::value(text);
      if (text == "true") return true;
      if (text == "false") return false;
      boost::system::error_code ec;
      bj::value number = bj::parse(text, ec);
      if (!ec && number.is_number()) return number;
      return bj::value(text);
    }
    default:
      return nullptr;
  }
}

}  // namespace faultline::experiments
