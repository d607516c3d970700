#include "faultline/proxy/toxic.h"

#include <algorithm>

namespace faultline::proxy {
namespace {

// Durations are capped at a year (in their unit), sizes and rates at 2^53 so they stay exact
// in JSON doubles and far from overflow in arithmetic.
constexpr std::int64_t kMaxMs = 365LL * 24 * 3600 * 1000;
constexpr std::int64_t kMaxUs = kMaxMs * 1000;
constexpr std::int64_t kMaxCount = 1LL << 53;

}  // namespace

std::string_view StreamName(Stream stream) {
  return stream == Stream::kUpstream ? "upstream" : "downstream";
}

std::optional<Stream> ParseStream(std::string_view text) {
  if (text == "upstream") return Stream::kUpstream;
  if (text == "downstream") return Stream::kDownstream;
  return std::nullopt;
}

core::Probability ToxicSpec::probability() const {
  auto p = core::Probability::FromFraction(toxicity);
  return p ? *p : core::Probability::Always();
}

const std::vector<ToxicTypeInfo>& ToxicTypes() {
  static const std::vector<ToxicTypeInfo> kTypes = {
      {"latency",
       "Delays each chunk by latency ± jitter (uniform), in order.",
       {{"latency", "ms", true, kMaxMs, "delay added to each chunk"},
        {"jitter", "ms", false, kMaxMs, "uniform spread, ± this much"}}},
      {"bandwidth",
       "Limits throughput to rate KB/s (1 KB = 1000 bytes). rate 0 stalls the stream.",
       {{"rate", "KB/s", true, kMaxCount / 1000, "bytes per millisecond"}}},
      {"slow_close",
       "Delays the close (FIN) by delay after the data has passed.",
       {{"delay", "ms", true, kMaxMs, "delay before forwarding the close"}}},
      {"timeout",
       "Drops all data; closes the connection after timeout (0: never closes).",
       {{"timeout", "ms", true, kMaxMs, "time from activation until the connection closes"}}},
      {"reset_peer",
       "Resets the connection (RST) timeout after the first data arrives.",
       {{"timeout", "ms", false, kMaxMs, "delay between the first data and the reset"}}},
      {"slicer",
       "Slices each chunk into pieces of about average_size ± size_variation bytes.",
       {{"average_size", "bytes", true, kMaxCount, "mean size of a piece (> 0)"},
        {"size_variation", "bytes", false, kMaxCount, "spread (< average_size)"},
        {"delay", "us", false, kMaxUs, "pause between pieces"}}},
      {"limit_data",
       "Passes at most bytes bytes, then closes the connection.",
       {{"bytes", "bytes", true, kMaxCount, "bytes allowed before closing"}}},
  };
  return kTypes;
}

const ToxicTypeInfo* FindToxicType(std::string_view type) {
  const auto& types = ToxicTypes();
  auto it = std::find_if(types.begin(), types.end(),
                         [&](const ToxicTypeInfo& t) { return t.name == type; });
  return it == types.end() ? nullptr : &*it;
}

core::Status ValidateToxic(ToxicSpec& spec) {
  if (spec.type.empty()) {
    return core::MakeError("missing required field: type");
  }
  const ToxicTypeInfo* info = FindToxicType(spec.type);
  if (info == nullptr) {
    std::string known;
    for (const auto& t : ToxicTypes()) known += (known.empty() ? "" : ", ") + std::string(t.name);
    return core::MakeError("invalid toxic type '" + spec.type + "' (known: " + known + ")");
  }
  if (!(spec.toxicity >= 0.0 && spec.toxicity <= 1.0)) {
    return core::MakeError("toxicity must be between 0 and 1");
  }
  for (const auto& attribute : spec.attributes) {
    const std::string& name = attribute.first;
    const std::int64_t value = attribute.second;
    auto it = std::find_if(info->attributes.begin(), info->attributes.end(),
                           [&](const AttributeInfo& a) { return a.name == name; });
    if (it == info->attributes.end()) {
      std::string known;
      for (const auto& a : info->attributes) {
        known += (known.empty() ? "" : ", ") + std::string(a.name);
      }
      return core::MakeError("unknown attribute '" + name + "' for toxic type " + spec.type +
                             " (known: " + known + ")");
    }
    if (value < 0) {
      return core::MakeError("attribute '" + name + "' must not be negative");
    }
    if (value > it->max) {
      return core::MakeError("attribute '" + name + "' is too large (at most " +
                             std::to_string(it->max) + " " + std::string(it->unit) + ")");
    }
  }
  for (const AttributeInfo& a : info->attributes) {
    if (spec.attributes.find(a.name) != spec.attributes.end()) continue;
    if (a.required) {
      return core::MakeError("missing required attribute '" + std::string(a.name) +
                             "' for toxic type " + spec.type);
    }
    spec.attributes.emplace(std::string(a.name), 0);
  }
  if (spec.type == "slicer") {
    const std::int64_t average = spec.attributes.at("average_size");
    if (average <= 0) {
      return core::MakeError("attribute 'average_size' must be greater than 0");
    }
    if (spec.attributes.at("size_variation") >= average) {
      return core::MakeError("attribute 'size_variation' must be less than 'average_size'");
    }
  }
  if (spec.name.empty()) {
    spec.name = spec.type + "_" + std::string(StreamName(spec.stream));
  }
  return core::Ok();
}

}  // namespace faultline::proxy
