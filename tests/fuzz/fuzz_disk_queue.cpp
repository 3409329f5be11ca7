// The disk queue reader over arbitrary file contents: a .meta file and two data files, all taken from the
// input, then reads until empty, writes, a sync, a crash and a reopen. Corrupt data must be set aside, never
// crash or loop. Input: [u8 meta length][meta][u16 file-0 length][file 0][file 1].
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/disk_queue.h"
#include "tests/fuzz/fuzz_world.h"

namespace {
void read_all(nsq::DiskQueue& q, const nsq::DiskQueueOptions& o) {
  for (int i = 0; i < 10000; ++i) {
    auto r = q.read_next();
    if (!r) return;
    // Whatever is handed out went through the size checks.
    if (r->size() < static_cast<std::size_t>(o.min_msg_size) || r->size() > static_cast<std::size_t>(o.max_msg_size))
      std::abort();
  }
  std::abort();  // more records than the input could possibly hold: a read loop
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nsq::fuzz::Input in(data, size);
  const std::string meta(in.take(in.byte()));
  const std::size_t n0 = std::size_t(in.byte()) << 8 | in.byte();
  const std::string f0(in.take(n0));
  const std::string f1(in.rest());

  nsq::io_sim::VirtualClock clock;
  nsq::io_sim::SimFileSystem fs{clock};
  nsq::fuzz::NullLogger logger;
  nsq::DiskQueueOptions o;
  o.data_path = "/d";
  o.max_bytes_per_file = 256;
  o.min_msg_size = 1;
  o.max_msg_size = 200;
  o.sync_every = 3;
  fs.put_durable("/d/q.diskqueue.meta.dat", meta);
  fs.put_durable("/d/q.diskqueue.000000.dat", f0);
  if (!f1.empty()) fs.put_durable("/d/q.diskqueue.000001.dat", f1);
  {
    nsq::DiskQueue q("q", o, fs, clock, logger);
    q.set_track_acks(meta.size() & 1);
    read_all(q, o);
    for (int i = 0; i < 5; ++i) (void)q.put(std::string(40 + i, 'x'));
    q.ack_all();
    clock.run_for(3'000'000'000);
    read_all(q, o);
    bool closed = false;
    q.close([&](nsq::seam::IoResult) { closed = true; });
    for (int i = 0; !closed && i < 100000 && clock.run_next(); ++i) {
    }
  }
  fs.crash();
  nsq::DiskQueue again("q", o, fs, clock, logger);
  read_all(again, o);
  return 0;
}
