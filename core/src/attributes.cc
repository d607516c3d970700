#include "faultline/core/attributes.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>

#include "faultline/core/probability.h"

namespace faultline::core {
namespace {

using Kind = AttributeKind;

// Stores `value` as `info`'s kind, or says why it cannot be.
Status Coerce(const AttributeInfo& info, AttributeValue& value) {
  const std::string name(info.name);
  switch (info.kind) {
    case Kind::kInteger: {
      if (const auto* d = std::get_if<double>(&value)) {
        if (!std::isfinite(*d) || *d != std::floor(*d)) {
          return MakeError("attribute '" + name + "' must be a whole number");
        }
        if (std::fabs(*d) >= 9.2e18) return MakeError("attribute '" + name + "' is too large");
        value = static_cast<std::int64_t>(*d);
      }
      const auto* i = std::get_if<std::int64_t>(&value);
      if (i == nullptr) return MakeError("attribute '" + name + "' must be a number");
      if (*i < 0) return MakeError("attribute '" + name + "' must not be negative");
      if (*i > info.max) {
        return MakeError("attribute '" + name + "' is too large (at most " +
                         std::to_string(info.max) +
                         (info.unit.empty() ? "" : " " + std::string(info.unit)) + ")");
      }
      return Ok();
    }
    case Kind::kFraction: {
      if (const auto* i = std::get_if<std::int64_t>(&value)) value = static_cast<double>(*i);
      const auto* d = std::get_if<double>(&value);
      if (d == nullptr) return MakeError("attribute '" + name + "' must be a number");
      if (!(*d >= 0.0 && *d <= 1.0)) {
        return MakeError("attribute '" + name + "' must be between 0 and 1");
      }
      return Ok();
    }
    case Kind::kText: {
      const auto* text = std::get_if<std::string>(&value);
      if (text == nullptr) return MakeError("attribute '" + name + "' must be a string");
      if (info.choices.empty()) return Ok();
      std::string_view rest = info.choices;
      while (!rest.empty()) {
        const auto bar = rest.find('|');
        if (rest.substr(0, bar) == *text) return Ok();
        rest = bar == std::string_view::npos ? std::string_view{} : rest.substr(bar + 1);
      }
      std::string choices(info.choices);
      std::replace(choices.begin(), choices.end(), '|', ',');
      return MakeError("attribute '" + name + "' must be one of: " + choices);
    }
  }
  return Ok();
}

AttributeValue DefaultOf(const AttributeInfo& info) {
  switch (info.kind) {
    case Kind::kFraction:
      return info.default_fraction;
    case Kind::kText:
      return std::string(info.default_text);
    case Kind::kInteger:
      break;
  }
  return info.default_integer;
}

template <typename T>
const T* Find(const Attributes& attributes, std::string_view name) {
  auto it = attributes.find(name);
  return it == attributes.end() ? nullptr : std::get_if<T>(&it->second);
}

}  // namespace

const AttributeInfo* FindAttribute(std::span<const AttributeInfo> attributes,
                                   std::string_view name) {
  auto it = std::find_if(attributes.begin(), attributes.end(),
                         [&](const AttributeInfo& a) { return a.name == name; });
  return it == attributes.end() ? nullptr : &*it;
}

std::string AttributeNames(std::span<const AttributeInfo> attributes) {
  std::string names;
  for (const auto& a : attributes) names += (names.empty() ? "" : ", ") + std::string(a.name);
  return names;
}

std::optional<Duration> DurationUnit(const AttributeInfo& info) {
  if (info.unit == "ms") return std::chrono::milliseconds(1);
  if (info.unit == "us") return std::chrono::microseconds(1);
  return std::nullopt;
}

bool HasWrittenForm(const AttributeInfo& info) {
  return info.kind == Kind::kFraction || DurationUnit(info).has_value();
}

Result<AttributeValue> ReadWrittenAttribute(const AttributeInfo& info, std::string_view text,
                                            bool& bare) {
  bare = false;
  const std::string name(info.name);
  if (info.kind == Kind::kFraction) {
    auto chance = Probability::Parse(text);
    if (!chance) return MakeError(name + ": " + chance.message());
    return AttributeValue(chance->fraction());
  }
  if (info.kind == Kind::kText) return AttributeValue(std::string(text));
  std::int64_t count = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
  const bool whole = !text.empty() && ec == std::errc() && end == text.data() + text.size();
  const auto unit = DurationUnit(info);
  if (!unit) {
    if (!whole) return MakeError(name + ": '" + std::string(text) + "' is not a whole number");
    return AttributeValue(count);
  }
  if (whole) {
    bare = true;
    return AttributeValue(count);
  }
  auto duration = ParseDuration(text);
  if (!duration) return MakeError(name + ": " + duration.message());
  if (*duration % *unit != Duration::zero()) {
    return MakeError(name + ": " + std::string(text) + " is not a whole number of " +
                     (info.unit == "ms" ? "milliseconds" : "microseconds"));
  }
  return AttributeValue(static_cast<std::int64_t>(*duration / *unit));
}

std::string FormatWrittenAttribute(const AttributeInfo& info, const AttributeValue& value) {
  if (const auto* integer = std::get_if<std::int64_t>(&value)) {
    const auto unit = DurationUnit(info);
    return unit ? FormatDuration(*integer * *unit) : std::to_string(*integer);
  }
  if (const auto* fraction = std::get_if<double>(&value)) {
    auto chance = Probability::FromFraction(*fraction);
    return chance ? chance->Format() : std::to_string(*fraction);
  }
  return std::get<std::string>(value);
}

Status ValidateAttributes(std::span<const AttributeInfo> schema, std::string_view what,
                          Attributes& attributes) {
  for (auto& [name, value] : attributes) {
    const AttributeInfo* known = FindAttribute(schema, name);
    if (known == nullptr) {
      return MakeError("unknown attribute '" + name + "' for " + std::string(what) +
                       " (known: " + AttributeNames(schema) + ")");
    }
    if (auto ok = Coerce(*known, value); !ok) return ok;
  }
  for (const AttributeInfo& a : schema) {
    if (attributes.find(a.name) != attributes.end()) continue;
    if (a.required) {
      return MakeError("missing required attribute '" + std::string(a.name) + "' for " +
                       std::string(what));
    }
    attributes.emplace(std::string(a.name), DefaultOf(a));
  }
  return Ok();
}

std::int64_t IntegerAttribute(const Attributes& attributes, std::string_view name) {
  const auto* value = Find<std::int64_t>(attributes, name);
  return value == nullptr ? 0 : *value;
}

double FractionAttribute(const Attributes& attributes, std::string_view name) {
  const auto* value = Find<double>(attributes, name);
  return value == nullptr ? 0 : *value;
}

const std::string& TextAttribute(const Attributes& attributes, std::string_view name) {
  static const std::string kEmpty;
  const auto* value = Find<std::string>(attributes, name);
  return value == nullptr ? kEmpty : *value;
}

}  // namespace faultline::core
