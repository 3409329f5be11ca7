// go-diskqueue v1.1.0 behaviour of engine/disk_queue over the in-memory file system.
#include <gtest/gtest.h>

#include <cerrno>
#include <map>

#include "engine/wire.h"
#include "dq_test_env.h"

using dqtest::Env;
using dqtest::payload;

namespace {

std::vector<std::string> drain(nsq::DiskQueue& q) {
  std::vector<std::string> out;
  while (auto r = q.read_next()) out.push_back(*r);
  return out;
}

}  // namespace

TEST(DiskQueue, FileNamesAndRecordFormat) {
  Env env;
  auto q = env.open("t:c");
  ASSERT_EQ(q->put("hello world!"), "");
  EXPECT_EQ(q->file_name(0), "/data/t:c.diskqueue.000000.dat");
  std::string data = env.read_text("/data/t:c.diskqueue.000000.dat");
  ASSERT_EQ(data.size(), 16u);
  EXPECT_EQ(nsq::wire::read_u32(data.data()), 12u);
  EXPECT_EQ(data.substr(4), "hello world!");
  // The .meta appears only at the first sync.
  EXPECT_FALSE(env.fs.exists("/data/t:c.diskqueue.meta.dat"));
  env.sync(*q);
  EXPECT_EQ(env.read_text("/data/t:c.diskqueue.meta.dat"), "1\n0,0\n0,16\n");
}

TEST(DiskQueue, RollsExactlyAtMaxBytesPerFile) {
  Env env;
  env.opts.max_bytes_per_file = 100;
  auto q = env.open();
  // 4 records of 21+4 = 25 bytes fill a file to exactly 100; the 5th goes to the next file.
  for (int i = 0; i < 5; ++i) ASSERT_EQ(q->put(payload(i, 21)), "");
  EXPECT_EQ(env.fs.file_size(q->file_name(0)), 100);
  EXPECT_EQ(env.fs.file_size(q->file_name(1)), 25);
  EXPECT_EQ(q->write_file_num(), 1);
  EXPECT_EQ(q->write_pos(), 25);
  // A single record larger than the max still goes into a (fresh) file.
  env.opts.max_msg_size = 500;
  auto big = env.open("big");
  ASSERT_EQ(big->put(payload(0, 10)), "");
  ASSERT_EQ(big->put(payload(1, 200)), "");
  EXPECT_EQ(big->write_file_num(), 1);
  EXPECT_EQ(env.fs.file_size(big->file_name(1)), 204);
  auto got = drain(*q);
  ASSERT_EQ(got.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], payload(i, 21));
}

TEST(DiskQueue, MessageSizeLimitsOnWrite) {
  Env env;
  auto q = env.open();
  EXPECT_NE(q->put("abc"), "");  // below min 4
  EXPECT_EQ(q->put(std::string(4, 'x')), "");
  EXPECT_EQ(q->put(std::string(1000, 'x')), "");
  std::string err = q->put(std::string(1001, 'x'));
  EXPECT_NE(err.find("invalid message write size (1001)"), std::string::npos) << err;
  EXPECT_EQ(q->depth(), 2);
}

TEST(DiskQueue, MetaAfterReadAndDeletionOfReadFiles) {
  Env env;
  env.opts.max_bytes_per_file = 100;
  auto q = env.open();
  for (int i = 0; i < 6; ++i) ASSERT_EQ(q->put(payload(i, 21)), "");
  for (int i = 0; i < 4; ++i) ASSERT_EQ(*q->read_next(), payload(i, 21));
  // File 0 is fully read; it goes away only once a .meta past it is durable.
  EXPECT_TRUE(env.fs.exists(q->file_name(0)));
  env.settle();
  EXPECT_FALSE(env.fs.exists(q->file_name(0)));
  EXPECT_EQ(env.read_text(q->meta_file_name()), "2\n1,0\n1,50\n");
  ASSERT_EQ(*q->read_next(), payload(4, 21));
  env.sync(*q);
  EXPECT_EQ(env.read_text(q->meta_file_name()), "1\n1,25\n1,50\n");
}

