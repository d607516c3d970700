#pragma once
// A toxic: one fault on one direction of a proxy, with Toxiproxy 2.12's names, attributes
// and defaults. This is the immutable description shared by every connection; the per-
// connection behaviour lives in a Stage (stage.h).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "faultline/core/attributes.h"
#include "faultline/core/duration.h"
#include "faultline/core/fault.h"
#include "faultline/core/kinds.h"
#include "faultline/core/probability.h"
#include "faultline/core/result.h"
#include "faultline/proxy/pattern.h"

namespace faultline::proxy {

// upstream: client -> server. downstream: server -> client (Toxiproxy's default).
// What toxics may hold in memory. A direction of a connection stops reading once its toxics
// and its unsent output hold more than kDirectionBudget, and every direction of a proxy once
// the proxy's together hold more than kProxyBudget; a toxic that makes data (duplicate) sheds
// what would exceed either, and logs it. A frame cannot be longer than a direction may hold.
inline constexpr std::size_t kDirectionBudget = core::kMaxFrameBytes;
inline constexpr std::size_t kProxyBudget = 64 << 20;

// A toxic's direction and its connections are a fault's (core/fault.h).
using core::ParseStream;
using core::Stream;
using core::StreamName;

struct ToxicSpec {
  std::string name;  // unique within a proxy; defaults to "<type>_<stream>"
  std::string type;
  Stream stream = Stream::kDownstream;
  double toxicity = 1.0;        // chance, per connection, that the toxic applies
  core::Attributes attributes;  // every attribute of the type, defaults filled in
  core::Connections target;     // which connections of the proxy it applies to
  // The `match` attribute, compiled once by ValidateToxic: every connection the spec
  // reaches searches with this one Pattern. It follows from `attributes`, so it takes no
  // part in comparisons.
  struct CompiledMatch {
    std::optional<Pattern> pattern;
    friend bool operator==(const CompiledMatch&, const CompiledMatch&) { return true; }
  };
  CompiledMatch compiled_match{};

  core::Probability probability() const;
  // A validated attribute of the matching kind; 0, 0.0 or "" when absent.
  std::int64_t Int(std::string_view attribute) const;
  double Fraction(std::string_view attribute) const;
  const std::string& Text(std::string_view attribute) const;
  friend bool operator==(const ToxicSpec&, const ToxicSpec&) = default;
};

class Stage;
class StageContext;
using StageFactory = std::unique_ptr<Stage> (*)(const ToxicSpec&, StageContext&);
// What a type requires of its attributes together, checked once each has its kind and
// default (ValidateToxic): "attribute 'window' must be at least 2 frames".
using ToxicCheck = core::Status (*)(const ToxicSpec&);

struct ToxicTypeInfo {
  std::string_view name;
  const core::KindInfo* kind;  // its row in core/kinds.h: its help and its attributes
  StageFactory make;           // null stage for a connection toxic
  ToxicCheck check;            // null: any combination of valid attributes will do
};

// Every toxic type the proxy implements, one per proxy row of core/kinds.h, in its order.
const std::vector<ToxicTypeInfo>& ToxicTypes();
const ToxicTypeInfo* FindToxicType(std::string_view type);
// Toxics that act on the connection as a whole (its accept and upstream connect) rather than
// on one direction's data.
bool IsConnectionToxic(std::string_view type);

// Checks type, attribute names, kinds and ranges, and cross-attribute rules (a slicer's
// average must be above 0, a `match` pattern must compile). On success fills in
// defaults for omitted optional attributes, stores each value as its kind (a whole-number
// fraction becomes a double) and compiles `match`. The error text names the offending
// field, e.g. "attribute 'latency' must not be negative".
core::Status ValidateToxic(ToxicSpec& spec);

// The toxic a proxy fault (core/fault.h) puts on its proxy, named `name`, validated: its kind
// is the type, its direction the stream, its chance the toxicity, its connections the target,
// its settings the attributes (with the type's defaults filled in).
core::Result<ToxicSpec> ToxicFromFault(const core::Fault& fault, std::string name);
// The other way: the fault that puts `toxic` (validated) on `proxy`, with the attributes
// `given` (those a person wrote; the defaults stay out of its line).
core::Fault FaultFromToxic(const ToxicSpec& toxic, std::string_view proxy,
                           const core::Attributes& given);

// Makes attributes that Toxiproxy's server takes, and ValidateToxic would refuse, into what
// Toxiproxy's toxics make of them: an attribute the type does not have is dropped; for
// Toxiproxy's own types a number below 0 is taken as 0 (a negative latency is no latency)
// and one above the attribute's maximum as the maximum. Each change is described in
// `warnings`. What Toxiproxy crashes on (a negative bandwidth rate, a negative slicer size) is
// left for ValidateToxic to refuse. An unknown type changes nothing.
void RelaxAttributes(std::string_view type, core::Attributes& attributes,
                     std::vector<std::string>& warnings);

}  // namespace faultline::proxy
