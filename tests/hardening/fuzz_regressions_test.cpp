// Inputs the fuzzers (tests/fuzz) crashed on, each pinned to the behaviour fixed. The raw crash inputs are in
// tests/fuzz/corpus/<target>/crash-* and replayed by the fuzz tree's fuzz.<target>.replay tests too.
#include <gtest/gtest.h>

#include <string>

#include "engine/disk_queue.h"
#include "engine/timing_file.h"
#include "tests/fuzz/fuzz_world.h"

namespace {

// fuzz_metadata: a timing side file whose "version" is not a number threw nlohmann's type_error out of
// decode_timing (json::value() with a mismatched type), which terminated nsqd at start-up.
TEST(FuzzRegression, TimingFileWithWronglyTypedVersionIsIgnored) {
  EXPECT_FALSE(nsq::decode_timing(R"({"topics":null,"version":"1.3.0"})"));
  EXPECT_FALSE(nsq::decode_timing(R"({"version":"1","messages":[]})"));
  EXPECT_FALSE(nsq::decode_timing(R"({"version":null,"messages":[]})"));
  EXPECT_FALSE(nsq::decode_timing(R"({"version":1.5,"messages":[]})"));
  EXPECT_TRUE(nsq::decode_timing(R"({"version":1,"messages":[]})"));
}

// The same file in a data directory: the engine loads around it instead of dying.
TEST(FuzzRegression, EngineStartsWithAWronglyTypedTimingFile) {
  nsq::fuzz::World w;
  w.fs.put_durable("/data/nsqd.dat", R"({"topics":[{"name":"t","paused":false,"channels":null}],"version":"1.3.0"})");
  w.fs.put_durable(nsq::timing_file_name("/data", "t"), R"({"version":"1.3.0"})");
  EXPECT_EQ(w.nsqd->load_metadata(), "");
  auto c = w.connect(true);
  nsq::fuzz::World::feed(*c, "  V2PUB t\n" + nsq::fuzz::sized("x"));
  w.advance(1'000'000'000);
  EXPECT_NE(c->out.find("OK"), std::string::npos);
}

// fuzz_disk_queue found: a .meta whose read position is past its write position made read_next() step through
// file numbers forever (each missing file is "corrupt", the next one is tried). Fixed: check_tail() compares positions in file order.
TEST(FuzzRegression, MetaWithReadPastWriteDoesNotHang) {
  nsq::io_sim::VirtualClock clock;
  nsq::io_sim::SimFileSystem fs{clock};
  nsq::fuzz::NullLogger logger;
  nsq::DiskQueueOptions o;
  o.data_path = "/d";
  fs.put_durable("/d/q.diskqueue.meta.dat", "2\n10,0\n1,19\n");
  fs.put_durable("/d/q.diskqueue.000000.dat", std::string("\0\1\x86\xa0" "abcd", 8));
  nsq::DiskQueue q("q", o, fs, clock, logger);
  EXPECT_FALSE(q.read_next());
  EXPECT_TRUE(q.put(std::string(30, 'x')).empty());
  EXPECT_EQ(q.read_next(), std::string(30, 'x'));
}

// fuzz_disk_queue, same family: a .meta naming a write file billions of numbers past the read file made
// read_next() skip the missing files one by one. Fixed: it jumps to the next file that exists.
TEST(FuzzRegression, MetaWithHugeWriteFileNumberDoesNotHang) {
  nsq::io_sim::VirtualClock clock;
  nsq::io_sim::SimFileSystem fs{clock};
  nsq::fuzz::NullLogger logger;
  nsq::DiskQueueOptions o;
  o.data_path = "/d";
  fs.put_durable("/d/q.diskqueue.meta.dat", "3\n1,5\n21088888888,0\n");
  nsq::DiskQueue q("q", o, fs, clock, logger);
  EXPECT_FALSE(q.read_next());
}

// fuzz_disk_queue (UBSan): a .meta whose write file number saturates to LLONG_MAX overflowed when the next file
// number was computed. Such a .meta is now malformed (numbers beyond any real queue), and the queue starts empty.
TEST(FuzzRegression, MetaWithOverflowingNumbersIsMalformed) {
  nsq::io_sim::VirtualClock clock;
  nsq::io_sim::SimFileSystem fs{clock};
  nsq::fuzz::NullLogger logger;
  nsq::DiskQueueOptions o;
  o.data_path = "/d";
  fs.put_durable("/d/q.diskqueue.meta.dat", "3\n1,5\n9223372036854775807,0\n");
  nsq::DiskQueue q("q", o, fs, clock, logger);
  EXPECT_EQ(q.depth(), 0);
  EXPECT_TRUE(q.put(std::string(30, 'x')).empty());
  EXPECT_EQ(q.read_next(), std::string(30, 'x'));
}

}  // namespace
