// Seam: randomness. The engine draws every random number from here, so a seed fixes a whole run.
// io_real seeds it from the OS once at start; io_sim from the simulation seed.
#pragma once

#include <cstdint>

namespace nsq::seam {

class Random {
 public:
  virtual ~Random() = default;
  virtual std::uint64_t next_u64() = 0;

  // Uniform integer in [0, n); n > 0. Lemire's multiply-shift, bias negligible for the engine's uses.
  std::uint64_t uniform(std::uint64_t n) {
    __extension__ using u128 = unsigned __int128;  // GCC/Clang extension; __extension__ keeps -Wpedantic quiet
    return static_cast<std::uint64_t>((static_cast<u128>(next_u64()) * n) >> 64);
  }
};

}  // namespace nsq::seam