TEST(DiskQueue, RestartResumesFromMeta) {
  Env env;
  {
    auto q = env.open();
    for (int i = 0; i < 10; ++i) ASSERT_EQ(q->put(payload(i)), "");
    for (int i = 0; i < 3; ++i) ASSERT_EQ(*q->read_next(), payload(i));
    bool closed = false;
    q->close([&](nsq::seam::IoResult r) { closed = r.ok(); });
    env.settle();
    ASSERT_TRUE(closed);
  }
  auto q = env.open();
  EXPECT_EQ(q->depth(), 7);
  auto got = drain(*q);
  ASSERT_EQ(got.size(), 7u);
  EXPECT_EQ(got.front(), payload(3));
  EXPECT_EQ(q->depth(), 0);
}

TEST(DiskQueue, ResizeAcrossRestart) {
  // upstream TestDiskQueueResize: files written with one max-bytes-per-file are read with another.
  Env env;
  env.opts.max_bytes_per_file = 60;
  {
    auto q = env.open();
    for (int i = 0; i < 9; ++i) ASSERT_EQ(q->put(payload(i)), "");  // 20-byte records, 3 per file
    q->close({});
    env.settle();
  }
  env.opts.max_bytes_per_file = 200;
  auto q = env.open();
  for (int i = 9; i < 15; ++i) ASSERT_EQ(q->put(payload(i)), "");
  auto got = drain(*q);
  ASSERT_EQ(got.size(), 15u);
  for (int i = 0; i < 15; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], payload(i));
}

TEST(DiskQueue, BadLengthRenamesFileToBadAndSkipsToNext) {
  Env env;
  env.opts.max_bytes_per_file = 100;
  {
    auto q = env.open();
    for (int i = 0; i < 8; ++i) ASSERT_EQ(q->put(payload(i, 21)), "");  // files 0 and 1 full
    q->close({});
    env.settle();
  }
  // Garble the length of the second record of file 0.
  auto node = env.fs.inode("/data/q.diskqueue.000000.dat");
  node->data[25] = '\x7f';
  node->durable = node->data;
  auto q = env.open();
  auto got = drain(*q);
  ASSERT_EQ(got.size(), 5u);  // record 0, then file 1's four
  EXPECT_EQ(got[0], payload(0, 21));
  EXPECT_EQ(got[1], payload(4, 21));
  // Set aside only once a .meta past it is durable (a crash before would replay record 0 from it).
  EXPECT_FALSE(env.fs.exists("/data/q.diskqueue.000000.dat.bad"));
  env.settle();
  EXPECT_TRUE(env.fs.exists("/data/q.diskqueue.000000.dat.bad"));
  EXPECT_TRUE(env.logger.contains("saving bad file as /data/q.diskqueue.000000.dat.bad"));
  // Depth was 8, 5 were read: corrected at the tail.
  EXPECT_EQ(q->depth(), 0);
  EXPECT_TRUE(env.logger.contains("positive depth at tail (3), data loss, resetting 0..."));
}

TEST(DiskQueue, TruncatedFinishedFileLosesOnlyItsRest) {
  Env env;
  env.opts.max_bytes_per_file = 100;
  {
    auto q = env.open();
    for (int i = 0; i < 8; ++i) ASSERT_EQ(q->put(payload(i, 21)), "");
    q->close({});
    env.settle();
  }
  auto node = env.fs.inode("/data/q.diskqueue.000000.dat");
  node->data.resize(60);  // record 2 cut in half
  node->durable = node->data;
  auto q = env.open();
  auto got = drain(*q);
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got[2], payload(4, 21));
  env.settle();
  EXPECT_TRUE(env.fs.exists("/data/q.diskqueue.000000.dat.bad"));
}

TEST(DiskQueue, BadCurrentWriteFileMovesWriterToNewFile) {
  Env env;
  {
    auto q = env.open();
    for (int i = 0; i < 3; ++i) ASSERT_EQ(q->put(payload(i)), "");
    q->close({});
    env.settle();
  }
  auto node = env.fs.inode("/data/q.diskqueue.000000.dat");
  node->data[20] = '\x7f';  // second record's length
  node->durable = node->data;
  auto q = env.open();
  ASSERT_EQ(*q->read_next(), payload(0));
  EXPECT_FALSE(q->read_next());
  EXPECT_EQ(q->write_file_num(), 1);
  ASSERT_EQ(q->put(payload(9)), "");
  ASSERT_EQ(*q->read_next(), payload(9));
  env.settle();
  EXPECT_TRUE(env.fs.exists("/data/q.diskqueue.000000.dat.bad"));
}

