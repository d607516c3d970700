#include "faultline/core/distribution.h"

#include <catch2/catch.hpp>

using namespace faultline::core;
using namespace std::chrono_literals;

TEST_CASE("distributions parse from their text form", "[core][distribution]") {
  auto constant = Distribution::Parse("10ms");
  REQUIRE(constant);
  CHECK(constant->kind() == Distribution::Kind::kConstant);
  CHECK(constant->a() == 10ms);
  auto uniform = Distribution::Parse("uniform 5ms 50ms");
  REQUIRE(uniform);
  CHECK(uniform->kind() == Distribution::Kind::kUniform);
  CHECK(uniform->ToString() == "uniform 5ms 50ms");
  auto normal = Distribution::Parse("normal 10ms 2ms");
  REQUIRE(normal);
  CHECK(normal->ToString() == "normal 10ms 2ms");
}

TEST_CASE("bad distributions name the problem", "[core][distribution]") {
  CHECK(Distribution::Parse("uniform 50ms 5ms").message().find("low <= high") != std::string::npos);
  CHECK(Distribution::Parse("pareto 1ms 2ms").message().find("unknown kind 'pareto'") !=
        std::string::npos);
  CHECK(Distribution::Parse("uniform 5ms").message().find("expected 'uniform <low> <high>'") !=
        std::string::npos);
  CHECK_FALSE(Distribution::Parse("").ok());
  CHECK_FALSE(Distribution::Parse("normal 1ms xx").ok());
}

TEST_CASE("samples follow the distribution and never go negative", "[core][distribution]") {
  Rng rng(11);
  const auto uniform = *Distribution::Parse("uniform 5ms 50ms");
  const auto normal = *Distribution::Parse("normal 1ms 5ms");
  double sum = 0;
  for (int i = 0; i < 10'000; ++i) {
    const auto u = uniform.Sample(rng);
    REQUIRE(u >= 5ms);
    REQUIRE(u <= 50ms);
    sum += std::chrono::duration<double, std::milli>(u).count();
    REQUIRE(normal.Sample(rng) >= 0ns);
  }
  CHECK(sum / 10'000 == Approx(27.5).epsilon(0.03));
  CHECK(Distribution::Constant(3ms).Sample(rng) == 3ms);
}

TEST_CASE("the same seed gives the same samples", "[core][distribution]") {
  const auto d = *Distribution::Parse("normal 10ms 2ms");
  Rng a(1), b(1);
  for (int i = 0; i < 100; ++i) CHECK(d.Sample(a) == d.Sample(b));
}
