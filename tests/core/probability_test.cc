#include "faultline/core/probability.h"

#include <catch2/catch.hpp>

using namespace faultline::core;

TEST_CASE("probabilities parse as percent, fraction and ppm", "[core][probability]") {
  CHECK(Probability::Parse("20%")->ppm() == 200'000);
  CHECK(Probability::Parse("0.5%")->ppm() == 5'000);
  CHECK(Probability::Parse("0.25")->ppm() == 250'000);
  CHECK(Probability::Parse("1500ppm")->ppm() == 1'500);
  CHECK(Probability::Parse("100%")->always());
  CHECK(Probability::Parse("0")->never());
}

TEST_CASE("bad probabilities are rejected", "[core][probability]") {
  CHECK_FALSE(Probability::Parse("150%").ok());
  CHECK_FALSE(Probability::Parse("-1%").ok());
  CHECK_FALSE(Probability::Parse("abc").ok());
  CHECK_FALSE(Probability::Parse("").ok());
  CHECK_FALSE(Probability::FromPpm(1'000'001).ok());
  CHECK_FALSE(Probability::FromFraction(1.5).ok());
}

TEST_CASE("sampling hits the configured rate", "[core][probability]") {
  Rng rng(7);
  const auto p = *Probability::Parse("30%");
  int hits = 0;
  for (int i = 0; i < 100'000; ++i) hits += p.Sample(rng) ? 1 : 0;
  CHECK(hits > 29'000);
  CHECK(hits < 31'000);
}

TEST_CASE("always and never consume no randomness", "[core][probability]") {
  Rng a(3), b(3);
  CHECK(Probability::Always().Sample(a));
  CHECK_FALSE(Probability::Never().Sample(a));
  CHECK(a.Next() == b.Next());
}
