#pragma once
// A toxic: one fault on one direction of a proxy, with Toxiproxy 2.12's names, attributes
// and defaults. This is the immutable description shared by every connection; the per-
// connection behaviour lives in a Stage (stage.h).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "faultline/core/probability.h"
#include "faultline/core/result.h"

namespace faultline::proxy {

// upstream: client -> server. downstream: server -> client (Toxiproxy's default).
enum class Stream { kUpstream, kDownstream };
std::string_view StreamName(Stream stream);
std::optional<Stream> ParseStream(std::string_view text);

// Integer attributes, as Toxiproxy's are (milliseconds, bytes, KB/s...), ordered by name.
using Attributes = std::map<std::string, std::int64_t, std::less<>>;

struct ToxicSpec {
  std::string name;  // unique within a proxy; defaults to "<type>_<stream>"
  std::string type;
  Stream stream = Stream::kDownstream;
  double toxicity = 1.0;  // chance, per connection, that the toxic applies
  Attributes attributes;  // every attribute of the type, defaults filled in

  core::Probability probability() const;
  friend bool operator==(const ToxicSpec&, const ToxicSpec&) = default;
};

// What one attribute of a toxic type accepts.
struct AttributeInfo {
  std::string_view name;
  std::string_view unit;  // "ms", "us", "bytes", "KB/s"
  bool required;
  std::int64_t max;  // inclusive; the minimum is always 0
  std::string_view help;
};

struct ToxicTypeInfo {
  std::string_view name;
  std::string_view help;
  std::vector<AttributeInfo> attributes;
};

// Every toxic type the proxy implements, in documentation order.
const std::vector<ToxicTypeInfo>& ToxicTypes();
const ToxicTypeInfo* FindToxicType(std::string_view type);

// Checks type, attribute names and ranges, and cross-attribute rules (a slicer's variation
// must be below its average). On success fills in defaults for omitted optional attributes.
// The error text names the offending field, e.g. "attribute 'latency' must not be negative".
core::Status ValidateToxic(ToxicSpec& spec);

}  // namespace faultline::proxy
