// The table of kinds: names are found, and the decisions they log are the bounded set of the
// metrics' `action` label.

#include "faultline/core/kinds.h"

#include <catch2/catch.hpp>

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
