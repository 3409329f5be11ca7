// MPUB with an arbitrary body ([int32 count]([int32 size][bytes])...) on a connection that also consumes, and
// the same body through HTTP /mpub (newline-separated and binary=true), whose parsing is separate code.
#include <cstdint>
#include <string>

#include "engine/http_api.h"
#include "tests/fuzz/fuzz_world.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  nsq::fuzz::World w;
  auto c = w.connect();
  nsq::fuzz::World::feed(*c, "  V2SUB t c\nRDY 20\nMPUB t\n" + nsq::fuzz::sized(body) + "NOP\n");
  w.advance(2'000'000'000);

  nsq::HttpApi api(*w.nsqd);
  for (const char* q : {"topic=t", "topic=t&binary=true"}) {
    nsq::HttpRequest r;
    r.method = "POST";
    r.path = "/mpub";
    r.query = q;
    r.body = std::string(body);
    r.content_length = r.body.size();
    (void)api.handle(r);
  }
  w.advance(2'000'000'000);
  return 0;
}