TEST(DiskQueue, NeverRenamesOverAnExistingBadFile) {
  // go-diskqueue #42: data must not be renamed over a file that is still needed.
  Env env;
  env.fs.put_durable("/data/q.diskqueue.000000.dat.bad", "older evidence");
  {
    auto q = env.open();
    ASSERT_EQ(q->put(payload(0)), "");
    q->close({});
    env.settle();
  }
  env.fs.inode("/data/q.diskqueue.000000.dat")->data[0] = '\x7f';
  auto q = env.open();
  EXPECT_FALSE(q->read_next());
  env.settle();
  EXPECT_EQ(env.read_text("/data/q.diskqueue.000000.dat.bad"), "older evidence");
  EXPECT_TRUE(env.fs.exists("/data/q.diskqueue.000000.dat.bad.1"));
}

TEST(DiskQueue, LoweredMaxMsgSizeMakesLargeRecordsCorrupt) {
  Env env;
  {
    auto q = env.open();
    ASSERT_EQ(q->put(std::string(500, 'a')), "");
    q->close({});
    env.settle();
  }
  env.opts.max_msg_size = 100;
  auto q = env.open();
  EXPECT_FALSE(q->read_next());
  env.settle();
  EXPECT_TRUE(env.fs.exists("/data/q.diskqueue.000000.dat.bad"));
}

TEST(DiskQueue, MetaWritePosBehindFileSizeStartsNewWriteFile) {
  Env env;
  {
    auto q = env.open();
    ASSERT_EQ(q->put(payload(0)), "");
    env.sync(*q);  // meta: 1 / 0,0 / 0,20
    ASSERT_EQ(q->put(payload(1)), "");  // not in the meta
  }
  auto q = env.open();
  EXPECT_TRUE(env.logger.contains("metadata writePos 20 < file size of 40, skipping to new file"));
  EXPECT_EQ(q->write_file_num(), 1);
  ASSERT_EQ(q->put(payload(2)), "");
  auto got = drain(*q);
  // The unsynced record is salvaged by reading the old file to its real end.
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1], payload(1));
  EXPECT_EQ(got[2], payload(2));
}

TEST(DiskQueue, InjectedWriteErrorsAndFullDisk) {
  Env env;
  auto q = env.open();
  ASSERT_EQ(q->put(payload(0)), "");
  env.fs.write_error = EIO;
  env.fs.short_write_bytes = 7;  // a torn record lands first
  std::string err = q->put(payload(1));
  EXPECT_NE(err.find("input/output error"), std::string::npos) << err;
  env.fs.write_error = 0;
  ASSERT_EQ(q->put(payload(2)), "");  // overwrites the torn bytes
  env.fs.capacity = env.fs.used_bytes() + 10;
  err = q->put(payload(3));
  EXPECT_NE(err.find("no space left on device"), std::string::npos) << err;
  env.fs.capacity.reset();
  auto got = drain(*q);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], payload(0));
  EXPECT_EQ(got[1], payload(2));
}

TEST(DiskQueue, SyncFailureIsReportedAndRetried) {
  Env env;
  auto q = env.open();
  ASSERT_EQ(q->put(payload(0)), "");
  env.fs.sync_error = EIO;
  nsq::seam::IoResult got;
  q->sync([&](nsq::seam::IoResult r) { got = r; });
  env.settle();
  EXPECT_EQ(got.error, EIO);
  env.fs.sync_error = 0;
  ASSERT_EQ(q->put(payload(1)), "");
  env.sync(*q);
  EXPECT_EQ(env.read_text(q->meta_file_name()), "2\n0,0\n0,40\n");
}

TEST(DiskQueue, CrashLosesOnlyUnsyncedWrites) {
  Env env;
  {
    auto q = env.open();
    for (int i = 0; i < 5; ++i) ASSERT_EQ(q->put(payload(i)), "");
    env.sync(*q);
    for (int i = 5; i < 9; ++i) ASSERT_EQ(q->put(payload(i)), "");
    env.fs.crash();
  }
  auto q = env.open();
  auto got = drain(*q);
  ASSERT_EQ(got.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], payload(i));
}

