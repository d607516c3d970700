// The table of kinds: names are found, and the decisions they log are the bounded set of the
// metrics' `action` label.

#include "faultline/core/kinds.h"

#include <catch2/catch.hpp>
#include <set>
#include <string_view>

#include "faultline/core/text.h"

using namespace faultline::core;

TEST_CASE("kinds are found by name, in their family", "[core][kinds]") {
  REQUIRE(FindKind("drop") != nullptr);
  CHECK(FindKind("drop")->family == Family::kProxy);
  CHECK(FindKind("skew")->family == Family::kShim);
  CHECK(FindKind("kill")->family == Family::kProcess);
  CHECK(FindKind("nemesis_n1.1") == nullptr);
  CHECK(FindKind("") == nullptr);
}

TEST_CASE("the known decisions are those the kinds log, and the kindless ones", "[core][kinds]") {
  for (const char* action :
       {"drop", "throttle", "close_delay", "release", "restart", "close", "upstream_unresolved"}) {
    CAPTURE(action);
    CHECK(IsKnownDecision(action));
  }
  for (const char* action : {"", "dro", "drop shed", "nemesis_n1.1", "latency"}) {
    CAPTURE(action);
    CHECK_FALSE(IsKnownDecision(action));
  }
  // Every word of every row is known.
  for (const KindInfo& kind : Kinds()) {
    for (const std::string_view action : SplitWords(kind.decisions)) {
      CAPTURE(action);
      CHECK(IsKnownDecision(action));
    }
  }
}

TEST_CASE("every kind has its help, and names each of its attributes once", "[core][kinds]") {
  for (const KindInfo& kind : Kinds()) {
    CAPTURE(kind.name);
    CHECK_FALSE(kind.help.empty());
    std::set<std::string_view> names;
    for (const AttributeInfo& attribute : kind.attributes) {
      CAPTURE(attribute.name);
      CHECK(names.insert(attribute.name).second);
      CHECK_FALSE(attribute.help.empty());
      // A duration's default and range are in its unit; a chance is written as one.
      if (DurationUnit(attribute)) CHECK(attribute.kind == AttributeKind::kInteger);
    }
  }
  CHECK(FindAttribute(FindKind("latency")->attributes, "jitter") != nullptr);
  CHECK(FindAttribute(FindKind("latency")->attributes, "rate") == nullptr);
}

TEST_CASE("attributes are checked against their kind's schema and take its defaults",
          "[core][kinds]") {
  const auto& schema = FindKind("drop")->attributes;
  Attributes given{{"framing", std::string("line")}, {"probability", std::int64_t{1}}};
  REQUIRE(ValidateAttributes(schema, "toxic type drop", given));
  CHECK(std::get<double>(given.at("probability")) == 1.0);  // a whole number as a fraction
  CHECK(TextAttribute(given, "framing") == "line");
  CHECK(IntegerAttribute(given, "max_frame") == kMaxFrameBytes);  // the default
  Attributes unknown{{"latency", std::int64_t{5}}};
  CHECK(ValidateAttributes(schema, "toxic type drop", unknown)
            .message()
            .starts_with("unknown attribute 'latency' for toxic type drop (known: framing, "));
  Attributes missing;
  CHECK(ValidateAttributes(FindKind("latency")->attributes, "toxic type latency", missing)
            .message() == "missing required attribute 'latency' for toxic type latency");
  Attributes bad_choice{{"framing", std::string("lines")}};
  CHECK(ValidateAttributes(schema, "toxic type drop", bad_choice).message() ==
        "attribute 'framing' must be one of: raw,line,length-prefixed,fixed");
}
