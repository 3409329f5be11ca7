// nsqd.dat: the decoder over arbitrary text (what decodes must re-encode to something that decodes the same),
// then a whole engine loading it, with the input also as a topic's timing side file, and running a little.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/metadata.h"
#include "engine/timing_file.h"
#include "tests/fuzz/fuzz_world.h"

namespace {
bool same(const nsq::Metadata& a, const nsq::Metadata& b) {
  if (a.topics.size() != b.topics.size()) return false;
  for (std::size_t i = 0; i < a.topics.size(); ++i) {
    const auto &x = a.topics[i], &y = b.topics[i];
    if (x.name != y.name || x.paused != y.paused || x.channels.size() != y.channels.size()) return false;
    for (std::size_t j = 0; j < x.channels.size(); ++j) {
      if (x.channels[j].name != y.channels[j].name || x.channels[j].paused != y.channels[j].paused) return false;
    }
  }
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string err;
  if (auto m = nsq::decode_metadata(text, err)) {
    const std::string again = nsq::encode_metadata(*m);
    auto m2 = nsq::decode_metadata(again, err);
    if (!m2 || !same(*m, *m2)) std::abort();
  }
  (void)nsq::decode_timing(text);

  nsq::fuzz::World w;
  w.fs.put_durable("/data/nsqd.dat", text);
  w.fs.put_durable(nsq::timing_file_name("/data", "t"), text);
  w.fs.put_durable(nsq::timing_file_name("/data", "t:c"), text);
  if (w.nsqd->load_metadata().empty()) {
    auto c = w.connect();
    nsq::fuzz::World::feed(*c, "  V2SUB t c\nRDY 5\nPUB t\n" + nsq::fuzz::sized("x"));
    w.advance(2'000'000'000);
  }
  return 0;
}