TEST(DiskQueue, TornWriteAtCrashIsSetAsideAsBad) {
  Env env;
  {
    auto q = env.open();
    for (int i = 0; i < 3; ++i) ASSERT_EQ(q->put(payload(i)), "");
    env.sync(*q);
    for (int i = 3; i < 6; ++i) ASSERT_EQ(q->put(payload(i)), "");
    env.fs.crash([](std::size_t) { return std::size_t{30}; });  // record 3 whole, record 4 torn
  }
  auto q = env.open();
  auto got = drain(*q);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[3], payload(3));
  ASSERT_EQ(q->put(payload(7)), "");
  EXPECT_EQ(*q->read_next(), payload(7));
}

TEST(DiskQueue, SyncEveryAndSyncTimeout) {
  Env env;
  env.opts.sync_every = 3;
  auto q = env.open();
  ASSERT_EQ(q->put(payload(0)), "");
  ASSERT_EQ(q->put(payload(1)), "");
  env.clock.run_for(10'000'000);
  EXPECT_FALSE(env.fs.exists(q->meta_file_name()));
  ASSERT_EQ(q->put(payload(2)), "");
  env.clock.run_for(10'000'000);
  EXPECT_EQ(env.read_text(q->meta_file_name()), "3\n0,0\n0,60\n");
  ASSERT_EQ(q->put(payload(3)), "");
  env.clock.run_for(1'000'000'000);
  EXPECT_EQ(env.read_text(q->meta_file_name()), "3\n0,0\n0,60\n");
  env.clock.run_for(1'100'000'000);  // the 2 s sync-timeout tick
  EXPECT_EQ(env.read_text(q->meta_file_name()), "4\n0,0\n0,80\n");
}

TEST(DiskQueue, GroupCommitSharesOneSync) {
  Env env;
  auto q = env.open();
  int done = 0;
  ASSERT_EQ(q->put(payload(0)), "");
  q->sync([&](nsq::seam::IoResult) { ++done; });  // starts at once
  for (int i = 1; i < 10; ++i) {
    ASSERT_EQ(q->put(payload(i)), "");
    q->sync([&](nsq::seam::IoResult) { ++done; });  // all wait for the one next sync
  }
  env.settle();
  EXPECT_EQ(done, 10);
  EXPECT_EQ(env.fs.syncs_completed(), 2u);
}

TEST(DiskQueue, EmptyDeletesFilesAndContinuesAtNextNumber) {
  Env env;
  env.opts.max_bytes_per_file = 100;
  auto q = env.open();
  for (int i = 0; i < 6; ++i) ASSERT_EQ(q->put(payload(i, 21)), "");
  env.sync(*q);
  q->empty();
  EXPECT_FALSE(env.fs.exists(q->file_name(0)));
  EXPECT_FALSE(env.fs.exists(q->file_name(1)));
  EXPECT_FALSE(env.fs.exists(q->meta_file_name()));
  env.sync(*q);
  EXPECT_EQ(env.read_text(q->meta_file_name()), "0\n2,0\n2,0\n");
}

TEST(DiskQueue, MissingFinishedFileIsSkipped) {
  Env env;
  env.opts.max_bytes_per_file = 100;
  {
    auto q = env.open();
    for (int i = 0; i < 6; ++i) ASSERT_EQ(q->put(payload(i, 21)), "");
    q->close({});
    env.settle();
  }
  env.fs.remove("/data/q.diskqueue.000000.dat");
  auto q = env.open();
  auto got = drain(*q);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], payload(4, 21));
}

// --- batch_writes: appends buffered until flush(), one write per batch (what nsqd's topics and channels use)

namespace {

std::map<std::string, std::string> data_files(Env& env) {
  std::map<std::string, std::string> out;
  for (const std::string& f : env.fs.list_dir("/data")) out[f] = env.read_text("/data/" + f);
  return out;
}

}  // namespace

