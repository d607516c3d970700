#pragma once
// Seeded randomness that is the same on every platform and standard library: an owned
// xoshiro256** generator seeded through SplitMix64, and hand-written distributions
// (std:: distributions differ between implementations, which would break replay).
//
// Streams are derived, never shared: DeriveSeed(run_seed, "proxy/redis", "toxic/lat", 7)
// gives each (proxy, toxic, connection) its own independent, reproducible sequence.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace faultline::core {

// Mixes a 64-bit value (SplitMix64 finaliser). Used to derive seeds and hash labels.
std::uint64_t Mix64(std::uint64_t x);

// A stable 64-bit hash of text (FNV-1a then Mix64); stable across runs and builds.
std::uint64_t HashLabel(std::string_view label);

// A label that DeriveSeed folds in: text or a number.
class SeedPart {
 public:
  SeedPart(std::string_view text) : value_(HashLabel(text)) {}            // NOLINT
  SeedPart(const char* text) : value_(HashLabel(text)) {}                 // NOLINT
  SeedPart(const std::string& text) : value_(HashLabel(text)) {}          // NOLINT
  SeedPart(std::uint64_t number) : value_(Mix64(number ^ 0x9e37)) {}      // NOLINT
  SeedPart(int number) : SeedPart(static_cast<std::uint64_t>(number)) {}  // NOLINT
  std::uint64_t value() const { return value_; }

 private:
  std::uint64_t value_;
};

std::uint64_t DeriveSeed(std::uint64_t seed, std::initializer_list<SeedPart> parts);

// A fresh seed from the operating system, for runs that were not given one.
std::uint64_t RandomSeed();

class Rng {
 public:
  explicit Rng(std::uint64_t seed);

  std::uint64_t Next();
  // Uniform integer in [0, bound); bound 0 returns 0. Unbiased (Lemire's method).
  std::uint64_t Below(std::uint64_t bound);
  // Uniform integer in [lo, hi] (inclusive). Requires lo <= hi.
  std::int64_t Between(std::int64_t lo, std::int64_t hi);
  // Uniform double in [0, 1) with 53 bits of precision.
  double NextDouble();
  // Standard normal deviate (Marsaglia polar method; uses no std:: distribution).
  double NextGaussian();

 private:
  std::uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0;
};

}  // namespace faultline::core
