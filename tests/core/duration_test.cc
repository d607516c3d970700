#include "faultline/core/duration.h"

#include <catch2/catch.hpp>

using namespace faultline::core;
using namespace std::chrono_literals;

TEST_CASE("durations parse with every unit", "[core][duration]") {
  CHECK(*ParseDuration("250us") == 250us);
  CHECK(*ParseDuration("10ms") == 10ms);
  CHECK(*ParseDuration("2s") == 2s);
  CHECK(*ParseDuration("1.5s") == 1500ms);
  CHECK(*ParseDuration("3m") == 3min);
  CHECK(*ParseDuration("1h") == 1h);
  CHECK(*ParseDuration("100ns") == 100ns);
  CHECK(*ParseDuration("0") == 0ns);
  CHECK(*ParseDuration("7\xC2\xB5s") == 7us);
}

TEST_CASE("bad durations say what is wrong", "[core][duration]") {
  CHECK(ParseDuration("").message().find("empty") != std::string::npos);
  CHECK(ParseDuration("10").message().find("missing unit") != std::string::npos);
  CHECK(ParseDuration("10 ms").message().find("unknown unit") != std::string::npos);
  CHECK(ParseDuration("10parsecs").message().find("unknown unit 'parsecs'") != std::string::npos);
  CHECK(ParseDuration("-5ms").message().find("non-negative") != std::string::npos);
  CHECK(ParseDuration("1.2.3s").message().find("not a number") != std::string::npos);
  CHECK(ParseDuration("400d").message().find("too long") != std::string::npos);
}

TEST_CASE("durations format with the largest exact unit", "[core][duration]") {
  CHECK(FormatDuration(2s) == "2s");
  CHECK(FormatDuration(1500us) == "1500us");
  CHECK(FormatDuration(90s) == "90s");
  CHECK(FormatDuration(2min) == "2m");
  CHECK(FormatDuration(0ns) == "0s");
  for (const char* text : {"250us", "10ms", "2s", "3m", "1h", "17ns"}) {
    CHECK(FormatDuration(*ParseDuration(text)) == text);
  }
}

TEST_CASE("counts convert to durations without overflow", "[core][duration]") {
  CHECK(*DurationFromCount(10, 1ms) == 10ms);
  CHECK_FALSE(DurationFromCount(-1, 1ms).ok());
  CHECK_FALSE(DurationFromCount(9'000'000'000'000'000LL, 1ms).ok());
}
