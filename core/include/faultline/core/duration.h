#pragma once
// Durations with units, as written in rules, specs and on the command line:
// "250us", "10ms", "2s", "1.5s", "1m", "1h", "100ns". A bare "0" is zero.

#include <chrono>
#include <string>
#include <string_view>

#include "faultline/core/result.h"

namespace faultline::core {

using Duration = std::chrono::nanoseconds;

// The largest duration accepted anywhere: a year. Bigger values are almost certainly
// mistakes, and staying far from the int64 limit keeps arithmetic on deadlines safe.
inline constexpr Duration kMaxDuration = std::chrono::hours(24 * 365);

// Parses a non-negative duration with a unit (ns, us, µs, ms, s, m, h).
Result<Duration> ParseDuration(std::string_view text);

// Formats with the largest unit that keeps the value exact: 1500us -> "1500us", 2000ms -> "2s".
std::string FormatDuration(Duration d);

// Converts a count of `unit`s (as in Toxiproxy's millisecond attributes) to a Duration,
// failing instead of overflowing when the result would exceed kMaxDuration or is negative.
Result<Duration> DurationFromCount(long long count, Duration unit);

}  // namespace faultline::core
