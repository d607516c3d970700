#include "faultline/core/text.h"

#include <cstdio>

namespace faultline::core {

std::string FormatFixed(double value, int digits) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

}  // namespace faultline::core
