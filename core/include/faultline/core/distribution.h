#pragma once
// Delay distributions: constant, uniform and normal, written as
//   "10ms"                  constant
//   "constant 10ms"
//   "uniform 5ms 50ms"      uniform in [5ms, 50ms]
//   "normal 10ms 2ms"       mean 10ms, standard deviation 2ms, clamped at 0
// Sampling draws from an injected Rng, so the same seed gives the same delays.

#include <string>
#include <string_view>

#include "faultline/core/duration.h"
#include "faultline/core/random.h"
#include "faultline/core/result.h"

namespace faultline::core {

class Distribution {
 public:
  enum class Kind { kConstant, kUniform, kNormal };

  static Distribution Constant(Duration value);
  // Requires low <= high.
  static Result<Distribution> Uniform(Duration low, Duration high);
  static Distribution Normal(Duration mean, Duration stddev);
  static Result<Distribution> Parse(std::string_view text);

  Kind kind() const { return kind_; }
  Duration a() const { return a_; }
  Duration b() const { return b_; }

  // A sample, never negative and never above kMaxDuration.
  Duration Sample(Rng& rng) const;
  std::string ToString() const;

  friend bool operator==(const Distribution&, const Distribution&) = default;

 private:
  Distribution(Kind kind, Duration a, Duration b) : kind_(kind), a_(a), b_(b) {}
  Kind kind_;
  Duration a_;  // constant value, uniform low, normal mean
  Duration b_;  // uniform high, normal standard deviation
};

}  // namespace faultline::core
