#pragma once
// Numbers as people read them in progress lines, reports and tables.

#include <string>

namespace faultline::core {

// `value` with exactly `digits` decimals: FormatFixed(2.345, 1) == "2.3" (printf's "%.*f").
std::string FormatFixed(double value, int digits);

}  // namespace faultline::core
