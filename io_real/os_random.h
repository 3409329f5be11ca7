// seam::Random for the real binary: xoshiro256** seeded once from the OS (std::random_device).
#pragma once

#include <cstdint>

#include "engine/seam/random.h"
#include "engine/xoshiro256.h"

namespace nsq::io_real {

class OsRandom final : public seam::Random {
 public:
  OsRandom();                               // seeds from std::random_device
  explicit OsRandom(std::uint64_t seed);    // deterministic, for tests
  std::uint64_t next_u64() override;

 private:
  Xoshiro256 gen_;
};

}  // namespace nsq::io_real
