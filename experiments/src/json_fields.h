#pragma once
// Reading one field of the run directory's JSON (an event, result.json) leniently: what the
// report and the decision comparison show of files a killed run may have left incomplete.

#include <string>
#include <string_view>

#include <boost/json.hpp>

namespace faultline::experiments::json_fields {

// A string as it is, any other value as JSON, "" when absent or null.
inline std::string Text(const boost::json::object& object, std::string_view key) {
  const boost::json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) return "";
  if (value->is_string()) return std::string(value->as_string());
  return boost::json::serialize(*value);
}

// A number; `otherwise` when absent or not a number.
inline double Number(const boost::json::object& object, std::string_view key,
                     double otherwise = 0) {
  const boost::json::value* value = object.if_contains(key);
  return value != nullptr && value->is_number() ? value->to_number<double>() : otherwise;
}

}  // namespace faultline::experiments::json_fields
