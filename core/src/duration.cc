#include "faultline/core/duration.h"

#include <array>
#include <charconv>
#include <cmath>

namespace faultline::core {
namespace {

struct Unit {
  std::string_view suffix;
  Duration size;
};

// Longest suffixes first so "ms" is not read as "m" followed by junk.
constexpr std::array<Unit, 8> kUnits = {{
    {"ns", Duration(1)},
    {"us", std::chrono::microseconds(1)},
    {"\xC2\xB5s", std::chrono::microseconds(1)},  // µs
    {"ms", std::chrono::milliseconds(1)},
    {"s", std::chrono::seconds(1)},
    {"m", std::chrono::minutes(1)},
    {"h", std::chrono::hours(1)},
    {"d", std::chrono::hours(24)},
}};

}  // namespace

Result<Duration> ParseDuration(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  if (text.empty()) {
    return MakeError("empty duration (expected a number with a unit, such as 10ms)");
  }
  if (text == "0") {
    return Duration::zero();
  }
  std::size_t digits_end = 0;
  while (digits_end < text.size() &&
         ((text[digits_end] >= '0' && text[digits_end] <= '9') || text[digits_end] == '.')) {
    ++digits_end;
  }
  std::string_view number = text.substr(0, digits_end);
  std::string_view suffix = text.substr(digits_end);
  if (number.empty()) {
    return MakeError("bad duration " + quoted + ": expected a non-negative number with a unit");
  }
  const Unit* unit = nullptr;
  for (const Unit& u : kUnits) {
    if (u.suffix == suffix) {
      unit = &u;
      break;
    }
  }
  if (unit == nullptr) {
    return MakeError(
        "bad duration " + quoted +
        (suffix.empty() ? ": missing unit (ns, us, ms, s, m, h, d)"
                        : ": unknown unit '" + std::string(suffix) + "' (ns, us, ms, s, m, h, d)"));
  }
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || end != number.data() + number.size() || !std::isfinite(value)) {
    return MakeError("bad duration " + quoted + ": '" + std::string(number) + "' is not a number");
  }
  const double nanos = value * static_cast<double>(unit->size.count());
  if (nanos > static_cast<double>(kMaxDuration.count())) {
    return MakeError("duration " + quoted + " is too long (at most 365d)");
  }
  return Duration(static_cast<Duration::rep>(std::llround(nanos)));
}

std::string FormatDuration(Duration d) {
  if (d == Duration::zero()) {
    return "0s";
  }
  const bool negative = d < Duration::zero();
  const auto n = negative ? -d.count() : d.count();
  struct Step {
    const char* suffix;
    long long size;
  };
  static constexpr Step kSteps[] = {
      {"h", 3'600'000'000'000LL}, {"m", 60'000'000'000LL}, {"s", 1'000'000'000LL},
      {"ms", 1'000'000LL},        {"us", 1'000LL},         {"ns", 1LL}};
  for (const Step& step : kSteps) {
    if (n % step.size == 0) {
      return (negative ? "-" : "") + std::to_string(n / step.size) + step.suffix;
    }
  }
  return std::to_string(n) + "ns";
}

Result<Duration> DurationFromCount(long long count, Duration unit) {
  if (count < 0) {
    return MakeError("must not be negative");
  }
  if (unit.count() > 0 && count > kMaxDuration.count() / unit.count()) {
    return MakeError("is too large (at most " + std::to_string(kMaxDuration / unit) + ")");
  }
  return Duration(unit.count() * count);
}

}  // namespace faultline::core
