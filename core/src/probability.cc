#include "faultline/core/probability.h"

#include <charconv>
#include <cmath>

namespace faultline::core {

Result<Probability> Probability::FromPpm(std::uint64_t ppm) {
  if (ppm > kMillion) {
    return MakeError("probability of " + std::to_string(ppm) + "ppm is above 1000000ppm (100%)");
  }
  return Probability(static_cast<std::uint32_t>(ppm));
}

Result<Probability> Probability::FromFraction(double fraction) {
  if (!std::isfinite(fraction) || fraction < 0.0 || fraction > 1.0) {
    return MakeError("probability must be between 0 and 1");
  }
  return Probability(static_cast<std::uint32_t>(std::llround(fraction * kMillion)));
}

std::string Probability::Format() const {
  std::string whole = std::to_string(ppm_ / 10000);
  const std::uint32_t rest = ppm_ % 10000;
  if (rest == 0) return whole + "%";
  std::string digits = std::to_string(rest);
  digits.insert(0, 4 - digits.size(), '0');
  while (digits.back() == '0') digits.pop_back();
  return whole + "." + digits + "%";
}

Result<Probability> Probability::Parse(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  double scale = 1.0;
  std::string_view number = text;
  if (number.ends_with("ppm")) {
    number.remove_suffix(3);
    scale = 1.0 / kMillion;
  } else if (number.ends_with('%')) {
    number.remove_suffix(1);
    scale = 0.01;
  }
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size()) {
    return MakeError("bad probability " + quoted + " (expected 20%, 0.2 or 200000ppm)");
  }
  auto result = FromFraction(value * scale);
  if (!result) {
    return MakeError("bad probability " + quoted + ": must be between 0% and 100%");
  }
  return result;
}

}  // namespace faultline::core
