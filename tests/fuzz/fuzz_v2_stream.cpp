// The V2 protocol state machine of a whole engine fed an arbitrary byte stream in arbitrary chunks, with a
// subscribed consumer alongside and time moving between chunks (heartbeats, timeouts, deferrals fire).
// Input: [chunking seed][flags][stream]; flags bit 0 prefixes the stream with the "  V2" magic.
#include <cstdint>
#include <string>

#include "tests/fuzz/fuzz_world.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nsq::fuzz::Input in(data, size);
  std::uint32_t x = in.byte() * 2654435761u + 7;
  const std::uint8_t flags = in.byte();
  std::string stream = (flags & 1) ? "  V2" : "";
  stream += in.rest();

  nsq::fuzz::World w;
  auto consumer = w.connect();
  nsq::fuzz::World::feed(*consumer, "  V2SUB t c\nRDY 3\nPUB t\n" + nsq::fuzz::sized("hello"));
  auto peer = w.connect();
  for (std::size_t i = 0; i < stream.size();) {
    x = x * 1103515245u + 12345u;
    const std::size_t n = std::min<std::size_t>(stream.size() - i, 1 + (x >> 16) % 64);
    nsq::fuzz::World::feed(*peer, std::string_view(stream).substr(i, n));
    i += n;
    // Time moves by up to ~1.3 s between chunks; the consumer acknowledges now and then.
    w.advance(static_cast<std::int64_t>((x >> 8) & 0xff) * 5'000'000);
    if ((x & 7) == 0) nsq::fuzz::World::feed(*consumer, "NOP\nRDY 3\n");
  }
  w.advance(70'000'000'000);
  return 0;
}
