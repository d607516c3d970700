#pragma once
// A fault's settings, typed: each kind of core/kinds.h declares the attributes it takes (a
// toxic's `latency`, `framing`, `probability`), with their unit, range and default. Stored
// values are Toxiproxy's numbers (whole milliseconds, bytes, KB/s, a fraction for a chance);
// people write durations with their unit ("800ms") and chances as "20%". Every part of
// faultline that reads or writes a setting does it here.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "faultline/core/duration.h"
#include "faultline/core/result.h"

namespace faultline::core {

enum class AttributeKind : std::uint8_t {
  kInteger,   // 0..max
  kFraction,  // 0..1
  kText,      // free text, or one of `choices`
};

// What one attribute of a kind accepts.
struct AttributeInfo {
  std::string_view name;
  std::string_view unit;  // "ms", "us", "bytes", "KB/s", "frames"
  bool required;
  std::int64_t max;  // inclusive; the minimum is always 0 (integers only)
  std::string_view help;
  AttributeKind kind = AttributeKind::kInteger;
  std::int64_t default_integer = 0;
  double default_fraction = 0;
  std::string_view default_text = "";
  std::string_view choices = "";  // "a|b|c"; empty: any text
};

// An attribute's value: a whole number in its unit, a fraction or text.
using AttributeValue = std::variant<std::int64_t, double, std::string>;
using Attributes = std::map<std::string, AttributeValue, std::less<>>;

// Limits: durations are capped at a year (in their unit), sizes and rates at 2^53 so they
// stay exact in JSON doubles and far from overflow in arithmetic. A frame is held whole until
// it completes, so it cannot be longer than what one direction of a proxy may hold.
inline constexpr std::int64_t kMaxMs = 365LL * 24 * 3600 * 1000;
inline constexpr std::int64_t kMaxUs = kMaxMs * 1000;
inline constexpr std::int64_t kMaxCount = 1LL << 53;
inline constexpr std::int64_t kMaxFrameBytes = 4 << 20;

const AttributeInfo* FindAttribute(std::span<const AttributeInfo> attributes,
                                   std::string_view name);
// Their names, for messages: "latency, jitter".
std::string AttributeNames(std::span<const AttributeInfo> attributes);

// An attribute's value as a person writes it (a spec, `faultline ctl -a`, a fault's line),
// read into the attribute's own terms: a duration with its unit for an attribute in ms or us
// ("800ms" is 800, "2s" is 2000; `bare` is set for a bare number, taken in the unit), a
// chance as "20%", "250000ppm" or a fraction for a fraction, a whole number for any other
// number (bytes, KB/s, frames). A text attribute's text comes back as it is. An error names
// the attribute: "latency: 1500us is not a whole number of milliseconds", "bytes: '1k' is not
// a whole number".
Result<AttributeValue> ReadWrittenAttribute(const AttributeInfo& info, std::string_view text,
                                            bool& bare);
// The other way, as a person writes it: "800ms", "20%"; other values as they are.
std::string FormatWrittenAttribute(const AttributeInfo& info, const AttributeValue& value);
// Whether a person writes the attribute otherwise than its stored number: a duration, or a
// chance.
bool HasWrittenForm(const AttributeInfo& info);
// One of a duration attribute's units (1 ms for "ms", 1 µs for "us"); none for the others.
std::optional<Duration> DurationUnit(const AttributeInfo& info);

// Checks every attribute against `schema` (`what` names the owner in errors: "toxic type
// latency"): its name, kind and range. On success fills in the defaults of omitted optional
// attributes and stores each value as its kind (a whole-number fraction becomes a double).
// The error names the offending attribute: "attribute 'latency' must not be negative".
Status ValidateAttributes(std::span<const AttributeInfo> schema, std::string_view what,
                          Attributes& attributes);

// A validated attribute of the matching kind; 0, 0.0 or "" when absent.
std::int64_t IntegerAttribute(const Attributes& attributes, std::string_view name);
double FractionAttribute(const Attributes& attributes, std::string_view name);
const std::string& TextAttribute(const Attributes& attributes, std::string_view name);

}  // namespace faultline::core
