#include "faultline/proxy/toxic.h"

#include <catch2/catch.hpp>

using namespace faultline::proxy;

namespace {
std::string Problem(std::string type, Attributes attributes, double toxicity = 1.0) {
  ToxicSpec spec;
  spec.type = std::move(type);
  spec.attributes = std::move(attributes);
  spec.toxicity = toxicity;
  auto result = ValidateToxic(spec);
  return result ? "" : result.message();
}
}  // namespace

TEST_CASE("validation fills defaults and names", "[proxy][toxic]") {
  ToxicSpec spec;
  spec.type = "latency";
  spec.attributes = {{"latency", 10}};
  REQUIRE(ValidateToxic(spec));
  CHECK(spec.name == "latency_downstream");
  CHECK(spec.Int("jitter") == 0);
}

TEST_CASE("validation names each kind of mistake", "[proxy][toxic]") {
  CHECK(Problem("", {}) == "missing required field: type");
  CHECK(Problem("latncy", {}).find("invalid toxic type 'latncy'") != std::string::npos);
  CHECK(Problem("latency", {}) == "missing required attribute 'latency' for toxic type latency");
  CHECK(Problem("latency", {{"latency", -1}}) == "attribute 'latency' must not be negative");
  CHECK(Problem("latency", {{"latency", 1}, {"latnecy", 1}}).find("unknown attribute 'latnecy'") !=
        std::string::npos);
  CHECK(Problem("latency", {{"latency", 1LL << 60}}).find("too large") != std::string::npos);
  CHECK(Problem("latency", {{"latency", 1}}, 1.5) == "toxicity must be between 0 and 1");
  // A frame is held whole, so it may not be longer than a direction may hold (4 MiB).
  CHECK(Problem("drop", {{"framing", std::string("line")}, {"max_frame", (4 << 20) + 1}}) ==
        "attribute 'max_frame' is too large (at most 4194304 bytes)");
  CHECK(Problem("drop", {{"framing", std::string("fixed")}, {"frame_size", 16 << 20}})
            .find("'frame_size' is too large") != std::string::npos);
  CHECK(Problem("slicer", {{"average_size", 0}}) ==
        "attribute 'average_size' must be greater than 0");
  CHECK(Problem("slicer", {{"average_size", 10}, {"size_variation", 10}}) ==
        "attribute 'size_variation' must be less than 'average_size'");
}

TEST_CASE("every documented type validates with its required attributes", "[proxy][toxic]") {
  for (const ToxicTypeInfo& type : ToxicTypes()) {
    ToxicSpec spec;
    spec.type = std::string(type.name);
    for (const AttributeInfo& a : type.attributes) {
      if (a.required) spec.attributes[std::string(a.name)] = 1;
    }
    INFO(type.name);
    CHECK(ValidateToxic(spec));
  }
}
