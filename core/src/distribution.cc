#include "faultline/core/distribution.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "faultline/core/text.h"

namespace faultline::core {

Distribution Distribution::Constant(Duration value) { return {Kind::kConstant, value, {}}; }

Result<Distribution> Distribution::Uniform(Duration low, Duration high) {
  if (low > high) {
    return MakeError("uniform distribution needs low <= high, got " + FormatDuration(low) + " > " +
                     FormatDuration(high));
  }
  return Distribution(Kind::kUniform, low, high);
}

Distribution Distribution::Normal(Duration mean, Duration stddev) {
  return {Kind::kNormal, mean, stddev};
}

Result<Distribution> Distribution::Parse(std::string_view text) {
  const std::vector<std::string_view> words = SplitWords(text);
  const std::string quoted = "'" + std::string(text) + "'";
  auto want = [&](std::size_t n, const char* form) -> Result<std::vector<Duration>> {
    if (words.size() != n + 1) {
      return MakeError("bad distribution " + quoted + ": expected " + form);
    }
    std::vector<Duration> values;
    for (std::size_t i = 1; i < words.size(); ++i) {
      auto d = ParseDuration(words[i]);
      if (!d) return MakeError("bad distribution " + quoted + ": " + d.message());
      values.push_back(*d);
    }
    return values;
  };
  if (words.empty()) {
    return MakeError("empty distribution");
  }
  if (words.size() == 1) {
    auto d = ParseDuration(words[0]);
    if (!d) return MakeError("bad distribution " + quoted + ": " + d.message());
    return Constant(*d);
  }
  if (words[0] == "constant") {
    auto v = want(1, "'constant <duration>'");
    if (!v) return v.error();
    return Constant((*v)[0]);
  }
  if (words[0] == "uniform") {
    auto v = want(2, "'uniform <low> <high>'");
    if (!v) return v.error();
    return Uniform((*v)[0], (*v)[1]);
  }
  if (words[0] == "normal") {
    auto v = want(2, "'normal <mean> <stddev>'");
    if (!v) return v.error();
    return Normal((*v)[0], (*v)[1]);
  }
  return MakeError("bad distribution " + quoted + ": unknown kind '" + std::string(words[0]) +
                   "' (constant, uniform, normal)");
}

Duration Distribution::Sample(Rng& rng) const {
  Duration::rep value = 0;
  switch (kind_) {
    case Kind::kConstant:
      value = a_.count();
      break;
    case Kind::kUniform:
      value = rng.Between(a_.count(), b_.count());
      break;
    case Kind::kNormal: {
      const double x =
          static_cast<double>(a_.count()) + rng.NextGaussian() * static_cast<double>(b_.count());
      value =
          static_cast<Duration::rep>(std::clamp(x, 0.0, static_cast<double>(kMaxDuration.count())));
      break;
    }
  }
  return Duration(std::clamp<Duration::rep>(value, 0, kMaxDuration.count()));
}

std::string Distribution::ToString() const {
  switch (kind_) {
    case Kind::kConstant:
      return FormatDuration(a_);
    case Kind::kUniform:
      return "uniform " + FormatDuration(a_) + " " + FormatDuration(b_);
    case Kind::kNormal:
      return "normal " + FormatDuration(a_) + " " + FormatDuration(b_);
  }
  return {};
}

}  // namespace faultline::core
