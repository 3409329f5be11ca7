// How many seeds a test sweep runs. NSQD_SEED_SCALE (a percentage, default 100) scales the sweeps down for
// slow builds: CI's ASan+UBSan run uses 25 (tools/ci-hardening.sh). Never fewer than one seed.
#pragma once

#include <cstdint>
#include <cstdlib>

namespace nsq::sim {

inline std::uint64_t scaled_seeds(std::uint64_t n) {
  const char* env = std::getenv("NSQD_SEED_SCALE");
  const long pct = env != nullptr && *env != '\0' ? std::strtol(env, nullptr, 10) : 100;
  if (pct <= 0 || pct >= 100) return n;
  const std::uint64_t scaled = n * static_cast<std::uint64_t>(pct) / 100;
  return scaled > 0 ? scaled : 1;
}

}  // namespace nsq::sim
