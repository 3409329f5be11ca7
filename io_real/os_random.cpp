#include "io_real/os_random.h"

#include <random>

namespace nsq::io_real {

namespace {
std::uint64_t os_seed() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}
}  // namespace

OsRandom::OsRandom() : OsRandom(os_seed()) {}

OsRandom::OsRandom(std::uint64_t seed) : gen_(seed) {}

std::uint64_t OsRandom::next_u64() { return gen_.next(); }

}  // namespace nsq::io_real
