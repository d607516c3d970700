#include "faultline/core/random.h"

#include <cmath>
#include <fstream>
#include <random>

namespace faultline::core {

std::uint64_t Mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t HashLabel(std::string_view label) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : label) {
    h = (h ^ c) * 0x100000001b3ULL;
  }
  return Mix64(h);
}

std::uint64_t DeriveSeed(std::uint64_t seed, std::initializer_list<SeedPart> parts) {
  std::uint64_t h = Mix64(seed);
  for (const SeedPart& part : parts) {
    h = Mix64(h ^ part.value());
  }
  return h;
}

std::uint64_t RandomSeed() {
  // random_device reads the kernel's entropy pool on Linux; the seed is printed and can be
  // given back, so it need not be secret, only different each run.
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

Rng::Rng(std::uint64_t seed) {
  std::uint64_t x = seed;
  for (auto& word : s_) {
    x += 0x9e3779b97f4a7c15ULL;
    word = Mix64(x);
  }
}

namespace {
__extension__ typedef unsigned __int128 Uint128;
inline std::uint64_t Rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

std::uint64_t Rng::Next() {
  const std::uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

std::uint64_t Rng::Below(std::uint64_t bound) {
  if (bound == 0) {
    return 0;
  }
  Uint128 m = static_cast<Uint128>(Next()) * bound;
  auto low = static_cast<std::uint64_t>(m);
  if (low < bound) {
    const std::uint64_t threshold = -bound % bound;
    while (low < threshold) {
      m = static_cast<Uint128>(Next()) * bound;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

std::int64_t Rng::Between(std::int64_t lo, std::int64_t hi) {
  const auto span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
  if (span == ~std::uint64_t{0}) {
    return static_cast<std::int64_t>(Next());
  }
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + Below(span + 1));
}

double Rng::NextDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

double Rng::NextGaussian() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u, v, s;
  do {
    u = NextDouble() * 2.0 - 1.0;
    v = NextDouble() * 2.0 - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double factor = std::sqrt(-2.0 * std::log(s) / s);
  spare_ = v * factor;
  has_spare_ = true;
  return u * factor;
}

}  // namespace faultline::core
