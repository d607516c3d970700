// Numbers for people: a fixed count of decimals, rounded, never in exponent form.

#include <catch2/catch.hpp>

#include "faultline/core/text.h"

using faultline::core::FormatFixed;

TEST_CASE("FormatFixed writes exactly the decimals asked for", "[core][text]") {
  CHECK(FormatFixed(2.345, 1) == "2.3");
  CHECK(FormatFixed(0.25, 6) == "0.250000");
  CHECK(FormatFixed(1.5, 0) == "2");  // rounds half to even, like printf
  CHECK(FormatFixed(2.5, 0) == "2");
  CHECK(FormatFixed(-0.0004, 3) == "-0.000");
  CHECK(FormatFixed(1e-7, 3) == "0.000");  // never 1E-7
  CHECK(FormatFixed(123456789.0, 2) == "123456789.00");
}
