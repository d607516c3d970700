#include "faultline/proxy/toxic.h"

#include <catch2/catch.hpp>
#include <string_view>
#include <type_traits>
#include <variant>

#include "faultline/proxy/pattern.h"

using namespace faultline::proxy;
namespace core = faultline::core;

namespace {
std::string Problem(std::string type, core::Attributes attributes, double toxicity = 1.0) {
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
  CHECK(Problem("slicer", {{"average_size", 10}, {"size_variation", -1}}) ==
        "attribute 'size_variation' must not be negative");
  // A hold or a point sits at one place.
  CHECK(Problem("point", {{"bytes", 10}, {"frame", 2}, {"framing", std::string("line")}}) ==
        "set at most one of 'bytes', 'frame' and 'match' for a point");
  CHECK(Problem("hold",
                {{"frame", 2}, {"match", std::string("x")}, {"framing", std::string("line")}}) ==
        "set at most one of 'bytes', 'frame' and 'match' for a hold");
  CHECK(Problem("hold", {{"release_on", std::string("a/b/c")}}) ==
        "attribute 'release_on' must name a point as 'proxy/toxic'");
  CHECK(Problem("hold", {{"release_on", std::string("other/gate")}}).empty());
  // Toxiproxy never checks a variation against the average, so neither does faultline.
  CHECK(Problem("slicer", {{"average_size", 10}, {"size_variation", 10}}).empty());
}

namespace {
// ReadWrittenAttribute's value as text ("ms 800", "fraction 0.2", "integer 3", "text line"),
// or its error.
std::string Read(std::string_view type, std::string_view attribute, std::string_view text) {
  const core::AttributeInfo* info =
      core::FindAttribute(FindToxicType(type)->kind->attributes, attribute);
  REQUIRE(info != nullptr);
  bool bare = false;
  auto value = core::ReadWrittenAttribute(*info, text, bare);
  if (!value) return value.message();
  return std::visit(
      [&](const auto& v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::string>) return "text " + v;
        if constexpr (std::is_same_v<V, double>) return "fraction " + std::to_string(v);
        if constexpr (std::is_same_v<V, std::int64_t>) {
          return std::string(bare ? "bare " : "") + std::to_string(v);
        }
      },
      *value);
}
}  // namespace

TEST_CASE("an attribute is read as a person writes it", "[proxy][toxic]") {
  CHECK(Read("latency", "latency", "800ms") == "800");
  CHECK(Read("latency", "latency", "2s") == "2000");
  CHECK(Read("latency", "latency", "800") == "bare 800");  // in the attribute's unit
  CHECK(Read("latency", "latency", "1500us") ==
        "latency: 1500us is not a whole number of milliseconds");
  CHECK(Read("drop", "probability", "20%") == "fraction 0.200000");
  CHECK(Read("drop", "framing", "line") == "text line");
  // A number that is not a duration or a chance: a whole number, no unit.
  CHECK(Read("limit_data", "bytes", "1024") == "1024");
  CHECK(Read("limit_data", "bytes", "1k") == "bytes: '1k' is not a whole number");
  CHECK(Read("limit_data", "bytes", "") == "bytes: '' is not a whole number");
}

TEST_CASE("every documented type validates with its required attributes", "[proxy][toxic]") {
  for (const ToxicTypeInfo& type : ToxicTypes()) {
    ToxicSpec spec;
    spec.type = std::string(type.name);
    for (const core::AttributeInfo& a : type.kind->attributes) {
      if (a.required) spec.attributes[std::string(a.name)] = 1;
    }
    INFO(type.name);
    CHECK(ValidateToxic(spec));
  }
}

TEST_CASE("validation compiles match once, for every copy of the spec", "[proxy][toxic][match]") {
  ToxicSpec spec;
  spec.type = "drop";
  spec.attributes = {{"framing", std::string("line")}, {"match", std::string("^GET")}};
  REQUIRE(ValidateToxic(spec));
  REQUIRE(spec.compiled_match.pattern);
  CHECK(spec.compiled_match.pattern->text() == "^GET");
  const ToxicSpec copy = spec;
  CHECK(copy == spec);
  CHECK(copy.compiled_match.pattern->Finds("GET /"));
  CHECK_FALSE(copy.compiled_match.pattern->Finds("a GET /"));

  spec.attributes["match"] = std::string("(a)\\1");
  CHECK_FALSE(ValidateToxic(spec));
  CHECK_FALSE(spec.compiled_match.pattern);
  spec.attributes["match"] = std::string();
  REQUIRE(ValidateToxic(spec));
  CHECK_FALSE(spec.compiled_match.pattern);
}

TEST_CASE("a pattern is RE2's: whole-text anchors, bytes, linear time", "[proxy][pattern]") {
  auto Finds = [](std::string_view pattern, std::string_view text) {
    auto compiled = Pattern::Compile(pattern);
    INFO(pattern << ": " << (compiled ? "" : compiled.message()));
    REQUIRE(compiled);
    return compiled->Finds(text);
  };
  CHECK(Finds("^$", ""));
  CHECK_FALSE(Finds("^$", "\n"));
  CHECK_FALSE(Finds("^b", "a\nb"));
  CHECK_FALSE(Finds("a$", "a\n"));
  CHECK(Finds("(?m)^b$", "a\nb\nc"));
  CHECK(Finds("^\\x00\\xff$", std::string_view("\0\xff", 2)));
  CHECK(Finds("^.$", "\xe9"));  // one byte, not a UTF-8 sequence
  CHECK(Finds("é", "caf\xc3\xa9"));
  CHECK_FALSE(Finds("(a|a)*c", std::string(100000, 'a')));

  CHECK(Pattern::Compile("(a)\\1").message() == "invalid escape sequence: \\1");
  CHECK(Pattern::Compile("a(?!b)").message() == "invalid perl operator: (?!");
  CHECK(Pattern::Compile("(a{1000}){1000}").message() == "invalid repetition size: {1000}");
  // Small enough that a search cannot take long even where RE2's DFA cannot help.
  CHECK(Pattern::Compile("^.{0,200}ERROR"));
  CHECK_THAT(Pattern::Compile("(?:a?){1000}a{1000}c").message(),
             Catch::StartsWith("pattern too large: 3005 RE2 instructions, at most 1000"));
}
