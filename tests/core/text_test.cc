// Text for people: numbers with a fixed count of decimals, rounded, never in exponent form;
// lists of words split at spaces and tabs; names.

#include <catch2/catch.hpp>

#include "faultline/core/text.h"

using faultline::core::FormatFixed;
using faultline::core::IsName;
using faultline::core::SplitWords;
using Words = std::vector<std::string_view>;

TEST_CASE("FormatFixed writes exactly the decimals asked for", "[core][text]") {
  CHECK(FormatFixed(2.345, 1) == "2.3");
  CHECK(FormatFixed(0.25, 6) == "0.250000");
  CHECK(FormatFixed(1.5, 0) == "2");  // rounds half to even, like printf
  CHECK(FormatFixed(2.5, 0) == "2");
  CHECK(FormatFixed(-0.0004, 3) == "-0.000");
  CHECK(FormatFixed(1e-7, 3) == "0.000");  // never 1E-7
  CHECK(FormatFixed(123456789.0, 2) == "123456789.00");
}

TEST_CASE("SplitWords splits at spaces and tabs and makes no empty words", "[core][text]") {
  CHECK(SplitWords("latency=500ms jitter=0ms") == Words{"latency=500ms", "jitter=0ms"});
  CHECK(SplitWords("drop") == Words{"drop"});
  CHECK(SplitWords("") == Words{});
  CHECK(SplitWords("  a   b ") == Words{"a", "b"});
  CHECK(SplitWords("uniform\t5ms \t 50ms\t") == Words{"uniform", "5ms", "50ms"});
}

TEST_CASE("a name starts with a letter or digit and holds only those, '_', '.' and '-'",
          "[core][text]") {
  for (const char* name : {"store", "store_a", "n1.1", "0day", "a-b"}) {
    CAPTURE(name);
    CHECK(IsName(name));
  }
  for (const char* name : {"", "_store", "-a", ".a", "a/b", "a b", "a:b", "ünï"}) {
    CAPTURE(name);
    CHECK_FALSE(IsName(name));
  }
}
