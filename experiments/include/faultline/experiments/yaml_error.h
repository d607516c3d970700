#pragma once
// A YAML parse error as a message that says how to fix it: yaml-cpp's own words, then a hint
// for the mistakes people make in specs (an unquoted `: ` inside a command, a backslash in
// double quotes, a flow list left open).

#include <yaml-cpp/exceptions.h>

#include <string>

namespace faultline::experiments {

// "not valid YAML: illegal map value (a `: ` inside a value starts a mapping: quote this
// string, e.g. command: \"echo a: b\")". The place is the caller's to add, from error.mark.
std::string DescribeYamlError(const YAML::Exception& error);

}  // namespace faultline::experiments
