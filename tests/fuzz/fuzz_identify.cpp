// IDENTIFY with an arbitrary JSON body, then a session that depends on what was negotiated (heartbeats,
// output buffering, message timeout, sampling): parse errors and every accepted value are exercised.
#include <cstdint>
#include <string>

#include "tests/fuzz/fuzz_world.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  nsq::fuzz::World w;
  auto c = w.connect();
  nsq::fuzz::World::feed(*c, "  V2IDENTIFY\n" + nsq::fuzz::sized(json));
  nsq::fuzz::World::feed(*c, "SUB t c\nRDY 5\nPUB t\n" + nsq::fuzz::sized("one") + "DPUB t 100\n" + nsq::fuzz::sized("two"));
  for (int i = 0; i < 8; ++i) {
    w.advance(400'000'000);
    nsq::fuzz::World::feed(*c, "NOP\n");
  }
  return 0;
}
