#include "faultline/proxy/toxic.h"

#include <algorithm>
#include <chrono>

#include "faultline/proxy/framing.h"
#include "toxics/toxics.h"

namespace faultline::proxy {

core::Probability ToxicSpec::probability() const {
  auto p = core::Probability::FromFraction(toxicity);
  return p ? *p : core::Probability::Always();
}

std::int64_t ToxicSpec::Int(std::string_view attribute) const {
  return core::IntegerAttribute(attributes, attribute);
}

double ToxicSpec::Fraction(std::string_view attribute) const {
  return core::FractionAttribute(attributes, attribute);
}

const std::string& ToxicSpec::Text(std::string_view attribute) const {
  return core::TextAttribute(attributes, attribute);
}

namespace toxics {

Framing FramingOf(const ToxicSpec& spec) {
  auto framing = FramingFromSpec(spec);
  return framing ? *framing : Framing{};
}

}  // namespace toxics

namespace {

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
#define FAULTLINE_TOXIC_TYPE(name, ...) \
  ToxicTypeInfo{#name, core::FindKind(#name), toxics::name::Make, toxics::name::kCheck},
  static const std::vector<ToxicTypeInfo> kTypes = {FAULTLINE_PROXY_KINDS(FAULTLINE_TOXIC_TYPE)};
#undef FAULTLINE_TOXIC_TYPE
  return kTypes;
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
  if (auto ok = core::ValidateAttributes(info->kind->attributes, "toxic type " + spec.type,
                                         spec.attributes);
      !ok) {
    return ok;
  }
  if (auto ok = CheckCombinations(spec, *info); !ok) return ok;
  if (spec.name.empty()) {
    spec.name = spec.type + "_" + std::string(StreamName(spec.stream));
  }
  return core::Ok();
}

core::Result<ToxicSpec> ToxicFromFault(const core::Fault& fault, std::string name) {
  if (fault.family() != core::Family::kProxy) {
    return core::MakeError("'" + core::FormatFault(fault) + "' is not a fault on a proxy");
  }
  ToxicSpec toxic;
  toxic.name = std::move(name);
  toxic.type = std::string(fault.action.kind->name);
  toxic.stream = fault.where.stream;
  toxic.toxicity = fault.gate.probability.fraction();
  toxic.attributes = fault.action.settings;
  toxic.target = fault.where.connections;
  if (auto ok = ValidateToxic(toxic); !ok) return ok.error();
  return toxic;
}

core::Fault FaultFromToxic(const ToxicSpec& toxic, std::string_view proxy,
                           const core::Attributes& given) {
  core::Fault fault;
  fault.where.target_kind = core::TargetKind::kProxy;
  fault.where.target = std::string(proxy);
  fault.where.stream = toxic.stream;
  fault.where.connections = toxic.target;
  fault.action.kind = core::FindKind(toxic.type);
  for (const auto& [name, value] : toxic.attributes) {
    if (given.contains(name)) fault.action.settings.emplace(name, value);
  }
  fault.gate.probability = toxic.probability();
  return fault;
}

namespace {

// Toxiproxy crashes on these below 0 (a negative slice bound, rand.Intn of a negative, an
// endless recursion), so ValidateToxic goes on refusing them.
bool ToxiproxyCrashesBelowZero(std::string_view type, std::string_view attribute) {
  return (type == "bandwidth" && attribute == "rate") ||
         (type == "slicer" && (attribute == "average_size" || attribute == "size_variation"));
}

}  // namespace

void RelaxAttributes(std::string_view type, core::Attributes& attributes,
                     std::vector<std::string>& warnings) {
  const ToxicTypeInfo* info = FindToxicType(type);
  if (info == nullptr) return;  // ValidateToxic says the type is unknown
  for (auto entry = attributes.begin(); entry != attributes.end();) {
    const core::AttributeInfo* known = core::FindAttribute(info->kind->attributes, entry->first);
    if (known == nullptr) {
      warnings.push_back("unknown attribute '" + entry->first + "' for toxic type " +
                         std::string(type) + " ignored");
      entry = attributes.erase(entry);
      continue;
    }
    if (info->kind->origin == core::Origin::kToxiproxy &&
        known->kind == core::AttributeKind::kInteger) {
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
