// Deterministic pseudo-random numbers for the simulation: one uint64 seed fixes every draw of a run.
// xoshiro256** (Blackman & Vigna), state filled by splitmix64 as its authors recommend.
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/seam/random.h"

namespace nsq::io_sim {

inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// FNV-1a 64 of a tag: turns a domain name ("network", "client/3") into seed material.
inline std::uint64_t tag_hash(std::string_view tag) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : tag) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

class Prng final : public seam::Random {
 public:
  explicit Prng(std::uint64_t seed) : seed_(seed) {
    std::uint64_t sm = seed;
    for (auto& word : s_) word = splitmix64(sm);
  }

  std::uint64_t seed() const { return seed_; }

  // An independent stream for one fault domain. It depends only on this stream's seed and the tag, never on
  // how many numbers were drawn so far, so adding draws in one domain cannot shift another domain's numbers.
  Prng fork(std::string_view tag) const {
    std::uint64_t sm = seed_ ^ tag_hash(tag);
    return Prng(splitmix64(sm));
  }

  std::uint64_t next_u64() override {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform integer in [lo, hi] (inclusive); hi >= lo.
  std::int64_t range(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(uniform(static_cast<std::uint64_t>(hi - lo) + 1));
  }
  // True with probability numerator/denominator. Integer odds keep runs identical across compilers.
  bool chance(std::uint64_t numerator, std::uint64_t denominator) { return uniform(denominator) < numerator; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  std::uint64_t seed_;
  std::uint64_t s_[4];
};

}  // namespace nsq::io_sim
