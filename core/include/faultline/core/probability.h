#pragma once
// Probabilities as integer parts per million, so the same text always means the same
// threshold everywhere (no float rounding differences between components).

#include <cstdint>
#include <string>
#include <string_view>

#include "faultline/core/random.h"
#include "faultline/core/result.h"

namespace faultline::core {

class Probability {
 public:
  static constexpr std::uint32_t kMillion = 1'000'000;

  constexpr Probability() = default;  // always
  static constexpr Probability Always() { return Probability(kMillion); }
  static constexpr Probability Never() { return Probability(0); }
  static Result<Probability> FromPpm(std::uint64_t ppm);
  // A fraction in [0, 1], rounded to the nearest ppm (Toxiproxy's "toxicity").
  static Result<Probability> FromFraction(double fraction);
  // "20%", "0.5%", "0.25" (a fraction), "250000ppm".
  static Result<Probability> Parse(std::string_view text);

  // As Parse reads it: "20%", "0.5%", "0.0001%".
  std::string Format() const;

  std::uint32_t ppm() const { return ppm_; }
  double fraction() const { return ppm_ / static_cast<double>(kMillion); }
  bool always() const { return ppm_ == kMillion; }
  bool never() const { return ppm_ == 0; }

  // Draws once. Always and Never consume no randomness, so adding a certain rule does not
  // shift the stream of the others.
  bool Sample(Rng& rng) const { return always() || (!never() && rng.Below(kMillion) < ppm_); }

  friend constexpr bool operator==(Probability, Probability) = default;

 private:
  constexpr explicit Probability(std::uint32_t ppm) : ppm_(ppm) {}
  std::uint32_t ppm_ = kMillion;
};

}  // namespace faultline::core
