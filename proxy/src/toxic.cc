#include "faultline/proxy/toxic.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>

#include "faultline/proxy/framing.h"
#include "toxics/toxics.h"

namespace faultline::proxy {

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

std::int64_t ToxicSpec::Int(std::string_view attribute) const {
  auto it = attributes.find(attribute);
  if (it == attributes.end()) return 0;
  const auto* value = std::get_if<std::int64_t>(&it->second);
  return value == nullptr ? 0 : *value;
}

double ToxicSpec::Fraction(std::string_view attribute) const {
  auto it = attributes.find(attribute);
  if (it == attributes.end()) return 0;
  const auto* value = std::get_if<double>(&it->second);
  return value == nullptr ? 0 : *value;
}

const std::string& ToxicSpec::Text(std::string_view attribute) const {
  static const std::string kEmpty;
  auto it = attributes.find(attribute);
  if (it == attributes.end()) return kEmpty;
  const auto* value = std::get_if<std::string>(&it->second);
  return value == nullptr ? kEmpty : *value;
}

bool Target::Matches(std::uint64_t connection_index, std::string_view client_ip) const {
  if (connection != 0 && connection_index != connection) return false;
  if (every != 0 && connection_index % every != 0) return false;
  return client.empty() || client == client_ip;
}

namespace toxics {

// How a frame-aware toxic cuts the byte stream into messages.
namespace {

using Kind = AttributeKind;

AttributeInfo FramingAttribute() {
  return {"framing",
          "",
          false,
          0,
          "how the stream is cut into frames: raw (each read), line, length-prefixed, fixed",
          Kind::kText,
          0,
          0,
          "raw",
          "raw|line|length-prefixed|fixed"};
}

}  // namespace

std::vector<AttributeInfo> FramingAttributes() {
  return {FramingAttribute(),
          {"frame_size", "bytes", false, kMaxFrameLimit, "fixed framing: bytes per frame"},
          {"length_bytes", "bytes", false, 4, "length-prefixed: 2 or 4 (big-endian)",
           Kind::kInteger, 4},
          {"length_includes_header", "", false, 1,
           "length-prefixed: 1 if the length counts the prefix itself"},
          {"max_frame", "bytes", false, kMaxFrameLimit,
           "largest frame accepted; a bigger one closes the connection", Kind::kInteger,
           kDirectionBudget}};
}

std::vector<AttributeInfo> SelectorAttributes() {
  return {{"frame", "", false, kMaxCount, "only the k-th frame, counting from 1 (0: any)"},
          {"match", "", false, 0,
           "only frames this pattern (RE2) matches, searched in the frame without its delimiter",
           Kind::kText},
          {"probability", "", false, 0, "chance that a selected frame is acted on", Kind::kFraction,
           0, 1.0}};
}

std::vector<AttributeInfo> PointAttributes() {
  return {{"bytes", "bytes", false, kMaxCount, "after this many bytes have passed"},
          {"frame", "", false, kMaxCount, "at the k-th frame, counting from 1"},
          {"match", "", false, 0,
           "at the first frame this pattern (RE2) matches, searched in the frame without its "
           "delimiter",
           Kind::kText}};
}

std::vector<AttributeInfo> Join(std::initializer_list<std::vector<AttributeInfo>> parts) {
  std::vector<AttributeInfo> all;
  for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

Framing FramingOf(const ToxicSpec& spec) {
  auto framing = FramingFromSpec(spec);
  return framing ? *framing : Framing{};
}

}  // namespace toxics

namespace {

using Kind = AttributeKind;
using toxics::kMaxFrameLimit;

std::string KnownNames(const std::vector<AttributeInfo>& attributes) {
  std::string known;
  for (const auto& a : attributes) known += (known.empty() ? "" : ", ") + std::string(a.name);
  return known;
}

// Stores `value` as `info`'s kind, or says why it cannot be.
core::Status Coerce(const AttributeInfo& info, AttributeValue& value) {
  const std::string name(info.name);
  switch (info.kind) {
    case Kind::kInteger: {
      if (const auto* d = std::get_if<double>(&value)) {
        if (!std::isfinite(*d) || *d != std::floor(*d)) {
          return core::MakeError("attribute '" + name + "' must be a whole number");
        }
        if (std::fabs(*d) >= 9.2e18)
          return core::MakeError("attribute '" + name + "' is too large");
        value = static_cast<std::int64_t>(*d);
      }
      const auto* i = std::get_if<std::int64_t>(&value);
      if (i == nullptr) return core::MakeError("attribute '" + name + "' must be a number");
      if (*i < 0) return core::MakeError("attribute '" + name + "' must not be negative");
      if (*i > info.max) {
        return core::MakeError("attribute '" + name + "' is too large (at most " +
                               std::to_string(info.max) +
                               (info.unit.empty() ? "" : " " + std::string(info.unit)) + ")");
      }
      return core::Ok();
    }
    case Kind::kFraction: {
      if (const auto* i = std::get_if<std::int64_t>(&value)) value = static_cast<double>(*i);
      const auto* d = std::get_if<double>(&value);
      if (d == nullptr) return core::MakeError("attribute '" + name + "' must be a number");
      if (!(*d >= 0.0 && *d <= 1.0)) {
        return core::MakeError("attribute '" + name + "' must be between 0 and 1");
      }
      return core::Ok();
    }
    case Kind::kText: {
      const auto* text = std::get_if<std::string>(&value);
      if (text == nullptr) return core::MakeError("attribute '" + name + "' must be a string");
      if (info.choices.empty()) return core::Ok();
      std::string_view rest = info.choices;
      while (!rest.empty()) {
        const auto bar = rest.find('|');
        if (rest.substr(0, bar) == *text) return core::Ok();
        rest = bar == std::string_view::npos ? std::string_view{} : rest.substr(bar + 1);
      }
      std::string choices(info.choices);
      std::replace(choices.begin(), choices.end(), '|', ',');
      return core::MakeError("attribute '" + name + "' must be one of: " + choices);
    }
  }
  return core::Ok();
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

bool IsFrameAware(const ToxicTypeInfo& info) {
  return info.kind->acts_on == core::ActsOn::kFrames || info.kind->acts_on == core::ActsOn::kPoint;
}

// Rules that tie attributes together, checked once each has its kind and defaults: those of
// the attributes types share (framing, match) here, the type's own in its file.
core::Status CheckCombinations(ToxicSpec& spec, const ToxicTypeInfo& info) {
  if (IsFrameAware(info)) {
    auto framing = FramingFromSpec(spec);
    if (!framing) return framing.error();
  }
  spec.compiled_match.pattern.reset();
  if (const std::string& match = spec.Text("match"); !match.empty()) {
    auto pattern = Pattern::Compile(match);
    if (!pattern) {
      return core::MakeError("attribute 'match' is not a valid RE2 pattern: '" + match +
                             "': " + pattern.message());
    }
    spec.compiled_match.pattern = std::move(*pattern);
  }
  return info.check != nullptr ? info.check(spec) : core::Ok();
}

}  // namespace

core::Result<Framing> FramingFromSpec(const ToxicSpec& spec) {
  Framing framing;
  const std::string& kind = spec.Text("framing");
  framing.kind = kind == "line"              ? Framing::Kind::kLine
                 : kind == "length-prefixed" ? Framing::Kind::kLengthPrefixed
                 : kind == "fixed"           ? Framing::Kind::kFixed
                                             : Framing::Kind::kRaw;
  framing.frame_size = static_cast<std::size_t>(spec.Int("frame_size"));
  framing.length_bytes = static_cast<unsigned>(spec.Int("length_bytes"));
  framing.length_includes_header = spec.Int("length_includes_header") != 0;
  framing.max_frame = static_cast<std::size_t>(spec.Int("max_frame"));
  if (framing.max_frame == 0)
    return core::MakeError("attribute 'max_frame' must be greater than 0");
  if (framing.kind == Framing::Kind::kFixed && framing.frame_size == 0) {
    return core::MakeError("fixed framing needs attribute 'frame_size' greater than 0");
  }
  if (framing.frame_size > framing.max_frame) {
    return core::MakeError("attribute 'frame_size' must not exceed 'max_frame'");
  }
  if (framing.kind == Framing::Kind::kLengthPrefixed && framing.length_bytes != 2 &&
      framing.length_bytes != 4) {
    return core::MakeError("attribute 'length_bytes' must be 2 or 4");
  }
  return framing;
}

const std::vector<ToxicTypeInfo>& ToxicTypes() {
#define FAULTLINE_TOXIC_TYPE(name, ...)                         \
  [] {                                                          \
    toxics::Description description = toxics::name::Describe(); \
    return ToxicTypeInfo{#name,                                 \
                         description.help,                      \
                         std::move(description.attributes),     \
                         core::FindKind(#name),                 \
                         toxics::name::Make,                    \
                         description.check};                    \
  }(),
  static const std::vector<ToxicTypeInfo> kTypes = {FAULTLINE_PROXY_KINDS(FAULTLINE_TOXIC_TYPE)};
#undef FAULTLINE_TOXIC_TYPE
  return kTypes;
}

const AttributeInfo* FindAttribute(const ToxicTypeInfo& type, std::string_view name) {
  auto it = std::find_if(type.attributes.begin(), type.attributes.end(),
                         [&](const AttributeInfo& a) { return a.name == name; });
  return it == type.attributes.end() ? nullptr : &*it;
}

std::optional<core::Duration> DurationUnit(const AttributeInfo& info) {
  if (info.unit == "ms") return std::chrono::milliseconds(1);
  if (info.unit == "us") return std::chrono::microseconds(1);
  return std::nullopt;
}

bool HasWrittenForm(const AttributeInfo& info) {
  return info.kind == Kind::kFraction || DurationUnit(info).has_value();
}

core::Result<AttributeValue> ReadWrittenAttribute(const AttributeInfo& info, std::string_view text,
                                                  bool& bare) {
  bare = false;
  const std::string name(info.name);
  if (info.kind == Kind::kFraction) {
    auto chance = core::Probability::Parse(text);
    if (!chance) return core::MakeError(name + ": " + chance.message());
    return AttributeValue(chance->fraction());
  }
  if (info.kind == Kind::kText) return AttributeValue(std::string(text));
  std::int64_t count = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
  const bool whole = !text.empty() && ec == std::errc() && end == text.data() + text.size();
  const auto unit = DurationUnit(info);
  if (!unit) {
    if (!whole) {
      return core::MakeError(name + ": '" + std::string(text) + "' is not a whole number");
    }
    return AttributeValue(count);
  }
  if (whole) {
    bare = true;
    return AttributeValue(count);
  }
  auto duration = core::ParseDuration(text);
  if (!duration) return core::MakeError(name + ": " + duration.message());
  if (*duration % *unit != core::Duration::zero()) {
    return core::MakeError(name + ": " + std::string(text) + " is not a whole number of " +
                           (info.unit == "ms" ? "milliseconds" : "microseconds"));
  }
  return AttributeValue(static_cast<std::int64_t>(*duration / *unit));
}

std::string FormatWrittenAttribute(const AttributeInfo& info, const AttributeValue& value) {
  if (const auto* integer = std::get_if<std::int64_t>(&value)) {
    const auto unit = DurationUnit(info);
    return unit ? core::FormatDuration(*integer * *unit) : std::to_string(*integer);
  }
  if (const auto* fraction = std::get_if<double>(&value)) {
    auto chance = core::Probability::FromFraction(*fraction);
    return chance ? chance->Format() : std::to_string(*fraction);
  }
  return std::get<std::string>(value);
}

const ToxicTypeInfo* FindToxicType(std::string_view type) {
  const auto& types = ToxicTypes();
  auto it = std::find_if(types.begin(), types.end(),
                         [&](const ToxicTypeInfo& t) { return t.name == type; });
  return it == types.end() ? nullptr : &*it;
}

bool IsConnectionToxic(std::string_view type) {
  const ToxicTypeInfo* info = FindToxicType(type);
  return info != nullptr && info->kind->acts_on == core::ActsOn::kConnection;
}

std::unique_ptr<Stage> MakeStage(const ToxicSpec& spec, StageContext& context) {
  const ToxicTypeInfo* info = FindToxicType(spec.type);
  return info == nullptr ? nullptr : info->make(spec, context);
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
  for (auto& entry : spec.attributes) {
    const std::string& name = entry.first;
    AttributeValue& value = entry.second;
    const AttributeInfo* known = FindAttribute(*info, name);
    if (known == nullptr) {
      return core::MakeError("unknown attribute '" + name + "' for toxic type " + spec.type +
                             " (known: " + KnownNames(info->attributes) + ")");
    }
    if (auto ok = Coerce(*known, value); !ok) return ok;
  }
  for (const AttributeInfo& a : info->attributes) {
    if (spec.attributes.find(a.name) != spec.attributes.end()) continue;
    if (a.required) {
      return core::MakeError("missing required attribute '" + std::string(a.name) +
                             "' for toxic type " + spec.type);
    }
    spec.attributes.emplace(std::string(a.name), DefaultOf(a));
  }
  if (auto ok = CheckCombinations(spec, *info); !ok) return ok;
  if (spec.name.empty()) {
    spec.name = spec.type + "_" + std::string(StreamName(spec.stream));
  }
  return core::Ok();
}

namespace {

// Toxiproxy crashes on these below 0 (a negative slice bound, rand.Intn of a negative, an
// endless recursion), so ValidateToxic goes on refusing them.
bool ToxiproxyCrashesBelowZero(std::string_view type, std::string_view attribute) {
  return (type == "bandwidth" && attribute == "rate") ||
         (type == "slicer" && (attribute == "average_size" || attribute == "size_variation"));
}

}  // namespace

void RelaxAttributes(std::string_view type, Attributes& attributes,
                     std::vector<std::string>& warnings) {
  const ToxicTypeInfo* info = FindToxicType(type);
  if (info == nullptr) return;  // ValidateToxic says the type is unknown
  for (auto entry = attributes.begin(); entry != attributes.end();) {
    const AttributeInfo* known = FindAttribute(*info, entry->first);
    if (known == nullptr) {
      warnings.push_back("unknown attribute '" + entry->first + "' for toxic type " +
                         std::string(type) + " ignored");
      entry = attributes.erase(entry);
      continue;
    }
    if (info->kind->origin == core::Origin::kToxiproxy && known->kind == Kind::kInteger) {
      if (const auto* value = std::get_if<std::int64_t>(&entry->second);
          value != nullptr && (*value < 0 || *value > known->max) &&
          !(*value < 0 && ToxiproxyCrashesBelowZero(type, entry->first))) {
        const std::int64_t taken = *value < 0 ? 0 : known->max;
        warnings.push_back("attribute '" + entry->first + "' " + std::to_string(*value) +
                           " taken as " + std::to_string(taken));
        entry->second = taken;
      }
    }
    ++entry;
  }
}

}  // namespace faultline::proxy
