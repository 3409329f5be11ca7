// Deterministic pseudo-random numbers for the simulation: one uint64 seed fixes every draw of a run.
// xoshiro256** (engine/xoshiro256.h), plus independent per-domain streams.
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/seam/random.h"
#include "engine/xoshiro256.h"

namespace nsq::io_sim {

using nsq::splitmix64;

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
  explicit Prng(std::uint64_t seed) : seed_(seed), gen_(seed) {}

  std::uint64_t seed() const { return seed_; }

  // An independent stream for one fault domain. It depends only on this stream's seed and the tag, never on
  // how many numbers were drawn so far, so adding draws in one domain cannot shift another domain's numbers.
  Prng fork(std::string_view tag) const {
    std::uint64_t sm = seed_ ^ tag_hash(tag);
    return Prng(splitmix64(sm));
  }

  std::uint64_t next_u64() override { return gen_.next(); }

  // Uniform integer in [lo, hi] (inclusive); hi >= lo.
  std::int64_t range(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(uniform(static_cast<std::uint64_t>(hi - lo) + 1));
  }
  // True with probability numerator/denominator. Integer odds keep runs identical across compilers.
  bool chance(std::uint64_t numerator, std::uint64_t denominator) { return uniform(denominator) < numerator; }

 private:
  std::uint64_t seed_;
  Xoshiro256 gen_;
};

}  // namespace nsq::io_sim