TEST(DiskQueueBatched, SameFilesAndMetaAsWriteThrough) {
  // The same puts, reads and rolls with and without batching leave byte-identical files (go-diskqueue format).
  std::map<std::string, std::string> files[2];
  for (int batched = 0; batched < 2; ++batched) {
    Env env;
    env.opts.max_bytes_per_file = 100;  // 4 records of 25 bytes per file: several rolls
    env.opts.batch_writes = batched == 1;
    auto q = env.open();
    for (int i = 0; i < 23; ++i) {
      ASSERT_EQ(q->put(payload(i, 21)), "");
      if (i % 7 == 6) {
        ASSERT_EQ(q->flush(), "");
      }
      if (i % 5 == 4) {
        ASSERT_EQ(*q->read_next(), payload(i / 5, 21));
      }
    }
    bool closed = false;
    q->close([&](nsq::seam::IoResult r) { closed = r.ok(); });
    env.settle();
    ASSERT_TRUE(closed);
    EXPECT_FALSE(q->has_unflushed());
    files[batched] = data_files(env);
  }
  EXPECT_EQ(files[0], files[1]);
  EXPECT_EQ(files[1].at("q.diskqueue.meta.dat"), "19\n1,0\n5,75\n");
}

TEST(DiskQueueBatched, BuffersUntilFlushAndServesUnflushedReads) {
  Env env;
  env.opts.batch_writes = true;
  auto q = env.open();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(q->put(payload(i)), "");
  EXPECT_TRUE(q->has_unflushed());
  EXPECT_EQ(env.fs.file_size(q->file_name(0)), 0);  // nothing written yet
  EXPECT_EQ(q->depth(), 3);
  ASSERT_EQ(*q->read_next(), payload(0));  // served from the buffer
  ASSERT_EQ(q->flush(), "");               // one write of all three records
  EXPECT_EQ(env.fs.file_size(q->file_name(0)), 60);
  ASSERT_EQ(q->put(payload(3)), "");
  auto got = drain(*q);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], payload(1));
  EXPECT_EQ(got[2], payload(3));
  // A sync writes the buffer before the .meta that counts it.
  ASSERT_EQ(q->put(payload(4)), "");
  env.sync(*q);
  EXPECT_FALSE(q->has_unflushed());
  EXPECT_EQ(env.read_text(q->meta_file_name()), "1\n0,80\n0,100\n");
  EXPECT_EQ(env.fs.file_size(q->file_name(0)), 100);
}

TEST(DiskQueueBatched, FailedWriteDropsTheBatchAndTheNextWriteGoesOverIt) {
  Env env;
  env.opts.batch_writes = true;
  auto q = env.open();
  ASSERT_EQ(q->put(payload(0)), "");
  ASSERT_EQ(q->flush(), "");
  ASSERT_EQ(q->put(payload(1)), "");
  ASSERT_EQ(q->put(payload(2)), "");
  env.fs.write_error = EIO;
  env.fs.short_write_bytes = 7;  // part of the batch lands
  std::string err = q->flush();
  EXPECT_NE(err.find("input/output error"), std::string::npos) << err;
  EXPECT_EQ(q->depth(), 1);  // as if both puts had failed
  EXPECT_EQ(q->write_pos(), 20);
  env.fs.write_error = 0;
  ASSERT_EQ(q->put(payload(3)), "");
  ASSERT_EQ(q->flush(), "");
  EXPECT_EQ(env.fs.file_size(q->file_name(0)), 40);  // over the torn bytes
  auto got = drain(*q);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], payload(0));
  EXPECT_EQ(got[1], payload(3));
}

TEST(DiskQueueBatched, FailedWriteAfterReadsFromTheBufferMovesBothSidesToANewFile) {
  Env env;
  env.opts.batch_writes = true;
  auto q = env.open();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(q->put(payload(i)), "");
  ASSERT_EQ(*q->read_next(), payload(0));  // handed over before the write
  env.fs.write_error = ENOSPC;
  EXPECT_NE(q->flush(), "");
  EXPECT_EQ(q->depth(), 0);  // the two unread records are lost, the read one was delivered
  EXPECT_FALSE(q->readable());
  env.fs.write_error = 0;
  ASSERT_EQ(q->put(payload(3)), "");
  EXPECT_EQ(q->write_file_num(), 1);
  ASSERT_EQ(*q->read_next(), payload(3));
  EXPECT_FALSE(q->read_next());
  env.settle();
  // An implicit flush (here a sync's) that fails is reported by the next put() or flush().
  ASSERT_EQ(q->put(payload(4)), "");
  env.fs.write_error = EIO;
  nsq::seam::IoResult synced;
  q->sync([&](nsq::seam::IoResult r) { synced = r; });
  env.fs.write_error = 0;
  env.settle();
  EXPECT_EQ(synced.error, EIO);
  EXPECT_NE(q->flush(), "");
  EXPECT_EQ(q->flush(), "");
}
